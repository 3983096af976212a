//! `cargo bench --bench tempo`: what the audio beat tracker costs and how well it tracks.
//!
//! Prints three tables:
//! 1. cost: tracker CPU time per second of 48 kHz stereo audio (target < 2 % of one core), and
//!    what the cook thread pays to hand one frame of audio over (mix to mono + ring copy);
//! 2. allocations on the cook thread per `push_audio` + `cook` once audio is running (target 0);
//! 3. accuracy over the synthetic set (the tests' tracks plus music-like ones with off-beat
//!    hi-hats): tempo error, octave errors (counted separately), beat phase error, time to the
//!    first lock, and start of the final locked stretch (the re-lock after a tempo change).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

// The click tracks are test-only code the plugin does not ship: included here by path. Checking
// benches sets cfg(test) without the harness, which leaves its unit test's imports unused.
#[path = "../../rust/engine/tempo/synth.rs"]
#[allow(unused_imports)]
mod synth;

use synth::{evaluate, test_set, ClickTrack, Observation, Tracks};
use td_spotify::engine::tempo::tracker::Tracker;
use td_spotify::operator::Operator;
use td_spotify::schema::{family, Param};

/// Counts allocations made by the thread that switched counting on (the cook thread), so the
/// engine's and the tracker's own threads do not muddy the figure.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counters are const-initialised thread locals
// without destructors, so touching them never allocates or recurses.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const RATE: f64 = 48_000.0;
/// One TouchDesigner frame of audio at 60 fps.
const BLOCK: usize = 800;

#[path = "../../rust/engine/tempo/tracker/tracks.rs"]
mod tracks;

fn main() {
    cost();
    allocations();
    accuracy();
}

fn music(bpm: f64, seconds: f64) -> ClickTrack {
    ClickTrack {
        offbeat_hats: true,
        noise: 0.08,
        seed: 1000 + bpm as u64,
        ..ClickTrack::steady(bpm, seconds)
    }
}

fn drums(bpm: f64) -> ClickTrack {
    ClickTrack { drums: true, noise: 0.02, seed: 2000 + bpm as u64, ..ClickTrack::steady(bpm, 16.0) }
}

fn cost() {
    let seconds = 60.0;
    let (left, right) = music(128.0, seconds).render();
    let mono: Vec<f32> = left.iter().zip(&right).map(|(l, r)| (l + r) * 0.5).collect();
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let mut tracker = Tracker::new(RATE);
        let start = Instant::now();
        for block in mono.chunks(BLOCK) {
            tracker.process(block);
        }
        best = best.min(start.elapsed());
        assert!(tracker.reading().locked, "the cost run should track");
    }
    let per_second = best.as_secs_f64() / seconds;
    println!("== tempo: cost (48 kHz stereo, {BLOCK}-sample blocks = 60 fps)");
    println!(
        "tracker (worker thread): {:.3} ms CPU per 1 s of audio = {:.3} % of one core (target < 2 %)",
        per_second * 1000.0,
        per_second * 100.0
    );

    // The cook thread's share: mix one frame to mono and copy it into the ring.
    let mut instance = Operator::new(family::CHOP);
    instance.set_string(Param::Source as usize, "Spotify");
    let frames = left.len() / BLOCK;
    let mut times = Vec::with_capacity(frames);
    for k in 0..frames {
        let (l, r) = (&left[k * BLOCK..(k + 1) * BLOCK], &right[k * BLOCK..(k + 1) * BLOCK]);
        let start = Instant::now();
        instance.push_audio(&[l, r], RATE);
        times.push(start.elapsed());
        // About 80 times real time: fast, but slower than the worker drains the ring.
        std::thread::sleep(Duration::from_micros(200));
    }
    assert_eq!(instance.audio_dropped(), 0, "the ring overflowed: the figure would be too low");
    times.remove(0); // the first push starts the worker
    times.sort();
    let ns = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_nanos();
    println!(
        "push_audio (cook thread): median {} ns, p99 {} ns per 800-sample stereo frame",
        ns(0.5),
        ns(0.99)
    );
}

