//! Follows the Web API's playback state: adaptive polling, smooth position, fault tolerance.
//!
//! The Spotify source owns a [`Poller`] and the login session and calls
//! [`Poller::poll`] whenever the engine asks it to:
//!
//! ```ignore
//! fn poll(&mut self, now: Instant) -> BoxFuture<'_, Update> {
//!     Box::pin(async move { self.poller.poll(&*self.session, now).await })
//! }
//! ```
//!
//! Each call makes at most one logical request (two after a 401: refresh, retry once) and
//! returns an [`Update`] carrying everything to publish and `next_poll`, the instant the poller
//! wants to be called again. The update's state holds the poller's part (status, warning,
//! error, connected, cumulative stats); the source adds its own (`auth_state`, `lists`) before
//! handing it to the engine. Called earlier (a pulse woke the engine), it makes no request and
//! returns the current state with the same `next_poll`; call [`Poller::poll_soon`] first to ask
//! for fresh data as soon as the rate bound allows (after a playback command or a new login).
//!
//! # Pacing
//! Brisk while playing, slower while paused or idle (see [`PollTiming::for_interval`]). A poll is
//! scheduled just after the playing item's predicted end, so the next one shows within a round
//! trip. Errors back off exponentially with jitter; a 429's `Retry-After` is honoured to the
//! millisecond. No request ever starts sooner than `min_interval` (`Pollinterval`) after the
//! previous one.
//!
//! # Position
//! The published [`Playback`] anchors `progress_ms` at `observed_at` on the monotonic clock,
//! estimated from the request's round trip ([`sync`]); readers extrapolate it every frame.
//! A small disagreement with what readers were showing is absorbed by a [`Slew`] (the position
//! briefly runs a little faster or slower, never backwards); a large one (a seek) jumps.
//!
//! # Faults
//! Transport errors, timeouts and 5xx show `Offline — retrying in 8 s` and keep the last good
//! playback; a malformed body keeps it too, with a warning; 429 waits exactly as asked; a 401
//! that survives a refresh, or a session that cannot refresh, shows `Login required`; a 403
//! explains Development Mode's user list. Every case recovers by itself once the cause is gone.

mod schedule;
pub mod sync;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;

pub use schedule::{PollTiming, Smoothing};

use super::snapshot::EngineState;
use super::source::Update;
use crate::api::client::{self, ApiClient, ClientOptions, Exchange};
use crate::api::error::{seconds, ApiError, ErrorClass};
use crate::api::models::CurrentPlayback;
use crate::api::TokenProvider;
use crate::config::SpotifyConfig;
use crate::model::playback::{Playback, Slew};
use crate::model::Stats;
use crate::schema::{Param, Status, PARAMS};
use sync::SyncFilter;

/// Follows one account's playback. Owned by the Spotify source; one request in flight at most.
pub struct Poller {
    client: Arc<ApiClient>,
    timing: PollTiming,
    rng: StdRng,
    sync: SyncFilter,
    /// The playback last handed out, which readers are extrapolating now.
    shown: Playback,
    /// What the engine should show besides the playback; handed out with every update.
    state: EngineState,
    /// Consecutive failed polls (drives the backoff).
    failures: u32,
    /// Track-end polls spent on the current item.
    end_polls: u32,
    /// When the next request is due; `None`: at the next call.
    due: Option<Instant>,
    /// When the last request started (the rate bound counts from here).
    last_sent: Option<Instant>,
    /// Spotify's last `Retry-After` ends here: nothing may ask sooner.
    rate_limited_until: Option<Instant>,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("client", &self.client)
            .field("timing", &self.timing)
            .field("failures", &self.failures)
            .field("due", &self.due)
            .finish_non_exhaustive()
    }
}

impl Poller {
    /// A poller for `config`'s Web API at `config`'s poll interval, over HTTPS.
    /// The interval is floored at the `Pollinterval` parameter's minimum, whoever built `config`.
    pub fn new(config: &SpotifyConfig) -> Result<Poller, ApiError> {
        let client = ApiClient::new(ClientOptions::from_config(config))?;
        let floor = PARAMS[Param::Pollinterval as usize].min;
        let interval = config.poll_interval.max(Duration::from_secs_f64(floor));
        Ok(Poller::with_client(client, PollTiming::for_interval(interval)))
    }

    /// A poller over any client (tests and simulations shrink the timing).
    pub fn with_client(client: ApiClient, timing: PollTiming) -> Poller {
        let now = client::now();
        let window = timing.smoothing.map_or(Duration::from_secs(30), |s| s.window);
        let rng = match timing.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        Poller {
            client: Arc::new(client),
            rng,
            sync: SyncFilter::new(now, window),
            shown: Playback::idle(now),
            state: EngineState::default(),
            failures: 0,
            end_polls: 0,
            due: None,
            last_sent: None,
            rate_limited_until: None,
            timing,
        }
    }

