//! Synthetic test signals for the beat tracker: click tracks with known beats.
//!
//! Used by the tracker's tests and the `tempo` benchmark, so both measure the same material.
//! Deterministic: the same description renders the same samples. Test-only, never shipped in the
//! plugin: the library compiles it under `cfg(test)` and the benchmark includes it by path, so it
//! names nothing of the crate and sees the tracker through [`Tracks`].

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The beat tracker under test, as [`evaluate`] sees it.
pub trait Tracks {
    /// Feeds mono samples that follow the previous ones without a gap.
    fn process(&mut self, samples: &[f32]);
    /// What the tracker says about audio clock `clock` (samples fed so far).
    fn observe(&self, clock: f64) -> Observation;
}

/// One reading of the tracker under test, at one audio clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    pub locked: bool,
    pub tempo: f64,
    /// Continuous beat count, when the tracker has a grid.
    pub beats: Option<f64>,
    /// Bar phase (0–1 from the downbeat), when the tracker has a grid.
    pub bar_phase: Option<f64>,
}

/// A click track: clicks on every beat (accented downbeats), over white noise.
#[derive(Debug, Clone, PartialEq)]
pub struct ClickTrack {
    pub sample_rate: u32,
    pub seconds: f64,
    /// `(time_s, bpm)`: the tempo from each time on; the first entry should be at 0.
    pub tempo: Vec<(f64, f64)>,
    /// Time of the first beat, a downbeat.
    pub first_beat_s: f64,
    pub beats_per_bar: u32,
    /// Peak amplitude of a click (downbeats are 1.4 times louder).
    pub click: f32,
    /// Amplitude of the uniform white noise under the clicks.
    pub noise: f32,
    /// Add a softer off-beat hi-hat between beats (music-like, and a test of octave errors).
    pub offbeat_hats: bool,
    /// Play a drum pattern instead of clicks: kick on beats 1 and 3 (and a syncopated one every
    /// other bar), snare on 2 and 4, closed hi-hats on eighths, over a sustained bass note per
    /// bar. The kick alone repeats every two beats: the classic half-tempo trap.
    pub drums: bool,
    pub seed: u64,
}

impl ClickTrack {
    /// A steady click track at `bpm` with noise 20 dB under the clicks.
    pub fn steady(bpm: f64, seconds: f64) -> Self {
        ClickTrack {
            sample_rate: 48_000,
            seconds,
            tempo: vec![(0.0, bpm)],
            first_beat_s: 0.37,
            beats_per_bar: 4,
            click: 0.5,
            noise: 0.05,
            offbeat_hats: false,
            drums: false,
            seed: bpm as u64,
        }
    }

    /// The tempo at `t`.
    pub fn bpm_at(&self, t: f64) -> f64 {
        self.tempo
            .iter()
            .take_while(|(from, _)| *from <= t)
            .last()
            .or(self.tempo.first())
            .map_or(120.0, |e| e.1)
    }

    /// Start time of every beat in the track, in seconds.
    pub fn beat_times(&self) -> Vec<f64> {
        let mut beats = Vec::new();
        let mut t = self.first_beat_s;
        while t < self.seconds {
            beats.push(t);
            t += 60.0 / self.bpm_at(t).max(1.0);
        }
        beats
    }

    /// Continuous beat position at `t` (beat `k` starts at `beat_times()[k]`), and the beat
    /// period there: the truth a tracker's phase is compared with.
    pub fn beat_position(beats: &[f64], t: f64) -> Option<(f64, f64)> {
        let i = beats.partition_point(|&b| b <= t);
        if i == 0 || i >= beats.len() {
            return None;
        }
        let (a, b) = (beats[i - 1], beats[i]);
        Some(((i - 1) as f64 + (t - a) / (b - a), b - a))
    }