fn allocations() {
    let mut instance = Operator::new(family::CHOP);
    instance.set_string(Param::Source as usize, "Spotify");
    let (left, right) = music(120.0, 20.0).render();
    let mut blocks = left.chunks(BLOCK).zip(right.chunks(BLOCK)).cycle();
    // Warm-up: the first push starts the worker; the first cook applies the parameters.
    for _ in 0..2 {
        let (l, r) = blocks.next().unwrap_or_default();
        instance.push_audio(&[l, r], RATE);
        instance.cook(Instant::now());
    }
    let cooks = 10_000;
    COUNTING.with(|c| c.set(true));
    for k in 0..cooks {
        let (l, r) = blocks.next().unwrap_or_default();
        instance.push_audio(&[l, r], RATE);
        instance.cook(Instant::now());
        if k % 4 == 0 {
            // About 60 times real time, so the worker mostly keeps up.
            COUNTING.with(|c| c.set(false));
            std::thread::sleep(Duration::from_millis(1));
            COUNTING.with(|c| c.set(true));
        }
    }
    COUNTING.with(|c| c.set(false));
    let allocations = ALLOCATIONS.with(Cell::get);
    println!("== tempo: allocations on the cook thread");
    println!(
        "push_audio + cook with audio running: {allocations} allocations in {cooks} cooks ({:.4} per cook, target 0; \
         {} samples dropped by a busy worker, which the cook thread does not pay for)",
        allocations as f64 / cooks as f64,
        instance.audio_dropped()
    );
}

fn accuracy() {
    let mut set = test_set();
    set.extend([
        ("100 BPM + off-beat hats", music(100.0, 16.0), 8.0),
        ("128 BPM + off-beat hats", music(128.0, 16.0), 8.0),
        ("140 BPM + off-beat hats", music(140.0, 16.0), 8.0),
        ("95 BPM drums", drums(95.0), 8.0),
        ("124 BPM drums", drums(124.0), 8.0),
        ("172 BPM drums", drums(172.0), 8.0),
        ("75 BPM", ClickTrack::steady(75.0, 16.0), 8.0),
        ("200 BPM", ClickTrack::steady(200.0, 16.0), 8.0),
        ("128 BPM at 44.1 kHz", ClickTrack { sample_rate: 44_100, ..ClickTrack::steady(128.0, 16.0) }, 8.0),
    ]);
    println!("== tempo: accuracy over the synthetic set (judged from 8 s, or 8 s after a tempo change)");
    println!(
        "{:<26} {:>7} {:>8} {:>6} {:>6} {:>8} {:>7} {:>7} {:>6} {:>6} {:>6} {:>7} {:>4}",
        "track",
        "true",
        "tracked",
        "err %",
        "octave",
        "worst ms",
        "mean ms",
        "bias ms",
        "bar ok",
        "locked",
        "lock s",
        "locked@",
        "pass"
    );
    let (mut passed, mut octaves) = (0, 0);
    for (name, track, judge_from) in &set {
        let block = (f64::from(track.sample_rate) / 60.0) as usize;
        let e = evaluate(track, block, *judge_from, Tracker::new);
        passed += usize::from(e.passes());
        octaves += usize::from(e.octave_frames > 0);
        println!(
            "{:<26} {:>7.2} {:>8.2} {:>6.2} {:>6} {:>8.1} {:>7.1} {:>+7.1} {:>5.0}% {:>5.0}% {:>6} {:>7} {:>4}",
            name,
            e.true_bpm,
            e.tracked_bpm,
            e.worst_tempo_error * 100.0,
            e.octave_frames,
            e.worst_phase_ms,
            e.mean_phase_ms,
            e.bias_ms,
            100.0 * e.bar_frames as f64 / e.frames.max(1) as f64,
            100.0 * e.locked_frames as f64 / e.frames.max(1) as f64,
            e.first_lock_s.map_or("never".to_owned(), |t| format!("{t:.1}")),
            e.locked_since_s.map_or("-".to_owned(), |t| format!("{t:.1}")),
            if e.passes() { "yes" } else { "NO" }
        );
    }
    println!(
        "{passed}/{} tracks pass (tempo ±2 %, beats ±50 ms, locked); {octaves} with octave errors",
        set.len()
    );
}
