//! Login latency: from the browser's `/callback` request reaching td-spotify's loopback server to
//! the tokens saved on disk (code exchange with the local identity provider, atomic write),
//! over repeated real logins in headless chromium. Target: under 1 s.
//!
//! Run: `cargo bench --bench login` (needs node, chromium and `npm ci` in tests/oidc;
//! `LOGIN_BENCH_RUNS=N` sets the number of logins, default 10).

#[path = "../oidc/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::time::{Duration, Instant};

use harness::{free_port, Browser, Provider};
use td_spotify::auth::{LoginOutcome, Session, SessionConfig};

const CLIENT: &str = "td-spotify-bench";

fn main() {
    let Some(tools) = harness::tools("bench login") else { return };
    let runs: usize =
        std::env::var("LOGIN_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(10).max(1);
    let port = free_port();
    let provider = Provider::start(&tools, CLIENT, &[format!("http://127.0.0.1:{port}/callback")]);
    let dir = std::env::temp_dir().join(format!("td-spotify-bench-login-{}", std::process::id()));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut browser = Some(Browser::start(&tools));
    let mut callback_to_saved = Vec::new();
    let mut whole_login = Vec::new();
    rt.block_on(async {
        let config = SessionConfig {
            client_id: CLIENT.into(),
            port,
            cache_dir: Some(dir.clone()),
            accounts_url: provider.issuer.clone(),
            api_url: provider.issuer.clone(),
            open_browser: false,
            request_timeout: Duration::from_secs(10),
        };
        let session = Session::new(config, tokio::runtime::Handle::current());
        // One warm-up login (first page loads, provider's first keys), then the measured ones.
        for run in 0..=runs {
            let started = Instant::now();
            let start = session.start_login().expect("start login");
            let url = start.authorize_url.secret().to_owned();
            let b = browser.take().unwrap();
            let (b, seen) = tokio::task::spawn_blocking(move || {
                let mut b = b;
                let seen = b.run(&url, "allow");
                (b, seen)
            })
            .await
            .unwrap();
            browser = Some(b);
            assert!(seen.ok, "{seen:?}\n{}", provider.log());
            loop {
                session.tick();
                if session.view().last_login.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(session.view().last_login, Some(LoginOutcome::Succeeded));
            if run > 0 {
                callback_to_saved.push(session.last_login_latency().expect("latency"));
                whole_login.push(started.elapsed());
            }
        }
    });
    drop(browser);
    let _ = std::fs::remove_dir_all(&dir);
    report("callback → token saved", &mut callback_to_saved, Some(Duration::from_secs(1)));
    report("whole browser login (pages, consent, callback, /v1/me)", &mut whole_login, None);
}

fn report(what: &str, samples: &mut [Duration], target: Option<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{what}: n={} min={:.1} ms median={:.1} ms p95={:.1} ms max={:.1} ms{}",
        samples.len(),
        ms(samples[0]),
        ms(pick(0.5)),
        ms(pick(0.95)),
        ms(samples[samples.len() - 1]),
        target
            .map(|t| format!(
                " (target < {:.0} ms: {})",
                ms(t),
                if samples[samples.len() - 1] < t { "met" } else { "MISSED" }
            ))
            .unwrap_or_default()
    );
}
