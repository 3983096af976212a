//! How well the poller follows playback, against fixed 1-second polling.
//!
//! `cargo bench --bench poller` (sessions: `TD_SPOTIFY_BENCH_SESSIONS`, default 12).
//!
//! Each session is 10 simulated minutes of playback with known track changes (tracks of 2.5–5
//! minutes, most played to their end; pauses, seeks, skips and silences now and then), served by
//! the scripted fake Web API through its in-process transport, with a one-way network latency
//! drawn per request from 20–90 ms in each direction. It runs on **tokio's paused clock**: time
//! is virtual and jumps to the next timer whenever everything waits, so a 10-minute session takes
//! a fraction of a second and every instant is exact. (Real sockets cannot be used on a paused
//! clock: it would jump ahead while a socket waits. The client, its timeouts, status handling and
//! JSON parsing are the real ones; only the bytes skip the kernel.)
//!
//! Figures, per strategy:
//! - track-change latency at predictable track ends: from the instant a track ends in the truth
//!   to the instant the poller publishes the next state (median, p95);
//! - position error: |shown − true| position sampled at 60 fps while both agree on what plays
//!   (from the first request sent after the last change of the truth), median and p95;
//! - requests per session.

#[path = "../support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::fake_api::FakeApi;
use support::truth::{EventKind, Truth};
use support::{drive, fast_options, memory_poller, ms_between, Step, Tokens};
use td_spotify::api::client::now;
use td_spotify::engine::poller::PollTiming;

const SESSION: Duration = Duration::from_secs(600);
const TARGET_LATENCY_MS: f64 = 300.0;
const TARGET_POSITION_MS: f64 = 20.0;
const TARGET_REQUEST_RATIO: f64 = 0.5;

#[derive(Default)]
struct Figures {
    end_latency_ms: Vec<f64>,
    other_latency_ms: Vec<f64>,
    position_error_ms: Vec<f64>,
    requests: usize,
    sessions: usize,
    missed: usize,
}

fn main() {
    let sessions: u64 =
        std::env::var("TD_SPOTIFY_BENCH_SESSIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(12);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    let strategies: [(&str, PollTiming); 3] = [
        ("adaptive (Pollinterval 1 s)", PollTiming::for_interval(Duration::from_secs(1))),
        ("fixed 1 s, naive position", PollTiming::fixed(Duration::from_secs(1))),
        (
            "fixed 1 s, smoothed position",
            PollTiming {
                smoothing: PollTiming::for_interval(Duration::from_secs(1)).smoothing,
                ..PollTiming::fixed(Duration::from_secs(1))
            },
        ),
    ];
    let wall = Instant::now();
    let mut results = Vec::new();
    for (name, timing) in strategies {
        let mut figures = Figures::default();
        for seed in 0..sessions {
            let timing = PollTiming { seed: Some(seed), ..timing.clone() };
            runtime.block_on(session(seed, timing, &mut figures));
        }
        results.push((name, figures));
    }
    let wall = wall.elapsed();

    println!("td-spotify poller benchmark");
    println!(
        "clock: tokio paused clock (virtual time); {sessions} sessions × 10 min simulated in {:.1} s of wall time",
        wall.as_secs_f64()
    );
    println!("network: scripted Web API in-process, one-way latency 20–90 ms each way, drawn per request");
    println!();
    println!(
        "{:<30} {:>10} {:>22} {:>22} {:>22}",
        "strategy", "requests", "latency at track end", "other changes", "position error"
    );
    println!(
        "{:<30} {:>10} {:>22} {:>22} {:>22}",
        "", "/session", "median / p95 ms", "median / p95 ms", "median / p95 ms"
    );
    for (name, f) in &results {
        println!(
            "{:<30} {:>10.1} {:>22} {:>22} {:>22}",
            name,
            f.requests as f64 / f.sessions as f64,
            pair(&f.end_latency_ms),
            pair(&f.other_latency_ms),
            pair(&f.position_error_ms),
        );
    }
    let (adaptive, fixed) = (&results[0].1, &results[1].1);
    let ratio = adaptive.requests as f64 / fixed.requests as f64;
    println!();
    println!(
        "samples: {} predictable track ends, {} other changes, {} position samples per strategy; {} changes never seen",
        adaptive.end_latency_ms.len(),
        adaptive.other_latency_ms.len(),
        adaptive.position_error_ms.len(),
        adaptive.missed
    );
    let latency = percentile(&adaptive.end_latency_ms, 0.5);
    let error = percentile(&adaptive.position_error_ms, 0.5);
    let error95 = percentile(&adaptive.position_error_ms, 0.95);
    println!("targets (adaptive):");
    println!(
        "  latency at track ends, median {latency:.0} ms ≤ {TARGET_LATENCY_MS} ms: {}",
        verdict(latency <= TARGET_LATENCY_MS)
    );
    println!(
        "  position error, median {error:.1} ms / p95 {error95:.1} ms < {TARGET_POSITION_MS} ms: {}",
        verdict(error95 < TARGET_POSITION_MS)
    );
    println!(
        "  requests, {:.0} % of fixed 1 s polling ≤ {:.0} %: {}",
        ratio * 100.0,
        TARGET_REQUEST_RATIO * 100.0,
        verdict(ratio <= TARGET_REQUEST_RATIO)
    );
}

