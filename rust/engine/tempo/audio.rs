//! Audio from TouchDesigner to the beat tracker, off the cook path.
//!
//! The cook ([`AudioInput::push`], TouchDesigner's main thread) only mixes the input to mono into
//! a preallocated lock-free single-producer/single-consumer ring: no lock, no allocation, no
//! system call. A worker thread per audio-using operator drains the ring every few milliseconds,
//! runs the [`Tracker`] and publishes its reading through a seqlock (`SeqCell`). Dropping the
//! [`AudioInput`] stops and joins the worker, so no thread outlives the operator and the plugin
//! can be unloaded.
//!
//! Why rtrb for the ring: it is a small, widely used, MIT/Apache wait-free SPSC ring made for
//! exactly this (real-time audio threads), with bulk chunk writes; a hand-written ring would need
//! `unsafe` outside `rust/ffi`.
//!
//! Time is counted in samples (the "clock"): every sample TouchDesigner handed over, including any
//! the ring had to drop. The tracker's beat grid is expressed on this clock, so the reader can
//! place "now" on it without sharing any wall-clock state with the worker.

use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::published::SeqCell;
use super::tracker::{Tracker, TrackerReading};
use crate::engine::os_thread::{self, OsThread};
use crate::model::phase::GridPoint;

/// Seconds of audio the ring holds before the worker must have drained it.
const RING_SECONDS: f64 = 2.0;
/// How often the worker looks for new audio.
const POLL: Duration = Duration::from_millis(10);
/// Audio missing for longer than this (TouchDesigner paused, input unwired) restarts the tracker.
const GAP: Duration = Duration::from_millis(250);
/// Without a push for this long, the input counts as disconnected.
const DISCONNECTED_AFTER: Duration = Duration::from_millis(500);
/// Over this much wall-clock time, more than [`TOO_FAST`] times as much audio as time means the
/// input is not time-sliced (the same buffer handed over every cook).
const RATE_WINDOW: Duration = Duration::from_secs(2);
const TOO_FAST: f64 = 2.0;
/// Samples the worker takes from the ring at a time.
const CHUNK: usize = 4096;
/// Accepted sample rates.
const MIN_SAMPLE_RATE: f64 = 8_000.0;
const MAX_SAMPLE_RATE: f64 = 384_000.0;

static AUDIO_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Beat-tracker threads running in this process (for tests and the Info CHOP).
pub fn audio_threads() -> usize {
    AUDIO_THREADS.load(Ordering::Relaxed)
}

/// Why the audio input could not start.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("audio input ignored: sample rate {rate} Hz is outside 8 kHz – 384 kHz")]
    SampleRate { rate: f64 },
    #[error("could not start the beat tracker thread: {0}")]
    Spawn(#[source] std::io::Error),
}

impl AudioError {
    /// Short text for TouchDesigner's warning.
    pub fn user_message(&self) -> String {
        match self {
            AudioError::SampleRate { rate } => {
                format!("Audio input ignored: sample rate {rate} Hz is not supported (use 8–384 kHz)")
            }
            AudioError::Spawn(_) => "Beat tracking is off: could not start its thread".to_owned(),
        }
    }
}

/// Where the tracker must start afresh: before ring sample `at`, which has clock `clock`.
#[derive(Debug, Clone, Copy)]
struct Restart {
    at: u64,
    clock: u64,
}

struct Shared {
    reading: SeqCell,
    stop: AtomicBool,
    failed: AtomicBool,
    /// Ring samples the published reading has taken in (for [`AudioInput::wait_until_tracked`]).
    tracked: AtomicU64,
}

/// The audio tracker's answer at one instant, from the reader's side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudioTempo {
    /// Tempo stable and phase agreeing: good enough to drive visuals.
    pub locked: bool,
    pub tempo: f64,
    /// The beat grid at the instant asked for, once the tracker has one.
    pub point: Option<GridPoint>,
    /// Identifies the numbering of `point.beat` (changes when the tracker restarts).
    pub epoch: u64,
    pub onset: f64,
    pub loudness_db: f64,
}

/// One operator's audio input: the producing end of the ring and the worker that consumes it.
pub struct AudioInput {
    samples: rtrb::Producer<f32>,
    restarts: rtrb::Producer<Restart>,
    shared: Arc<Shared>,
    thread: Option<OsThread>,
    sample_rate: f64,
    /// Samples received (written or dropped) and samples written to the ring.
    clock: u64,
    written: u64,
    dropped: u64,
    last_push: Option<Instant>,
    restart_pending: bool,
    last: TrackerReading,
    /// Audio received since `rate_window_start`, to tell a time-sliced input from one that
    /// repeats a whole buffer every cook.
    rate_window_start: Option<Instant>,
    rate_window_samples: u64,
    too_fast: bool,
}