    /// Renders the track as stereo (left, right).
    pub fn render(&self) -> (Vec<f32>, Vec<f32>) {
        let rate = f64::from(self.sample_rate);
        let n = (self.seconds * rate) as usize;
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut left: Vec<f32> = (0..n).map(|_| rng.gen_range(-self.noise..=self.noise)).collect();
        let mut right: Vec<f32> = (0..n).map(|_| rng.gen_range(-self.noise..=self.noise)).collect();
        let beats = self.beat_times();
        if self.drums {
            self.add_drums(&mut left, &mut right, &beats, &mut rng);
            return (left, right);
        }
        for (k, &b) in beats.iter().enumerate() {
            let down = k % self.beats_per_bar.max(1) as usize == 0;
            let (gain, hz) = if down { (1.4, 1600.0) } else { (1.0, 1000.0) };
            self.add_click(&mut left, &mut right, b, self.click * gain, hz, 0.015, &mut rng);
            if self.offbeat_hats {
                let next = beats.get(k + 1).copied().unwrap_or(b + 60.0 / self.bpm_at(b));
                self.add_click(
                    &mut left,
                    &mut right,
                    (b + next) / 2.0,
                    self.click * 0.35,
                    7000.0,
                    0.004,
                    &mut rng,
                );
            }
        }
        (left, right)
    }

    fn add_drums(&self, left: &mut [f32], right: &mut [f32], beats: &[f64], rng: &mut StdRng) {
        let rate = f64::from(self.sample_rate);
        let per_bar = self.beats_per_bar.max(1) as usize;
        let a = self.click;
        for (k, &b) in beats.iter().enumerate() {
            let next = beats.get(k + 1).copied().unwrap_or(b + 60.0 / self.bpm_at(b));
            let half = (b + next) / 2.0;
            let in_bar = k % per_bar;
            let bar = k / per_bar;
            if in_bar % 2 == 0 {
                self.add_kick(left, right, b, a * 1.6);
            } else {
                self.add_click(left, right, b, a * 0.9, 190.0, 0.06, rng);
                self.add_noise_burst(left, right, b, a * 0.6, 0.08, rng);
            }
            if bar % 2 == 1 && in_bar == 2 {
                self.add_kick(left, right, half, a * 1.2);
            }
            self.add_noise_burst(left, right, b, a * 0.25, 0.015, rng);
            self.add_noise_burst(left, right, half, a * 0.2, 0.015, rng);
            if in_bar == 0 {
                // A bass note held for the bar: energy without onsets.
                let hz = [55.0, 49.0, 65.4, 58.3][bar % 4];
                let start = (b * rate) as usize;
                let len = (60.0 / self.bpm_at(b) * per_bar as f64 * rate) as usize;
                for i in 0..len {
                    let (Some(l), Some(r)) = (left.get_mut(start + i), right.get_mut(start + i)) else {
                        break;
                    };
                    let t = i as f64 / rate;
                    let attack = (t / 0.03).min(1.0);
                    let s =
                        (0.25 * f64::from(a) * attack * (2.0 * std::f64::consts::PI * hz * t).sin()) as f32;
                    *l += s;
                    *r += s;
                }
            }
        }
    }

    /// A kick: a sine sweeping down from 120 Hz to 50 Hz.
    fn add_kick(&self, left: &mut [f32], right: &mut [f32], at_s: f64, amplitude: f32) {
        let rate = f64::from(self.sample_rate);
        let start = (at_s * rate).round() as usize;
        let mut phase = 0.0;
        for i in 0..(0.4 * rate) as usize {
            let (Some(l), Some(r)) = (left.get_mut(start + i), right.get_mut(start + i)) else { break };
            let t = i as f64 / rate;
            let hz = 50.0 + 70.0 * (-t / 0.03).exp();
            phase += 2.0 * std::f64::consts::PI * hz / rate;
            let s = (f64::from(amplitude) * (-t / 0.12).exp() * phase.sin()) as f32;
            *l += s;
            *r += s;
        }
    }

    /// A burst of bright noise (snare wires, hi-hats).
    fn add_noise_burst(
        &self,
        left: &mut [f32],
        right: &mut [f32],
        at_s: f64,
        amplitude: f32,
        decay_s: f64,
        rng: &mut StdRng,
    ) {
        let rate = f64::from(self.sample_rate);
        let start = (at_s * rate).round() as usize;
        let mut last = 0.0f64;
        for i in 0..(decay_s * 6.0 * rate) as usize {
            let (Some(l), Some(r)) = (left.get_mut(start + i), right.get_mut(start + i)) else { break };
            let white: f64 = rng.gen_range(-1.0..=1.0);
            // A first difference tilts the noise towards the highs.
            let bright = white - last;
            last = white;
            let s = (f64::from(amplitude) * (-(i as f64 / rate) / decay_s).exp() * bright * 0.5) as f32;
            *l += s;
            *r += s;
        }
    }