async fn session(seed: u64, timing: PollTiming, figures: &mut Figures) {
    let truth = Truth::random_session(seed, SESSION.as_millis() as u64, 150_000..300_000);
    let start = now();
    let api = FakeApi::new(Arc::new(truth.clone()).responder(start, seed));
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    api.set_latency(move || {
        (
            Duration::from_micros(rng.gen_range(20_000..90_000)),
            Duration::from_micros(rng.gen_range(20_000..90_000)),
        )
    });
    let tokens = Tokens::fixed("good-token");
    let mut poller = memory_poller(&api, fast_options("https://api.spotify.invalid"), timing);
    let steps = drive(&mut poller, &*tokens, SESSION).await;
    figures.requests += api.requests().len();
    figures.sessions += 1;
    measure(&truth, start, &steps, figures);
}

/// Compares what the poller published with the truth.
fn measure(truth: &Truth, start: Instant, steps: &[Step], figures: &mut Figures) {
    let at = |ms: f64| start + Duration::from_secs_f64(ms / 1000.0);
    let events = truth.events();
    for (i, event) in events.iter().enumerate() {
        let t = at(event.at_ms as f64);
        if t >= steps.last().map_or(start, |s| s.published) {
            break;
        }
        // The next event may undo this one before it is seen; then it does not count.
        let until = events.get(i + 1).map_or(f64::INFINITY, |e| e.at_ms as f64);
        let expected_uri = event.to.map(|track| truth.tracks[track].uri());
        let seen = steps.iter().find(|s| {
            s.published >= t
                && s.update.playback.is_some()
                && s.shown.item.as_ref().map(|i| i.uri.clone()) == expected_uri
                && match event.kind {
                    EventKind::Pause => !s.shown.is_playing,
                    EventKind::Resume | EventKind::Start => s.shown.is_playing,
                    _ => true,
                }
        });
        match seen {
            Some(s) if ms_between(start, s.published) < until => {
                let latency = ms_between(t, s.published);
                match event.kind {
                    EventKind::NaturalEnd => figures.end_latency_ms.push(latency),
                    EventKind::Seek => {} // Same item: seen through the position, not here.
                    _ => figures.other_latency_ms.push(latency),
                }
            }
            _ if event.kind != EventKind::Seek => figures.missed += 1,
            _ => {}
        }
    }
    // Position error at 60 fps.
    let end = steps.last().map_or(start, |s| s.published);
    let mut t = steps.first().map_or(start, |s| s.published);
    let frame = Duration::from_micros(16_667);
    let mut index = 0;
    while t < end {
        while index + 1 < steps.len() && steps[index + 1].published <= t {
            index += 1;
        }
        let step = &steps[index];
        let t_ms = ms_between(start, t);
        let state = truth.state_at(t_ms);
        let last_change =
            events.iter().rev().find(|e| (e.at_ms as f64) <= t_ms).map_or(0.0, |e| e.at_ms as f64);
        let settled = ms_between(start, step.called) >= last_change;
        let same = match (state.track, &step.shown.item) {
            (Some(track), Some(item)) => item.uri == truth.tracks[track].uri(),
            _ => false,
        };
        if settled && same && state.playing && step.shown.is_playing {
            let shown = step.shown.position_at(t) * 1000.0;
            figures.position_error_ms.push((shown - state.position_ms).abs());
        }
        t += frame;
    }
}

fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn pair(values: &[f64]) -> String {
    format!("{:.1} / {:.1}", percentile(values, 0.5), percentile(values, 0.95))
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}