impl std::fmt::Debug for AudioInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioInput")
            .field("sample_rate", &self.sample_rate)
            .field("clock", &self.clock)
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl AudioInput {
    /// Allocates the ring and starts the worker for audio at `sample_rate` Hz. Called once, on
    /// the first audio (or when the rate changes), not every cook.
    pub fn start(sample_rate: f64) -> Result<Self, AudioError> {
        if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
            return Err(AudioError::SampleRate { rate: sample_rate });
        }
        let (samples, consumer) = rtrb::RingBuffer::new((sample_rate * RING_SECONDS) as usize);
        let (restarts, restart_consumer) = rtrb::RingBuffer::new(16);
        let shared = Arc::new(Shared {
            reading: SeqCell::default(),
            stop: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            tracked: AtomicU64::new(0),
        });
        let worker_shared = Arc::clone(&shared);
        AUDIO_THREADS.fetch_add(1, Ordering::Relaxed);
        // Not `std::thread::spawn`: this runs on TouchDesigner's main thread (see `os_thread`).
        let thread = os_thread::spawn("td-spotify-beat", move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                work(consumer, restart_consumer, &worker_shared, sample_rate);
            }));
            if outcome.is_err() {
                worker_shared.failed.store(true, Ordering::Release);
            }
            AUDIO_THREADS.fetch_sub(1, Ordering::Relaxed);
        })
        .map_err(|e| {
            AUDIO_THREADS.fetch_sub(1, Ordering::Relaxed);
            AudioError::Spawn(e)
        })?;
        Ok(AudioInput {
            samples,
            restarts,
            shared,
            thread: Some(thread),
            sample_rate,
            clock: 0,
            written: 0,
            dropped: 0,
            last_push: None,
            restart_pending: false,
            last: TrackerReading::default(),
            rate_window_start: None,
            rate_window_samples: 0,
            too_fast: false,
        })
    }

    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// Samples the ring had to drop because the worker fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Whether the worker died (it caught a panic); the operator shows a warning.
    pub fn failed(&self) -> bool {
        self.shared.failed.load(Ordering::Acquire)
    }

    /// Takes one cook's worth of input, `channels[c][i]`, mixed to mono. Never blocks or
    /// allocates. Channels of different lengths are cut to the shortest.
    pub fn push(&mut self, channels: &[&[f32]], now: Instant) {
        let n = channels.iter().map(|c| c.len()).min().unwrap_or(0);
        if n == 0 {
            return;
        }
        if let Some(last) = self.last_push {
            // A slow frame delivers its audio late but whole; only missing audio is a gap.
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            if elapsed - n as f64 / self.sample_rate > GAP.as_secs_f64() {
                self.restart_pending = true;
            }
        }
        self.last_push = Some(now);
        self.check_rate(n, now);
        if self.restart_pending {
            let restart = Restart { at: self.written, clock: self.clock };
            self.restart_pending = self.restarts.push(restart).is_err();
        }
        let take = n.min(self.samples.slots());
        if take > 0 && !push_mixed(&mut self.samples, channels, take) {
            // Cannot happen (`take` slots were free), but a frame not pushed is a gap.
            self.restart_pending = true;
        }
        if take < n {
            // The clock keeps counting what was dropped; the tracker restarts after the hole.
            self.dropped += (n - take) as u64;
            self.restart_pending = true;
        }
        self.written += take as u64;
        self.clock += n as u64;
    }

    /// Whether the input delivered far more audio than time passed over the last seconds: it is
    /// probably not time-sliced, and the tempo will be wrong.
    pub fn faster_than_real_time(&self) -> bool {
        self.too_fast
    }

    fn check_rate(&mut self, samples: usize, now: Instant) {
        let start = *self.rate_window_start.get_or_insert(now);
        self.rate_window_samples += samples as u64;
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= RATE_WINDOW {
            let audio_s = self.rate_window_samples as f64 / self.sample_rate;
            self.too_fast = audio_s > TOO_FAST * elapsed.as_secs_f64();
            self.rate_window_start = Some(now);
            self.rate_window_samples = 0;
        }
    }

    /// Wakes the worker and waits (spinning, up to `timeout`) until its published reading has
    /// taken in every sample pushed so far; false on timeout. For benchmarks that replay audio
    /// faster than real time and must read what a real-time cook would: never call it in a cook.
    pub fn wait_until_tracked(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
        while self.shared.tracked.load(Ordering::Acquire) < self.written {
            if self.failed() || Instant::now() > deadline {
                return false;
            }
            std::thread::yield_now();
        }
        true
    }

    /// Whether audio arrived recently.
    pub fn connected(&self, now: Instant) -> bool {
        self.last_push.is_some_and(|t| now.saturating_duration_since(t) < DISCONNECTED_AFTER)
    }

    /// The tracker's latest reading placed at `now` (the end of the audio pushed last). Never
    /// blocks or allocates; if the worker is mid-publish, the previous reading is used.
    pub fn reading(&mut self, now: Instant) -> AudioTempo {
        if let Some(r) = self.shared.reading.read() {
            self.last = r;
        }
        let r = self.last;
        let since_push =
            self.last_push.map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64().min(0.1));
        let clock = self.clock as f64 + since_push * self.sample_rate;
        AudioTempo {
            locked: r.locked && self.connected(now) && !self.failed(),
            tempo: r.tempo,
            point: r.at(clock),
            epoch: r.epoch,
            onset: r.onset,
            loudness_db: r.loudness_db,
        }
    }
}

