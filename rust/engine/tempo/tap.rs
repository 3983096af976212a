//! Manual tempo: the `Bpm` parameter and the `Tap` pulse.
//!
//! The clock always runs, so an artist with neither Spotify features nor audio still gets a beat.
//! Taps set the tempo (median of the recent intervals, so one sloppy tap does not matter) and
//! reset the phase: a beat starts on every tap, and the first tap of a sequence is a downbeat.

use std::time::{Duration, Instant};

use crate::model::phase::{point_from_beats, GridPoint};

/// Slowest manual tempo (also the `Bpm` parameter's minimum).
pub(crate) const MIN_BPM: f64 = 20.0;
/// Fastest manual tempo (also the `Bpm` parameter's maximum).
pub(crate) const MAX_BPM: f64 = 300.0;
/// Taps remembered for the median.
const TAPS: usize = 8;
/// A pause longer than the slowest beat starts a new tap sequence.
const SEQUENCE_GAP: Duration = Duration::from_secs(3);
/// Taps closer than the fastest beat are one tap (a bouncing button or a double click).
const DEBOUNCE: Duration = Duration::from_millis(200);

/// The manual tempo clock of one operator. Fixed size: tapping never allocates.
#[derive(Debug, Clone)]
pub struct ManualClock {
    tempo: f64,
    beats_per_bar: u32,
    /// The clock reads `anchor_beats` at `anchor`.
    anchor: Instant,
    anchor_beats: f64,
    /// Recent taps of the current sequence, oldest first.
    taps: [Option<Instant>; TAPS],
    /// Taps in the current sequence (may exceed [`TAPS`]).
    sequence_taps: u64,
    /// Beat number given to the sequence's first tap.
    sequence_start: f64,
}

impl ManualClock {
    pub fn new(bpm: f64, now: Instant) -> Self {
        ManualClock {
            tempo: clamp_bpm(bpm),
            beats_per_bar: 4,
            anchor: now,
            anchor_beats: 0.0,
            taps: [None; TAPS],
            sequence_taps: 0,
            sequence_start: 0.0,
        }
    }

    /// The tempo in force, in BPM.
    pub fn tempo(&self) -> f64 {
        self.tempo
    }

    /// The `Bpm` parameter changed: it wins over earlier taps. The phase carries on smoothly.
    pub fn set_bpm(&mut self, bpm: f64, now: Instant) {
        self.rebase(now);
        self.tempo = clamp_bpm(bpm);
        self.taps = [None; TAPS];
        self.sequence_taps = 0;
    }

    /// A `Tap` pulse at `now`.
    pub fn tap(&mut self, now: Instant) {
        let last = self.taps.iter().rev().flatten().next().copied();
        if let Some(last) = last {
            if now.saturating_duration_since(last) < DEBOUNCE {
                return;
            }
        }
        let beats = self.beats_at(now);
        let continues = last.is_some_and(|l| now.saturating_duration_since(l) <= SEQUENCE_GAP);
        if continues {
            self.taps.rotate_left(1);
            self.taps[TAPS - 1] = Some(now);
            self.sequence_taps += 1;
            if let Some(tempo) = self.median_tempo() {
                self.tempo = tempo;
            }
            self.anchor_beats = self.sequence_start + (self.sequence_taps - 1) as f64;
        } else {
            self.taps = [None; TAPS];
            self.taps[TAPS - 1] = Some(now);
            self.sequence_taps = 1;
            // The first tap is a downbeat: the next bar line, or the one just passed if it is
            // less than half a beat ago (so the pulse is not given twice).
            let per_bar = f64::from(self.beats_per_bar);
            let bar_line = (beats / per_bar).floor() * per_bar;
            self.sequence_start = if beats - bar_line < 0.5 { bar_line } else { bar_line + per_bar };
            self.anchor_beats = self.sequence_start;
        }
        self.anchor = now;
    }

    /// Continuous beat count at `now`.
    pub fn beats_at(&self, now: Instant) -> f64 {
        self.anchor_beats + signed_secs(self.anchor, now) * self.tempo / 60.0
    }

    /// Where the clock is at `now`.
    pub fn at(&self, now: Instant) -> GridPoint {
        point_from_beats(self.beats_at(now), self.beats_per_bar, 0)
    }

