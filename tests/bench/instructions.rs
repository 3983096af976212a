//! `cargo bench --bench instructions`: instructions of td-spotify's own code per cook, counted by
//! `valgrind --tool=callgrind`, split into parameter reading, audio input, snapshot read and
//! output.
//!
//! The C++ host (`tests/host/count.cpp`) loads the plugin with dlopen, warms an operator up until
//! it plays, then cooks it N times with parameters unchanged; callgrind counts only inside the
//! plugin's `execute` and only those N cooks. What TouchDesigner itself would do inside its
//! callbacks (the host's `getPar*`, `getInputCHOP`, `setCellString`…) is measured and
//! subtracted: those are the host's instructions, not ours. Scenarios: CHOP and DAT (`Now
//! playing` mode), Simulator and Spotify sources (a scripted Web API on loopback and a saved
//! login), audio input wired and not.
//!
//! Prints its figures; asserts nothing about them (the counts are deterministic, so the README
//! quotes them). Skips, with a note, where valgrind is missing.

#[path = "../host/build_host.rs"]
mod build_host;
#[path = "callgrind.rs"]
mod callgrind;
#[path = "../support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::SystemTime;

use support::fake_api::FakeApi;
use support::truth::Truth;
use td_spotify::api::client::now;
use td_spotify::auth::secret::{AccessToken, RefreshToken};
use td_spotify::auth::store::{unix, TokenRecord, TokenStore};
use td_spotify::config::{ACCOUNTS_URL_ENV, API_URL_ENV};

const EXECUTES: u32 = 200;
const CLIENT_ID: &str = "bench-client";
const TOKEN: &str = "bench-token";
const CHOP_TARGET: f64 = 1000.0;
const DAT_TARGET: f64 = 2500.0;

struct Scenario {
    family: &'static str,
    source: &'static str,
    audio: bool,
}

const SCENARIOS: &[Scenario] = &[
    Scenario { family: "chop", source: "Simulator", audio: false },
    Scenario { family: "chop", source: "Simulator", audio: true },
    Scenario { family: "chop", source: "Spotify", audio: false },
    Scenario { family: "chop", source: "Spotify", audio: true },
    Scenario { family: "dat", source: "Simulator", audio: false },
    Scenario { family: "dat", source: "Spotify", audio: false },
];

fn main() {
    if !cfg!(target_os = "linux") {
        eprintln!("the instruction count drives the plugin through a dlopen host on Linux only");
        return;
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("td-spotify cook instructions: skipped, valgrind is not installed (.ci/run installs it)");
        return;
    }
    let host = build_host::build_host("td-spotify-host-count", true);
    let plugin = build_host::plugin_path();
    let api = FakeApi::new(
        Arc::new(Truth::new().track("Bench Song", 3_600_000).play_to_end(0, 0)).responder(now(), 1),
    );
    api.accept_tokens(&[TOKEN]);
    let addr = serve(api);
    let tokens = build_host::profile_dir().join(format!("td-spotify-count-tokens-{}", std::process::id()));
    save_login(&tokens);
    let url = format!("http://{addr}");

    println!("td-spotify cook instructions (valgrind --tool=callgrind, {EXECUTES} cooks each, parameters unchanged)");
    println!(
        "instructions of td-spotify's own code per execute; the host's work inside its callbacks excluded"
    );
    println!();
    println!(
        "{:<6} {:<10} {:<6} {:>8} {:>8} {:>9} {:>8} {:>8} {:>7}  target",
        "op", "source", "audio", "params", "audio", "snapshot", "output", "total", "host"
    );
    let mut all_met = true;
    for s in SCENARIOS {
        all_met &= measure(s, &host, &plugin, &url, &tokens);
    }
    let _ = std::fs::remove_dir_all(&tokens);
    println!();
    println!(
        "columns: params = reading the parameters (shim + Rust), audio = handing the input's samples to the \
beat tracker, snapshot = td_spotify_cook (pin the snapshot, compute every channel), output = the rest \
of execute (copying channels or cells out); host = TouchDesigner's share inside its own callbacks"
    );
    println!("all targets: {}", if all_met { "met" } else { "MISSED" });
}

/// Saves a login for [`CLIENT_ID`] in `dir` the way `td-spotify login` would.
fn save_login(dir: &Path) {
    std::fs::create_dir_all(dir).expect("token folder");
    let now = unix(SystemTime::now());
    let record = TokenRecord {
        version: 1,
        client_id: CLIENT_ID.to_owned(),
        access_token: AccessToken::new(TOKEN),
        refresh_token: Some(RefreshToken::new("bench-refresh")),
        expires_at: now + 3600,
        lifetime_s: 3600,
        scope: "user-read-playback-state user-read-currently-playing".to_owned(),
        user: Some("bench".to_owned()),
        saved_at: now,
    };
    TokenStore::new(Some(dir), CLIENT_ID).expect("token store").save(&record).expect("save the login");
}

/// Serves the scripted Web API on a loopback port from a thread that lives as long as the process.
fn serve(api: FakeApi) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            tx.send(api.serve_http().await).expect("hand over the address");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("the fake API did not start")
}

/// Counts one scenario's cooks under callgrind and prints its row; true when it met its target.
fn measure(s: &Scenario, host: &Path, plugin: &Path, url: &str, tokens: &Path) -> bool {
    let out = build_host::profile_dir().join(format!("callgrind-{}-{}-{}.out", s.family, s.source, s.audio));
    let _ = std::fs::remove_file(&out);
    let dump = PathBuf::from(format!("{}.1", out.display()));
    let _ = std::fs::remove_file(&dump);
    let toggle = if s.family == "chop" { "*SpotifyChop::execute*" } else { "*SpotifyDat::execute*" };
    let mut command = Command::new("valgrind");
    command
        .args(["--tool=callgrind", "--collect-atstart=no"])
        .arg(format!("--toggle-collect={toggle}"))
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(host)
        .arg("count")
        .arg(plugin)
        .args([s.family, s.source, if s.audio { "1" } else { "0" }])
        .arg(EXECUTES.to_string());
    if s.source == "Spotify" {
        command.arg(CLIENT_ID).arg(tokens);
    }
    let output = command
        .env(API_URL_ENV, url)
        .env(ACCOUNTS_URL_ENV, url)
        .env("TD_SPOTIFY_NO_BROWSER", "1")
        .output()
        .expect("run valgrind");
    let label =
        format!("{:<6} {:<10} {:<6}", s.family.to_uppercase(), s.source, if s.audio { "wired" } else { "-" });
    if !output.status.success() {
        println!(
            "{label} FAILED: the host did not reach a playing state\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        return false;
    }
    let text = std::fs::read_to_string(&dump).expect("the callgrind dump of the counted cooks");
    let split = callgrind::Profile::parse(&text).split(&host.to_string_lossy(), &plugin.to_string_lossy());
    let per = |n: u64| n as f64 / f64::from(EXECUTES);
    let total = per(split.own());
    let target = if s.family == "chop" { CHOP_TARGET } else { DAT_TARGET };
    let met = total <= target;
    println!(
        "{label} {:>8.0} {:>8.0} {:>9.0} {:>8.0} {:>8.0} {:>7.0}  ≤ {target:.0}: {}",
        per(split.params),
        per(split.audio),
        per(split.snapshot),
        per(split.output()),
        total,
        per(split.host),
        if met { "met" } else { "MISSED" }
    );
    if std::env::var_os("TD_SPOTIFY_KEEP_CALLGRIND").is_none() {
        let _ = std::fs::remove_file(&out);
        let _ = std::fs::remove_file(&dump);
    }
    met
}