    pub fn timing(&self) -> &PollTiming {
        &self.timing
    }

    /// Applies a new `Pollinterval`: the pacing derived from it changes from the next request
    /// on (a request already scheduled keeps its time unless the new bound allows it sooner).
    pub fn set_interval(&mut self, interval: Duration) {
        let fresh = PollTiming::for_interval(interval);
        self.timing.min_interval = fresh.min_interval;
        self.timing.playing = fresh.playing;
        self.timing.paused = fresh.paused;
        self.timing.idle = fresh.idle;
        self.timing.backoff_base = fresh.backoff_base;
        if let (Some(due), Some(sent)) = (self.due, self.last_sent) {
            let sooner = sent + self.timing.playing.max(self.timing.min_interval);
            if sooner < due
                && self.rate_limited_until.is_none_or(|until| until <= sooner)
                && self.failures == 0
            {
                self.due = Some(sooner);
            }
        }
    }

    /// The Web API client, for the source's other calls (player commands, queue…).
    pub fn client(&self) -> &ApiClient {
        &self.client
    }

    /// The Web API client, to use while the poller itself is borrowed mutably.
    pub fn shared_client(&self) -> Arc<ApiClient> {
        Arc::clone(&self.client)
    }

    /// Counters so far (also in every update's state).
    pub fn stats(&self) -> Stats {
        self.state.stats
    }

    /// Asks for fresh data at the next call, as soon as the rate bound (and a pending
    /// `Retry-After`) allows. Call it after sending a playback command or after a new login.
    pub fn poll_soon(&mut self) {
        let rate_bound = self.last_sent.map(|s| s + self.timing.min_interval);
        self.due = rate_bound.max(self.rate_limited_until);
    }

    /// Forgets what was playing and any backoff (after a logout); counters are kept.
    pub fn reset(&mut self) {
        let now = client::now();
        self.sync.reset();
        self.shown = Playback::idle(now);
        self.state = EngineState { stats: self.state.stats, ..EngineState::default() };
        self.failures = 0;
        self.end_polls = 0;
        self.due = self.rate_limited_until;
    }

    /// Polls Spotify if a request is due at `now`, and says what to publish and when to call
    /// again. Never hangs: the request is bounded by the client's timeouts.
    ///
    /// Cancel-safe: dropping the future mid-request leaves the poller as it was, and the next call
    /// simply asks again.
    pub async fn poll(&mut self, tokens: &dyn TokenProvider, now: Instant) -> Update {
        if let Some(due) = self.due.filter(|&due| now < due) {
            return Update { playback: None, state: self.state.clone(), next_poll: due };
        }
        // The rate bound counts from the attempt, so even a cancelled one (the engine drops this
        // future when a pulse wakes it) spaces the next.
        self.last_sent = Some(client::now());
        let exchange = self.client.current_playback(tokens).await;
        self.count(&exchange);
        let Exchange { result, sent_at, received_at, .. } = exchange;
        let (playback, next) = match result {
            Ok(answer) => self.on_answer(answer, sent_at, received_at),
            Err(error) => self.on_error(&error, sent_at, received_at),
        };
        self.due = Some(next);
        Update { playback, state: self.state.clone(), next_poll: next }
    }

    /// Counts a call the source made besides the poll (a command, a list, features) in the
    /// counters every update carries.
    pub fn count<T>(&mut self, exchange: &Exchange<T>) {
        exchange.count_in(&mut self.state.stats);
    }

    /// Replaces the counters (the source counted its other calls into a copy).
    pub fn set_stats(&mut self, stats: Stats) {
        self.state.stats = stats;
    }