    fn rebase(&mut self, now: Instant) {
        self.anchor_beats = self.beats_at(now);
        self.anchor = now;
    }

    /// Median interval of the remembered taps, as a tempo.
    fn median_tempo(&self) -> Option<f64> {
        let mut intervals = [0.0f64; TAPS - 1];
        let mut n = 0;
        for pair in self.taps.windows(2) {
            if let [Some(a), Some(b)] = pair {
                intervals[n] = b.saturating_duration_since(*a).as_secs_f64();
                n += 1;
            }
        }
        let intervals = &mut intervals[..n];
        if intervals.is_empty() {
            return None;
        }
        intervals.sort_unstable_by(f64::total_cmp);
        let median =
            if n % 2 == 1 { intervals[n / 2] } else { (intervals[n / 2 - 1] + intervals[n / 2]) / 2.0 };
        (median > 0.0).then(|| clamp_bpm(60.0 / median))
    }
}

fn clamp_bpm(bpm: f64) -> f64 {
    if bpm.is_finite() {
        bpm.clamp(MIN_BPM, MAX_BPM)
    } else {
        120.0
    }
}

/// `to − from` in seconds, negative when `to` is earlier.
fn signed_secs(from: Instant, to: Instant) -> f64 {
    match to.checked_duration_since(from) {
        Some(d) => d.as_secs_f64(),
        None => -from.duration_since(to).as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn bpm_runs_the_clock_and_changes_keep_the_phase() {
        let t0 = Instant::now();
        let mut c = ManualClock::new(120.0, t0);
        let p = c.at(t0 + ms(250));
        assert!((p.beat_phase - 0.5).abs() < 1e-9);
        let before = c.beats_at(t0 + ms(1000));
        c.set_bpm(60.0, t0 + ms(1000));
        assert!((c.beats_at(t0 + ms(1000)) - before).abs() < 1e-9);
        assert!((c.beats_at(t0 + ms(2000)) - before - 1.0).abs() < 1e-9);
        c.set_bpm(1000.0, t0);
        assert_eq!(c.tempo(), MAX_BPM);
        c.set_bpm(f64::NAN, t0);
        assert_eq!(c.tempo(), 120.0);
    }

    #[test]
    fn taps_set_tempo_from_the_median_and_reset_phase() {
        let t0 = Instant::now() + ms(10_000);
        let mut c = ManualClock::new(90.0, t0);
        // 100 BPM taps with one sloppy interval.
        let taps = [0, 600, 1200, 1900, 2400, 3000];
        for &t in &taps {
            c.tap(t0 + ms(t));
        }
        assert!((c.tempo() - 100.0).abs() < 1e-9, "{}", c.tempo());
        let last = t0 + ms(3000);
        let p = c.at(last);
        assert_eq!(p.beat_phase, 0.0, "a beat starts on the tap");
        // Six taps: the first was a downbeat, so the last is beat 2 of the second bar.
        assert!((p.bar_phase - 0.25).abs() < 1e-9, "{}", p.bar_phase);
        assert!((c.at(last + ms(300)).beat_phase - 0.5).abs() < 1e-9);
    }

    #[test]
    fn first_tap_is_a_downbeat_and_a_pause_starts_over() {
        let t0 = Instant::now();
        let mut c = ManualClock::new(120.0, t0);
        c.tap(t0 + ms(1100)); // clock at 2.2 beats: the next bar line (beat 4) starts now
        let p = c.at(t0 + ms(1100));
        assert_eq!((p.beat, p.beat_phase, p.bar_phase), (4, 0.0, 0.0));
        c.tap(t0 + ms(1150)); // a bounce, ignored
        assert_eq!(c.at(t0 + ms(1100)).beat, 4);
        c.tap(t0 + ms(1600));
        assert!((c.tempo() - 120.0).abs() < 1e-9);
        assert_eq!(c.at(t0 + ms(1600)).beat, 5);
        c.tap(t0 + ms(9000)); // long pause: a new sequence, tempo kept
        let p = c.at(t0 + ms(9000));
        assert_eq!(p.bar_phase, 0.0);
        assert!((c.tempo() - 120.0).abs() < 1e-9);
    }
}
