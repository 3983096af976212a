//! How well the poller follows playback, against fixed 1-second polling.
//!
//! `cargo bench --bench poller` (sessions: `TD_SPOTIFY_BENCH_SESSIONS`, default 24).
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
//!
//! A second, real-time part runs the engine thread with the poller against the fake served over
//! real HTTP, and times what a cook does (pin the snapshot, compute the channels) while answers
//! flow and while a request hangs, counting heap allocations on the reading thread.

#[path = "../support/mod.rs"]
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::fake_api::{FakeApi, Reply};
use support::truth::{EventKind, Truth};
use support::{drive, fast_options, memory_poller, ms_between, Step, Tokens};
use td_spotify::api::client::{now, ApiClient};
use td_spotify::config::{SourceConfig, SpotifyConfig};
use td_spotify::engine::poller::{PollTiming, Poller};
use td_spotify::engine::source::{BoxFuture, Source, Update};
use td_spotify::engine::Engine;
use td_spotify::schema::{Status, CHANNEL_COUNT};

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

/// Counts allocations made by threads that asked to be watched (the reader, not the engine).
struct CountingAllocator;

thread_local! {
    static WATCHED: Cell<bool> = const { Cell::new(false) };
}
static WATCHED_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; the bookkeeping touches only a
// const-initialised thread-local (no allocation) and an atomic.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if WATCHED.try_with(Cell::get).unwrap_or(false) {
            WATCHED_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if WATCHED.try_with(Cell::get).unwrap_or(false) {
            WATCHED_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn main() {
    let sessions: u64 =
        std::env::var("TD_SPOTIFY_BENCH_SESSIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(24);
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
    println!();
    reader_while_hanging();
}

/// Polls with a fixed token, as the Spotify source will with the login session.
struct BenchSource {
    poller: Poller,
    tokens: Arc<Tokens>,
}

impl Source for BenchSource {
    fn name(&self) -> &'static str {
        "spotify"
    }

    fn poll(&mut self, now: Instant) -> BoxFuture<'_, Update> {
        Box::pin(async move { self.poller.poll(&*self.tokens, now).await })
    }
}

/// What a cook costs while answers flow and while a request hangs (real time, real HTTP).
fn reader_while_hanging() {
    let hang = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let server_hang = Arc::clone(&hang);
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            let truth = Arc::new(Truth::new().track("Long", 3_600_000).play_to_end(0, 0));
            let mut report = truth.responder(now(), 1);
            let api = FakeApi::new(move |request| {
                if server_hang.load(Ordering::SeqCst) {
                    Reply::Hang(Duration::from_secs(30))
                } else {
                    report(request)
                }
            });
            tx.send(api.serve_http().await).expect("hand over the address");
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
    });
    let addr = rx.recv().expect("server address");
    let url = format!("http://{addr}");
    let mut options = fast_options(&url);
    options.timeout = Duration::from_secs(8);
    let client = ApiClient::new(options).expect("client");
    let poller = Poller::with_client(client, PollTiming::for_interval(Duration::from_millis(500)));
    let config = SourceConfig::Spotify(SpotifyConfig { api_url: url, ..SpotifyConfig::default() });
    let engine = Engine::start_with(config, move |_| {
        Box::new(BenchSource { poller, tokens: Tokens::fixed("good-token") })
    })
    .expect("engine");
    let deadline = Instant::now() + Duration::from_secs(10);
    while engine.snapshot().status != Status::Playing && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let answering = cooks(&engine, 10_000);
    hang.store(true, Ordering::SeqCst);
    // Let the next request start hanging (the poller asks every 1.25 s while playing).
    std::thread::sleep(Duration::from_millis(1500));
    let hanging = cooks(&engine, 10_000);
    let status = engine.snapshot().row(td_spotify::schema::Row::Status).to_owned();
    println!("reader (one cook: pin the snapshot + compute {CHANNEL_COUNT} channels), real time, real HTTP:");
    println!("{:<28} {:>12} {:>12} {:>12} {:>16}", "", "median ns", "p99 ns", "max ns", "allocations");
    for (name, (times, allocations)) in
        [("while Spotify answers", answering), ("while a request hangs", hanging)]
    {
        println!(
            "{name:<28} {:>12.0} {:>12.0} {:>12.0} {:>16}",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            percentile(&times, 1.0),
            allocations
        );
    }
    println!("(status during the hang: {status})");
    drop(engine);
    drop(server);
}

/// `n` cooks spaced 100 µs apart: per-cook nanoseconds and allocations in all.
fn cooks(engine: &Engine, n: usize) -> (Vec<f64>, u64) {
    let mut channels = [0.0f32; CHANNEL_COUNT];
    let mut times = Vec::with_capacity(n);
    let before = WATCHED_ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..n {
        let start = Instant::now();
        WATCHED.with(|w| w.set(true));
        let snapshot = engine.snapshot();
        snapshot.channels(start, &mut channels);
        // Released inside the watch: dropping a pin must not free (the engine keeps old ones).
        drop(snapshot);
        WATCHED.with(|w| w.set(false));
        times.push(start.elapsed().as_nanos() as f64);
        std::hint::black_box(&channels);
        std::thread::sleep(Duration::from_micros(100));
    }
    (times, WATCHED_ALLOCATIONS.load(Ordering::Relaxed) - before)
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