    /// Adds a decaying tone burst with a little noise at `at_s` seconds.
    #[allow(clippy::too_many_arguments)]
    fn add_click(
        &self,
        left: &mut [f32],
        right: &mut [f32],
        at_s: f64,
        amplitude: f32,
        hz: f64,
        decay_s: f64,
        rng: &mut StdRng,
    ) {
        let rate = f64::from(self.sample_rate);
        let start = (at_s * rate).round() as usize;
        let len = (decay_s * 6.0 * rate) as usize;
        for i in 0..len {
            let Some((l, r)) = left.get_mut(start + i).zip(right.get_mut(start + i)) else { break };
            let t = i as f64 / rate;
            let envelope = (-t / decay_s).exp();
            let tone = (2.0 * std::f64::consts::PI * hz * t).sin() + 0.3 * rng.gen_range(-1.0..=1.0);
            let s = (f64::from(amplitude) * envelope * tone) as f32;
            *l += s;
            *r += s * 0.9;
        }
    }
}

/// How a tracker did on a [`ClickTrack`], judged from `judge_from_s` to the end.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The true tempo at the end and the tracker's.
    pub true_bpm: f64,
    pub tracked_bpm: f64,
    /// Worst relative tempo error over the judged frames, after folding octave errors.
    pub worst_tempo_error: f64,
    /// Judged frames whose tempo was about double or half the truth.
    pub octave_frames: usize,
    /// Worst and mean distance between the tracker's beats and the true ones, in ms (frames
    /// with an octave error are left out).
    pub worst_phase_ms: f64,
    pub mean_phase_ms: f64,
    /// Mean signed phase error in ms (positive: the tracker's beats come late).
    pub bias_ms: f64,
    /// Judged frames whose bar phase put the downbeat on the right beat.
    pub bar_frames: usize,
    /// Judged frames, and how many of them were locked.
    pub frames: usize,
    pub locked_frames: usize,
    /// First time the tracker reported a lock, in seconds of audio.
    pub first_lock_s: Option<f64>,
    /// Start of the lock that lasted to the end (after a tempo change: the re-lock).
    pub locked_since_s: Option<f64>,
    /// CPU time spent in the tracker (wall clock while it ran).
    pub tracker_time: Duration,
    pub audio_seconds: f64,
}

impl Evaluation {
    /// Whether the track passes the accuracy bar: every judged frame locked, tempo within 2 %
    /// with no octave error, and beats within 50 ms.
    pub fn passes(&self) -> bool {
        self.frames > 0
            && self.locked_frames == self.frames
            && self.octave_frames == 0
            && self.worst_tempo_error <= 0.02
            && self.worst_phase_ms <= 50.0
    }
}

/// Feeds `track` to a fresh tracker (`new_tracker(sample_rate)`) in blocks of `block` samples
/// (one TouchDesigner frame, mixed to mono like the audio input does) and compares its grid with
/// the truth after each block.
pub fn evaluate<T: Tracks>(
    track: &ClickTrack,
    block: usize,
    judge_from_s: f64,
    new_tracker: impl FnOnce(f64) -> T,
) -> Evaluation {
    let (left, right) = track.render();
    let mono: Vec<f32> = left.iter().zip(&right).map(|(l, r)| (l + r) * 0.5).collect();
    let rate = f64::from(track.sample_rate);
    let beats = track.beat_times();
    let mut tracker = new_tracker(rate);
    let mut e = Evaluation::empty(track.bpm_at(track.seconds), mono.len() as f64 / rate);
    let mut sums = PhaseSums { per_bar: f64::from(track.beats_per_bar.max(1)), ..PhaseSums::default() };
    let mut clock = 0usize;
    for chunk in mono.chunks(block.max(1)) {
        let started = Instant::now();
        tracker.process(chunk);
        e.tracker_time += started.elapsed();
        clock += chunk.len();
        let r = tracker.observe(clock as f64);
        let t = clock as f64 / rate;
        e.follow_lock(r.locked, t);
        if t < judge_from_s {
            continue;
        }
        let Some((truth, period)) = ClickTrack::beat_position(&beats, t) else { continue };
        e.judge(&r, truth, period, &mut sums);
    }
    e.mean_phase_ms = sums.mean(sums.phase);
    e.bias_ms = sums.mean(sums.signed);
    e
}

/// Running sums of the phase errors over the judged frames that have one, and the bar length
/// (in beats) the bar phase is judged against.
#[derive(Debug, Default)]
struct PhaseSums {
    per_bar: f64,
    phase: f64,
    signed: f64,
    frames: usize,
}