    /// Whether [`Poller::poll`] would make a request at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        self.due.is_none_or(|due| now >= due)
    }

    /// When the next player request is due (`None`: at the next call).
    pub fn due_at(&self) -> Option<Instant> {
        self.due
    }

    /// Until when Spotify asked us not to call (`Retry-After`), if that is still ahead of `now`.
    pub fn rate_limited_at(&self, now: Instant) -> Option<Instant> {
        self.rate_limited_until.filter(|&until| until > now)
    }

    /// Whether the last poll failed and the poller is backing off: other calls wait too.
    pub fn backing_off(&self) -> bool {
        self.failures > 0
    }

    /// Another call was answered 429: Spotify's limit is per app, so the poll waits as well.
    pub fn rate_limited_until(&mut self, until: Instant) {
        self.rate_limited_until = self.rate_limited_until.max(Some(until));
        self.due = self.due.max(Some(until));
    }

    /// A good answer (`None`: 204, nothing playing).
    fn on_answer(
        &mut self,
        answer: Option<CurrentPlayback>,
        sent: Instant,
        received: Instant,
    ) -> (Option<Playback>, Instant) {
        self.failures = 0;
        let mut playback = match answer {
            Some(answer) => answer.to_playback(received),
            None => Playback::idle(received),
        };
        let same_item = match (&playback.item, &self.shown.item) {
            (Some(new), Some(old)) => new.same_item(old),
            _ => false,
        };
        if !same_item {
            self.end_polls = 0;
        }
        self.anchor(&mut playback, sent, received, same_item);
        let end_poll_allowed = self.end_polls < self.timing.end_polls_per_item;
        let (next, is_end_poll) = schedule::after_success(&self.timing, sent, &playback, end_poll_allowed);
        self.end_polls += u32::from(is_end_poll);
        self.state = EngineState { connected: true, stats: self.state.stats, ..EngineState::default() };
        self.shown = playback.clone();
        (Some(playback), next)
    }

    /// Places the observation on our clock and, if it is a small correction of what readers
    /// show, arranges for it to be absorbed smoothly.
    fn anchor(&mut self, playback: &mut Playback, sent: Instant, received: Instant, same_item: bool) {
        let Some(smoothing) = self.timing.smoothing else { return };
        if playback.item.is_none() || !playback.is_playing {
            self.sync.reset();
            return;
        }
        let continuing = same_item && self.shown.is_playing;
        if !continuing {
            self.sync.reset();
        }
        let position_ms = self.sync.observe(playback.progress_ms, sent, received);
        // Whole milliseconds, dated so that the fraction is not lost.
        let whole = position_ms.floor();
        playback.progress_ms = whole as u64;
        playback.observed_at = received
            .checked_sub(std::time::Duration::from_secs_f64((position_ms - whole) / 1000.0))
            .unwrap_or(received);
        if !continuing {
            return;
        }
        let at = client::now();
        let error_ms = self.shown.position_at(at) * 1000.0 - playback.true_position_ms(at);
        if error_ms.abs() >= 0.5 && error_ms.abs() <= smoothing.snap_threshold.as_secs_f64() * 1000.0 {
            playback.slew = Some(Slew::new(error_ms, at, smoothing.slew_speed, smoothing.slew_min));
        }
    }

    /// A failed poll: say what is wrong, keep what can be kept, decide when to retry.
    fn on_error(
        &mut self,
        error: &ApiError,
        sent: Instant,
        received: Instant,
    ) -> (Option<Playback>, Instant) {
        let stats = self.state.stats;
        let rate_bound = self.last_sent.unwrap_or(sent).min(sent) + self.timing.min_interval;
        let message = error.user_message();
        match error.class() {
            ErrorClass::RateLimited => {
                let delay = match error {
                    ApiError::RateLimited { retry_after: Some(after) } => *after,
                    _ => self.backoff(),
                };
                let next = (received + delay).max(rate_bound);
                self.rate_limited_until = Some(next);
                let warning = match error {
                    ApiError::RateLimited { retry_after: Some(_) } => message,
                    _ => format!("{message} — retrying in {}", seconds(next - received)),
                };
                // Spotify is there and we are logged in: keep showing (and extrapolating) playback.
                self.state =
                    EngineState { connected: true, warning: Some(warning), stats, ..EngineState::default() };
                (None, next)
            }
            ErrorClass::Malformed => {
                let next = (received + self.backoff()).max(rate_bound);
                let warning = format!("{message} — retrying in {}", seconds(next - received));
                self.state =
                    EngineState { connected: true, warning: Some(warning), stats, ..EngineState::default() };
                (None, next)
            }
            ErrorClass::Offline => {
                let next = (received + self.backoff()).max(rate_bound);
                let retry = seconds(next - received);
                self.state = EngineState {
                    status: Some(Status::Offline),
                    status_text: Some(format!("Offline — retrying in {retry}")),
                    warning: Some(format!("{message} — retrying in {retry}")),
                    connected: false,
                    stats,
                    ..EngineState::default()
                };
                (None, next)
            }
            ErrorClass::Login => {
                self.failures = 0;
                self.state = EngineState {
                    status: Some(Status::LoginRequired),
                    error: Some(message),
                    stats,
                    ..EngineState::default()
                };
                (Some(self.blank(received)), (received + self.timing.login_retry).max(rate_bound))
            }
            ErrorClass::Fatal => {
                let next = (received + self.backoff()).max(rate_bound);
                self.state = EngineState {
                    status: Some(Status::Error),
                    error: Some(format!("{message} — retrying in {}", seconds(next - received))),
                    stats,
                    ..EngineState::default()
                };
                (Some(self.blank(received)), next)
            }
        }
    }

    /// Counts a failure and returns the delay before the next attempt.
    fn backoff(&mut self) -> Duration {
        self.failures += 1;
        schedule::backoff(&self.timing, self.failures, &mut self.rng)
    }

    /// Nothing to show (login refused, access forbidden): stale playback would mislead.
    fn blank(&mut self, at: Instant) -> Playback {
        self.sync.reset();
        self.shown = Playback::idle(at);
        self.shown.clone()
    }
}
