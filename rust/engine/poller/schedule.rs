//! When to ask next: adaptive intervals, the track-end poll, backoff with jitter.

use std::time::{Duration, Instant};

use rand::Rng;

use crate::model::playback::Playback;

/// How the poller paces itself and smooths what it sees. [`PollTiming::for_interval`] is the
/// plugin's; tests shrink everything to keep the suite fast.
#[derive(Debug, Clone, PartialEq)]
pub struct PollTiming {
    /// The fastest rate (the `Pollinterval` parameter): no request starts sooner than this after
    /// the previous one, whatever else asks for it.
    pub min_interval: Duration,
    /// Between requests while an item plays.
    pub playing: Duration,
    /// While an item is paused.
    pub paused: Duration,
    /// While nothing plays (204, or no item).
    pub idle: Duration,
    /// Ask this long after the playing item's predicted end, so the next one shows at once;
    /// `None` disables track-end polls.
    pub end_margin: Option<Duration>,
    /// Track-end polls allowed per item; a player stuck at the end of an item must not keep the
    /// poller at its fastest rate.
    pub end_polls_per_item: u32,
    /// First delay after an error; it doubles per consecutive error up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Each backoff delay is spread by ± this fraction so many clients do not retry in step.
    pub jitter: f64,
    /// How often to try again while the login is refused (a new login wakes the poller anyway).
    pub login_retry: Duration,
    /// Position smoothing; `None` takes `progress_ms` at face value when the answer arrives.
    pub smoothing: Option<Smoothing>,
    /// Seed of the jitter, for reproducible tests; `None` seeds from the OS.
    pub seed: Option<u64>,
}

/// How observed positions become a smooth shown position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Smoothing {
    /// Corrections larger than this are seeks: the shown position jumps.
    pub snap_threshold: Duration,
    /// Smaller corrections are absorbed with the shown position running at most this fraction
    /// faster or slower than real time.
    pub slew_speed: f64,
    /// … and over at least this long.
    pub slew_min: Duration,
    /// Observations older than this no longer narrow the position estimate.
    pub window: Duration,
}

impl Default for Smoothing {
    fn default() -> Self {
        Smoothing {
            snap_threshold: Duration::from_millis(1000),
            slew_speed: 0.25,
            slew_min: Duration::from_millis(250),
            window: Duration::from_secs(30),
        }
    }
}

impl PollTiming {
    /// The plugin's pacing for a `Pollinterval` of `min_interval`: every 3.5 intervals while
    /// playing, 4 while paused, 5 while idle, 15 ms after each predicted track end, and
    /// exponential backoff from one interval up to a minute on errors.
    ///
    /// The track-end poll leaves so small a margin because the answer describes the player when
    /// the request *arrives*, a one-way trip after it was sent: sent at the end, it already sees
    /// the next item, and the change shows one round trip after it happened. The margin only
    /// absorbs the error of the predicted end (a few milliseconds, see [`super::sync`]). The
    /// playing interval is what a skip on the phone waits for (half of it on average); 3.5 keeps
    /// that under 2 s at the default `Pollinterval` with under 30 % of 1 s polling's requests
    /// (`cargo bench --bench poller`).
    pub fn for_interval(min_interval: Duration) -> Self {
        PollTiming {
            min_interval,
            playing: min_interval.mul_f64(3.5),
            paused: min_interval * 4,
            idle: min_interval * 5,
            end_margin: Some(Duration::from_millis(15)),
            end_polls_per_item: 3,
            backoff_base: min_interval,
            backoff_max: Duration::from_secs(60).max(min_interval),
            jitter: 0.2,
            login_retry: Duration::from_secs(30).max(min_interval),
            smoothing: Some(Smoothing::default()),
            seed: None,
        }
    }

    /// Plain fixed-rate polling with positions taken at face value: the baseline the benchmark
    /// compares against.
    pub fn fixed(interval: Duration) -> Self {
        PollTiming {
            playing: interval,
            paused: interval,
            idle: interval,
            end_margin: None,
            smoothing: None,
            ..PollTiming::for_interval(interval)
        }
    }
}

