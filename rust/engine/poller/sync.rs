//! From a reported `progress_ms` to a position on our monotonic clock.
//!
//! Spotify reads the position somewhere between our sending the request and our receiving the
//! answer. Each observation therefore bounds the offset `position − clock` to an interval as wide
//! as the round trip; its midpoint is the classic estimate. While an item plays on uninterrupted,
//! every observation bounds the same offset, so we intersect their intervals (as NTP's clock
//! filter keeps its best samples) and take the middle of what is left: the estimate tightens with
//! each poll. An observation that does not fit the intersection means the player jumped (a seek,
//! a stall): the old ones are dropped.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Observations kept at most: a few suffice once their intervals overlap.
const MAX_SAMPLES: usize = 8;

#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Bounds of `position_ms − clock_ms`.
    lo: f64,
    hi: f64,
    received: Instant,
}

/// Estimates a playing item's position from successive observations.
#[derive(Debug)]
pub struct SyncFilter {
    epoch: Instant,
    window: Duration,
    samples: VecDeque<Sample>,
}

impl SyncFilter {
    /// `epoch` is any instant before the first observation; `window` ages observations out so a
    /// slowly drifting player is followed.
    pub fn new(epoch: Instant, window: Duration) -> Self {
        SyncFilter { epoch, window, samples: VecDeque::with_capacity(MAX_SAMPLES) }
    }

    /// Forgets every observation (new item, pause, seek).
    pub fn reset(&mut self) {
        self.samples.clear();
    }

    /// Adds an observation: `progress_ms` (whole milliseconds, rounded down, as Spotify sends it)
    /// was read between `sent` and `received`. Returns the estimated position at `received`, in
    /// milliseconds.
    pub fn observe(&mut self, progress_ms: u64, sent: Instant, received: Instant) -> f64 {
        let p = progress_ms as f64;
        let sample = Sample { lo: p - self.ms(received), hi: p + 1.0 - self.ms(sent), received };
        self.samples.retain(|s| received.saturating_duration_since(s.received) <= self.window);
        if self.samples.len() >= MAX_SAMPLES {
            self.samples.pop_front();
        }
        let (lo, hi) = self.bounds();
        if sample.lo.max(lo) > sample.hi.min(hi) {
            // It contradicts what we knew: the player moved on its own.
            self.samples.clear();
        }
        self.samples.push_back(sample);
        let (lo, hi) = self.bounds();
        ((lo + hi) / 2.0 + self.ms(received)).max(0.0)
    }

    /// Width of the current estimate's uncertainty, in milliseconds.
    pub fn uncertainty_ms(&self) -> f64 {
        let (lo, hi) = self.bounds();
        if self.samples.is_empty() {
            f64::INFINITY
        } else {
            hi - lo
        }
    }

    fn bounds(&self) -> (f64, f64) {
        self.samples
            .iter()
            .fold((f64::NEG_INFINITY, f64::INFINITY), |(lo, hi), s| (lo.max(s.lo), hi.min(s.hi)))
    }

    fn ms(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.epoch).as_secs_f64() * 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_observation_is_the_round_trip_midpoint() {
        let t0 = Instant::now();
        let mut f = SyncFilter::new(t0, Duration::from_secs(30));
        // Sent at 0, received at 100 ms, position 5000 read at some point between.
        let at_received = f.observe(5000, t0, t0 + Duration::from_millis(100));
        assert!((at_received - 5050.5).abs() < 1e-6, "{at_received}");
        assert!((f.uncertainty_ms() - 101.0).abs() < 1e-6);
    }

    #[test]
    fn overlapping_observations_narrow_the_estimate() {
        let t0 = Instant::now();
        let ms = |m: u64| t0 + Duration::from_millis(m);
        let mut f = SyncFilter::new(t0, Duration::from_secs(30));
        // Truth: position = clock + 10_000. First read early in its round trip, second late.
        f.observe(10_010, ms(0), ms(100));
        let est = f.observe(11_090, ms(1000), ms(1100));
        assert!((f.uncertainty_ms() - 21.0).abs() < 1e-6, "{}", f.uncertainty_ms());
        assert!((est - 11_100.0).abs() <= 11.0, "{est}");
    }

    #[test]
    fn a_jump_starts_over() {
        let t0 = Instant::now();
        let ms = |m: u64| t0 + Duration::from_millis(m);
        let mut f = SyncFilter::new(t0, Duration::from_secs(30));
        f.observe(10_050, ms(0), ms(100));
        // Seeked back 5 s.
        let est = f.observe(6_050, ms(1000), ms(1100));
        assert!((est - 6_100.5).abs() < 1e-6, "{est}");
    }

    #[test]
    fn old_observations_age_out() {
        let t0 = Instant::now();
        let ms = |m: u64| t0 + Duration::from_millis(m);
        let mut f = SyncFilter::new(t0, Duration::from_secs(1));
        f.observe(10_000, ms(0), ms(2));
        f.observe(12_000, ms(2000), ms(2100));
        assert!((f.uncertainty_ms() - 101.0).abs() < 1e-6);
    }
}
