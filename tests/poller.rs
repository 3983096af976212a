//! The poller against a scripted Web API.
//!
//! Most scenarios run over real HTTP on loopback in real time, with pacing shrunk ten-fold
//! ([`support::fast_timing`]); timing assertions there have slack for a busy machine. The
//! `virtual_*` scenarios run on tokio's paused clock through the fake's in-process transport,
//! where every instant is exact.

mod end_to_end;
mod faults;
mod playback;
mod virtual_clock;

use crate::support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::fake_api::{FakeApi, Reply, Request};
use support::truth::Truth;
use support::{drive, fast_options, fast_timing, http_poller, memory_poller, ms_between, Step, Tokens};
use td_spotify::api::client::now;
use td_spotify::schema::{Channel, Row, Status, CHANNEL_COUNT};

const FIXTURE_429: &str = include_str!("fixtures/player_429_retry_after.http");
const FIXTURE_403: &str = include_str!("fixtures/player_403_development_mode.http");
const FIXTURE_EPISODE: &str = include_str!("fixtures/player_episode.http");

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A responder that answers request number `n` (1-based) with `special(n)` when it returns one,
/// and otherwise reports `truth`.
fn with_specials(
    truth: Truth,
    start: Instant,
    special: impl Fn(usize) -> Option<Reply> + Send + 'static,
) -> impl FnMut(&Request) -> Reply + Send {
    let count = AtomicUsize::new(0);
    let mut report = Arc::new(truth).responder(start, 1);
    move |request| {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        special(n).unwrap_or_else(|| report(request))
    }
}

/// One long track, playing from the start.
fn one_track() -> Truth {
    Truth::new().track("A", 600_000).play_to_end(0, 0)
}

/// The shown names, with repeats collapsed.
fn name_sequence(steps: &[Step]) -> Vec<String> {
    let mut names: Vec<String> = steps.iter().map(|s| s.snapshot.row(Row::Name).to_owned()).collect();
    names.dedup();
    names
}

fn status_sequence(steps: &[Step]) -> Vec<Status> {
    let mut statuses: Vec<Status> = steps.iter().map(|s| s.snapshot.status).collect();
    statuses.dedup();
    statuses
}

/// Requests never come faster than the rate bound (arrival times carry a little jitter).
fn assert_rate_bound(requests: &[Request], min_ms: f64) {
    for pair in requests.windows(2) {
        let gap = ms_between(pair[0].at, pair[1].at);
        assert!(gap >= min_ms - 5.0, "requests {gap:.1} ms apart: {requests:#?}");
    }
}

/// Shown position (ms) at `t` given the steps so far.
fn shown_at(steps: &[Step], t: Instant) -> Option<(f64, &Step)> {
    let step = steps.iter().rev().find(|s| s.published <= t)?;
    Some((step.shown.position_at(t) * 1000.0, step))
}