/// When to poll after a successful answer to a request sent at `sent`, and whether that is a
/// track-end poll. `end_poll_allowed` is false once the item has used its track-end polls.
///
/// Intervals count from the send, so a fixed interval is a fixed request rate whatever the
/// latency.
pub fn after_success(
    timing: &PollTiming,
    sent: Instant,
    playback: &Playback,
    end_poll_allowed: bool,
) -> (Instant, bool) {
    let playing = playback.is_playing && playback.item.is_some();
    let interval = match (&playback.item, playing) {
        (Some(_), true) => timing.playing,
        (Some(_), false) => timing.paused,
        (None, _) => timing.idle,
    };
    let mut next = sent + interval;
    let mut is_end_poll = false;
    let end = playback.predicted_end().filter(|_| playback.item.as_ref().is_some_and(|i| i.duration_ms > 0));
    if let (true, true, Some(margin), Some(end)) = (playing, end_poll_allowed, timing.end_margin, end) {
        let target = end + margin;
        if target <= next {
            // The item ends before the regular poll: ask just after its end instead.
            next = target;
            is_end_poll = true;
        } else if target < next + timing.min_interval {
            // The regular poll would come so close before the end that the end poll would have
            // to wait for the rate bound: move the regular one earlier so both fit.
            next = target.checked_sub(timing.min_interval).unwrap_or(next);
        }
    }
    (next.max(sent + timing.min_interval), is_end_poll)
}

/// Delay before retry number `failures` (1 for the first error): exponential, capped, jittered,
/// never below the rate bound.
pub fn backoff(timing: &PollTiming, failures: u32, rng: &mut impl Rng) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    let nominal = timing.backoff_base.saturating_mul(1 << doublings).min(timing.backoff_max);
    let spread = if timing.jitter > 0.0 { rng.gen_range(-timing.jitter..=timing.jitter) } else { 0.0 };
    nominal.mul_f64((1.0 + spread).max(0.0)).max(timing.min_interval)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::playback::Item;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn playing(progress_ms: u64, duration_ms: u64, at: Instant) -> Playback {
        Playback {
            item: Some(Item { uri: "spotify:track:x".into(), duration_ms, ..Item::default() }),
            is_playing: true,
            progress_ms,
            observed_at: at,
            ..Playback::idle(at)
        }
    }

    fn timing() -> PollTiming {
        PollTiming { seed: Some(1), ..PollTiming::for_interval(Duration::from_secs(1)) }
    }

    #[test]
    fn playing_polls_every_three_and_a_half_intervals() {
        let t = Instant::now();
        let (next, end) = after_success(&timing(), t, &playing(0, 60_000, t), true);
        assert_eq!(next - t, Duration::from_millis(3500));
        assert!(!end);
    }

    #[test]
    fn an_end_inside_the_interval_is_polled_just_after() {
        let t = Instant::now();
        let (next, end) = after_success(&timing(), t, &playing(58_000, 60_000, t), true);
        assert_eq!(next - t, Duration::from_millis(2015));
        assert!(end);
        // Not allowed any more: the regular interval.
        let (next, _) = after_success(&timing(), t, &playing(58_000, 60_000, t), false);
        assert_eq!(next - t, Duration::from_millis(3500));
    }

    #[test]
    fn a_regular_poll_just_before_the_end_moves_earlier() {
        let t = Instant::now();
        // End + margin at 3.815 s: the poll at 3.5 s would leave only 0.315 s before it.
        let (next, end) = after_success(&timing(), t, &playing(56_200, 60_000, t), true);
        assert_eq!(next - t, Duration::from_millis(2815));
        assert!(!end);
    }

    #[test]
    fn the_rate_bound_wins() {
        let t = Instant::now();
        let (next, _) = after_success(&timing(), t, &playing(59_990, 60_000, t), true);
        assert_eq!(next - t, Duration::from_secs(1));
    }

    #[test]
    fn paused_and_idle_are_slower() {
        let t = Instant::now();
        let paused = Playback { is_playing: false, ..playing(1000, 60_000, t) };
        assert_eq!(after_success(&timing(), t, &paused, true).0 - t, Duration::from_secs(4));
        assert_eq!(after_success(&timing(), t, &Playback::idle(t), true).0 - t, Duration::from_secs(5));
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let timing = timing();
        let mut rng = StdRng::seed_from_u64(7);
        for (failures, nominal) in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (7, 60.0), (40, 60.0)] {
            for _ in 0..50 {
                let d = backoff(&timing, failures, &mut rng).as_secs_f64();
                assert!(d >= nominal * 0.8 - 1e-9 && d <= nominal * 1.2 + 1e-9, "{failures}: {d}");
            }
        }
    }
}