impl PhaseSums {
    fn mean(&self, sum: f64) -> f64 {
        if self.frames > 0 {
            sum / self.frames as f64
        } else {
            f64::NAN
        }
    }
}

impl Evaluation {
    fn empty(true_bpm: f64, audio_seconds: f64) -> Self {
        Evaluation {
            true_bpm,
            tracked_bpm: 0.0,
            worst_tempo_error: 0.0,
            octave_frames: 0,
            worst_phase_ms: 0.0,
            mean_phase_ms: 0.0,
            bias_ms: 0.0,
            bar_frames: 0,
            frames: 0,
            locked_frames: 0,
            first_lock_s: None,
            locked_since_s: None,
            tracker_time: Duration::ZERO,
            audio_seconds,
        }
    }

    /// Notes when the tracker first locked and when its current lock started, at `t` seconds.
    fn follow_lock(&mut self, locked: bool, t: f64) {
        if locked && self.first_lock_s.is_none() {
            self.first_lock_s = Some(t);
        }
        match (locked, self.locked_since_s) {
            (true, None) => self.locked_since_s = Some(t),
            (false, Some(_)) => self.locked_since_s = None,
            _ => {}
        }
    }

    /// Judges one frame against the true beat position `truth` and beat `period` (seconds).
    fn judge(&mut self, r: &Observation, truth: f64, period: f64, sums: &mut PhaseSums) {
        self.frames += 1;
        self.locked_frames += usize::from(r.locked);
        self.tracked_bpm = r.tempo;
        let true_bpm = 60.0 / period;
        let ratio = r.tempo / true_bpm;
        let folded = [ratio, ratio * 2.0, ratio / 2.0]
            .into_iter()
            .map(|x| (x - 1.0).abs())
            .fold(f64::INFINITY, f64::min);
        self.worst_tempo_error = self.worst_tempo_error.max(folded);
        if (ratio - 1.0).abs() > folded + 1e-12 {
            self.octave_frames += 1;
            return;
        }
        let Some(tracked) = r.beats else {
            self.worst_phase_ms = f64::INFINITY;
            return;
        };
        let d = tracked - truth;
        let signed = (d.round() - d) * period * 1000.0;
        let ms = signed.abs();
        self.worst_phase_ms = self.worst_phase_ms.max(ms);
        sums.phase += ms;
        sums.signed += signed;
        if let Some(bar_phase) = r.bar_phase {
            let true_bar = (truth / sums.per_bar).rem_euclid(1.0);
            let off = (bar_phase - true_bar).rem_euclid(1.0);
            if off.min(1.0 - off) * sums.per_bar < 0.5 {
                self.bar_frames += 1;
            }
        }
        sums.frames += 1;
    }
}

/// The synthetic set the tests and the benchmark use: `(name, track, judged from)`.
pub fn test_set() -> Vec<(&'static str, ClickTrack, f64)> {
    let steady = |bpm: f64| ClickTrack::steady(bpm, 16.0);
    vec![
        ("90 BPM", steady(90.0), 8.0),
        ("120 BPM", steady(120.0), 8.0),
        ("128 BPM", steady(128.0), 8.0),
        ("174 BPM", steady(174.0), 8.0),
        ("128 BPM, loud noise", ClickTrack { noise: 0.2, seed: 7, ..steady(128.0) }, 8.0),
        (
            "120→100 BPM at 10 s",
            ClickTrack { tempo: vec![(0.0, 120.0), (10.0, 100.0)], ..ClickTrack::steady(120.0, 22.0) },
            18.0,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beats_follow_tempo_changes() {
        let track = ClickTrack {
            tempo: vec![(0.0, 120.0), (2.0, 60.0)],
            first_beat_s: 0.0,
            ..ClickTrack::steady(120.0, 5.0)
        };
        assert_eq!(track.beat_times(), vec![0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0]);
        let (pos, period) = ClickTrack::beat_position(&track.beat_times(), 2.5).unwrap();
        assert!((pos - 4.5).abs() < 1e-9 && (period - 1.0).abs() < 1e-9);
        let (l, r) = track.render();
        assert_eq!(l.len(), 240_000);
        assert_eq!(r.len(), 240_000);
        assert!(l.iter().all(|s| s.is_finite() && s.abs() < 1.5));
    }
}