/// Mixes `n` samples of `channels` straight into the ring's free slots; false when it has fewer.
/// The slots are not zeroed first (`write_chunk` would: a memset of the whole frame, in the cook).
#[allow(unsafe_code)]
fn push_mixed(ring: &mut rtrb::Producer<f32>, channels: &[&[f32]], n: usize) -> bool {
    let Ok(mut chunk) = ring.write_chunk_uninit(n) else { return false };
    // Straight loops over the ring's two halves, which the compiler vectorises: this copy is
    // most of a cook's work while audio is wired.
    let (head, tail) = chunk.as_mut_slices();
    let split = head.len();
    mix_down(channels, 0, head);
    mix_down(channels, split, tail);
    // SAFETY: mix_down wrote every slot of both halves.
    unsafe { chunk.commit_all() };
    true
}

/// Writes `out[i]` = the mean of `channels[c][from + i]` (each has `from + out.len()` samples).
/// Plain arithmetic the compiler vectorises, because this runs in the cook: a non-finite sample
/// is the worker's to silence ([`silence_bad`]).
fn mix_down(channels: &[&[f32]], from: usize, out: &mut [MaybeUninit<f32>]) {
    let n = out.len();
    match channels {
        [mono] => {
            for (o, &s) in out.iter_mut().zip(&mono[from..from + n]) {
                o.write(s);
            }
        }
        [left, right] => {
            for ((o, &l), &r) in out.iter_mut().zip(&left[from..from + n]).zip(&right[from..from + n]) {
                o.write((l + r) * 0.5);
            }
        }
        _ => {
            let scale = 1.0 / channels.len() as f32;
            for (i, o) in out.iter_mut().enumerate() {
                o.write(channels.iter().map(|c| c[from + i]).sum::<f32>() * scale);
            }
        }
    }
}

/// A non-finite sample (a NaN or an infinity from a broken input, which the mix-down carries
/// into the mean) counts as silence: the tracker's sums must stay finite.
fn silence_bad(samples: &mut [f32]) {
    for s in samples.iter_mut().filter(|s| !s.is_finite()) {
        *s = 0.0;
    }
}

/// Tells whether a worker thread is still running (for tests of the shutdown).
#[cfg(test)]
pub(crate) struct WorkerProbe(std::sync::Weak<Shared>);

#[cfg(test)]
impl WorkerProbe {
    /// The worker holds its `Shared` until it returns; once dropped and joined, nothing does.
    pub(crate) fn running(&self) -> bool {
        self.0.strong_count() > 0
    }
}

#[cfg(test)]
impl AudioInput {
    pub(crate) fn worker_probe(&self) -> WorkerProbe {
        WorkerProbe(Arc::downgrade(&self.shared))
    }

    /// Waits until the worker has taken everything pushed so far (tests push faster than real time).
    pub(crate) fn wait_until_drained(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.samples.slots() < self.samples.buffer().capacity() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for AudioInput {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            // The worker only computes (nothing it does can hang), so the join is short.
            thread.join();
        }
    }
}

/// The worker's loop: drain the ring, track, publish, sleep briefly.
fn work(
    mut samples: rtrb::Consumer<f32>,
    mut restarts: rtrb::Consumer<Restart>,
    shared: &Shared,
    sample_rate: f64,
) {
    let mut tracker = Tracker::new(sample_rate);
    let mut buffer = vec![0.0f32; CHUNK];
    let mut consumed: u64 = 0;
    while !shared.stop.load(Ordering::Acquire) {
        let mut fed = false;
        loop {
            // Read the fill level before the restart queue: a restart is queued before the samples
            // it precedes, so any restart that applies to these samples is visible now.
            let available = samples.slots();
            if let Ok(restart) = restarts.peek() {
                if restart.at <= consumed {
                    let origin = restart.clock + (consumed - restart.at);
                    tracker.restart(origin as f64);
                    let _ = restarts.pop();
                    fed = true;
                    continue;
                }
            }
            let until_restart = restarts.peek().map_or(usize::MAX, |r| (r.at - consumed) as usize);
            let n = available.min(CHUNK).min(until_restart);
            if n == 0 {
                break;
            }
            let (popped, _) = samples.pop_partial_slice(&mut buffer[..n]);
            let got = popped.len();
            silence_bad(&mut buffer[..got]);
            tracker.process(&buffer[..got]);
            consumed += got as u64;
            fed = true;
        }
        if fed {
            shared.reading.write(&tracker.reading());
            shared.tracked.store(consumed, Ordering::Release);
        }
        std::thread::park_timeout(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tempo::synth::ClickTrack;

    #[test]
    fn a_broken_sample_reaches_the_tracker_as_silence() {
        let (left, right) = ([1.0, f32::NAN, 0.5, f32::INFINITY], [0.0, 1.0, 0.5, -1.0]);
        let mixed = |channels: &[&[f32]], n: usize| {
            let (mut ring, mut out) = rtrb::RingBuffer::new(n);
            assert!(push_mixed(&mut ring, channels, n));
            let mut samples: Vec<f32> = (0..n).map(|_| out.pop().unwrap()).collect();
            silence_bad(&mut samples);
            samples
        };
        assert_eq!(mixed(&[&left, &right], 4), [0.5, 0.0, 0.5, 0.0]);
        assert_eq!(mixed(&[&left], 2), [1.0, 0.0]);
        assert_eq!(mixed(&[&left, &right, &right], 1), [1.0 / 3.0]);
    }

    #[test]
    fn bad_sample_rates_are_refused() {
        assert!(matches!(AudioInput::start(0.0), Err(AudioError::SampleRate { .. })));
        assert!(matches!(AudioInput::start(f64::NAN), Err(AudioError::SampleRate { .. })));
        assert!(AudioError::SampleRate { rate: 1.0 }.user_message().contains("8–384 kHz"));
    }

    /// Pushes a click track through the ring and the worker as TouchDesigner would (one frame of
    /// audio per cook), then checks the worker locked, and that dropping joins the thread.
    #[test]
    fn the_worker_tracks_pushed_audio_and_joins_on_drop() {
        let track = ClickTrack::steady(120.0, 10.0);
        let (left, right) = track.render();
        let mut input = AudioInput::start(48_000.0).unwrap();
        assert!(audio_threads() >= 1);
        let start = Instant::now();
        // Pushed as fast as the worker keeps up (the clock is the sample count, not the wall
        // clock), never letting the ring overflow.
        let capacity = input.samples.buffer().capacity();
        for (i, (l, r)) in left.chunks(800).zip(right.chunks(800)).enumerate() {
            let now = start + Duration::from_secs_f64(i as f64 * 800.0 / 48_000.0);
            input.push(&[l, r], now);
            while input.samples.slots() < capacity / 2 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let end = start + Duration::from_secs(10);
        let deadline = Instant::now() + Duration::from_secs(20);
        let reading = loop {
            let r = input.reading(end);
            if r.locked || Instant::now() > deadline {
                break r;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(reading.locked, "not locked: {reading:?} ({input:?})");
        assert!((reading.tempo - 120.0).abs() < 2.4, "{}", reading.tempo);
        assert_eq!(input.dropped(), 0);
        assert!(!input.failed());
        let probe = input.worker_probe();
        assert!(probe.running());
        drop(input);
        assert!(!probe.running(), "the worker outlived its input");
    }

    #[test]
    fn a_repeated_whole_buffer_is_noticed() {
        let mut input = AudioInput::start(48_000.0).unwrap();
        let second = vec![0.0f32; 48_000];
        let t0 = Instant::now();
        for frame in 0..=150u32 {
            // A one-second buffer handed over at 60 fps: 60 times too much audio.
            input.push(&[&second], t0 + Duration::from_secs_f64(f64::from(frame) / 60.0));
        }
        assert!(input.faster_than_real_time());
        let mut input = AudioInput::start(48_000.0).unwrap();
        let frame_of_audio = vec![0.0f32; 800];
        for frame in 0..=150u32 {
            input.push(&[&frame_of_audio], t0 + Duration::from_secs_f64(f64::from(frame) / 60.0));
        }
        assert!(!input.faster_than_real_time());
    }

    #[test]
    fn a_gap_restarts_the_tracker() {
        let mut input = AudioInput::start(48_000.0).unwrap();
        let silence = vec![0.0f32; 800];
        let t0 = Instant::now();
        input.push(&[&silence], t0);
        input.push(&[&silence], t0 + Duration::from_secs(2));
        let deadline = Instant::now() + Duration::from_secs(10);
        while input.reading(t0 + Duration::from_secs(2)).epoch == 0 {
            assert!(Instant::now() < deadline, "no restart seen");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!input.connected(t0 + Duration::from_secs(5)));
    }
}
