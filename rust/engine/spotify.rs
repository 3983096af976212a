//! The Spotify source: a login session and, once logged in, the Web API poller.
//!
//! The engine polls this source like any other. Each poll does the session's housekeeping
//! (finishing or expiring a login, refreshing the token before it runs out) and reports the
//! login in the `auth_state`, `auth_url`, `user` and `error` rows. `connected` is 1 while a
//! valid session exists.
//!
//! Once logged in, a call either polls the player (when the poller says it is due) or, between
//! polls, does the source's other work: the playing track's audio features (`features`) and
//! the DAT's tables ([`lists`]). Extra work never delays a player poll or the publication of a
//! new track: it runs in the engine's next call, which is asked for at once. Pulses become
//! player commands (`commands`).

mod commands;
mod features;
pub mod lists;

use std::time::{Duration, Instant};

use super::poller::{PollTiming, Poller};
use super::snapshot::{AuthRows, EngineState};
use super::source::{Source, Update};
use crate::api::client::{self, ApiClient, ClientOptions};
use crate::auth::{AuthState, AuthView, Session, SessionConfig};
use crate::config::{SourceConfig, SpotifyConfig};
use crate::model::playback::Playback;
use crate::model::{BoxFuture, Pulse};
use crate::schema::{Param, Status, PARAMS};
use features::TrackFeatures;
use lists::{ListFetcher, LIST_EVERY};

pub use commands::{NO_DEVICE, PREMIUM_NEEDED};

/// How often the source looks at a login in progress (so a finished login shows at once).
const LOGIN_TICK: Duration = Duration::from_millis(100);
/// How often it looks otherwise, until the poller sets its own pace.
const IDLE_TICK: Duration = Duration::from_secs(1);
/// How long a pulse's warning stays up.
const COMMAND_NOTE_FOR: Duration = Duration::from_secs(5);

/// Shortest time extras (features, lists) get when the player is due sooner.
const MIN_EXTRAS_WINDOW: Duration = Duration::from_millis(500);

/// Follows one Spotify account.
pub struct SpotifySource {
    /// The settings in force (Port and Pollinterval may change while it runs).
    config: SpotifyConfig,
    session: Session,
    /// Playback polling; `Err` holds why the API URL is unusable (shown as an error).
    poller: Result<Poller, String>,
    /// Whether the last poll found a session, so a new login polls at once.
    logged_in: bool,
    features: TrackFeatures,
    lists: ListFetcher,
    /// The playback last handed to the engine (features applied), to publish again when the
    /// features arrive and to know whether `Playpause` pauses or plays.
    shown: Option<Playback>,
    /// Whether playback runs after a `Playpause` the player poll has not confirmed yet, so a
    /// second `Playpause` undoes the first.
    assumed_playing: Option<bool>,
    /// A pulse's warning, until it expires.
    command_note: Option<(Instant, String)>,
}

impl std::fmt::Debug for SpotifySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpotifySource").field("session", &self.session).finish_non_exhaustive()
    }
}

impl SpotifySource {
    /// Opens the account's session (loading its saved login). Must run on the engine's runtime.
    pub fn new(config: &SpotifyConfig) -> SpotifySource {
        let floor = PARAMS[Param::Pollinterval as usize].min;
        let interval = config.poll_interval.max(Duration::from_secs_f64(floor));
        Self::with_timing(config, PollTiming::for_interval(interval), LIST_EVERY)
    }

    /// Like [`SpotifySource::new`] with other pacing (tests shrink it): `timing` for the player,
    /// `lists_every` for the queue, history and devices.
    pub fn with_timing(config: &SpotifyConfig, timing: PollTiming, lists_every: Duration) -> SpotifySource {
        let session = Session::new(SessionConfig::from_spotify(config), tokio::runtime::Handle::current());
        let poller = ApiClient::new(ClientOptions::from_config(config))
            .map(|client| Poller::with_client(client, timing))
            .map_err(|e| e.user_message());
        SpotifySource {
            config: config.clone(),
            session,
            poller,
            logged_in: false,
            features: TrackFeatures::default(),
            lists: ListFetcher::new(lists_every),
            shown: None,
            assumed_playing: None,
            command_note: None,
        }
    }

    /// The login session; it is also the API client's [`crate::api::TokenProvider`].
    pub fn session(&self) -> &Session {
        &self.session
    }
}

/// What a logged-in call works with.
struct Account<'a> {
    session: &'a Session,
    poller: &'a mut Poller,
    features: &'a mut TrackFeatures,
    lists: &'a mut ListFetcher,
    shown: &'a mut Option<Playback>,
}

impl Account<'_> {
    /// A logged-in poll: the player when due, otherwise features and lists when due. The flag
    /// says whether the player was asked.
    async fn poll(self, now: Instant) -> (Update, bool) {
        let Account { session, poller, features, lists, shown } = self;
        let client = poller.shared_client();
        let polling = poller.is_due(now);
        let mut update = poller.poll(session, now).await;
        if polling {
            if let Some(playback) = &mut update.playback {
                features.observe(playback, now);
                let changed = match (&playback.item, shown.as_ref().and_then(|s| s.item.as_ref())) {
                    (Some(new), Some(old)) => !new.same_item(old),
                    (new, old) => new.is_some() != old.is_some(),
                };
                if changed {
                    lists.item_changed(poller.timing().min_interval);
                }
                *shown = Some(playback.clone());
            }
        } else if extras_allowed(poller, now) {
            // Extras only fill the gap before the next player request: a hanging features or list
            // request is dropped when the player is due (and asked again in a later gap), so it
            // never delays a track change. Both are cancel-safe: nothing half-done is stored.
            let player_due = poller.due_at().unwrap_or(now).max(now + MIN_EXTRAS_WINDOW);
            if features.pending(now) {
                let fetched =
                    tokio::time::timeout_at(player_due.into(), features.fetch(&client, session, poller, now))
                        .await;
                if fetched == Ok(true) {
                    if let Some(playback) = shown.as_mut() {
                        features.apply(playback);
                        update.playback = Some(playback.clone());
                    }
                }
            }
            if extras_allowed(poller, now) && lists.due(now) {
                let _ =
                    tokio::time::timeout_at(player_due.into(), lists.refresh(&client, session, poller, now))
                        .await;
            }
        }
        if extras_allowed(poller, now) && (features.pending(now) || lists.due(now)) {
            // The extra work runs in the very next call, never inside this one's publication.
            update.next_poll = update.next_poll.min(now);
        }
        update.state.stats = poller.stats();
        update.state.lists = lists.lists();
        features.annotate(&mut update.state, now);
        (update, polling)
    }
}

/// Other calls wait while Spotify rate limits us or the poller backs off after errors.
fn extras_allowed(poller: &Poller, now: Instant) -> bool {
    poller.rate_limited_at(now).is_none() && !poller.backing_off()
}

impl Source for SpotifySource {
    fn name(&self) -> &'static str {
        "spotify"
    }

    fn poll(&mut self, now: Instant) -> BoxFuture<'_, Update> {
        Box::pin(async move {
            self.session.tick();
            let view = self.session.view();
            let state = auth_state(&view);
            let next_poll = match view.state {
                AuthState::WaitingForBrowser { .. } => now + LOGIN_TICK,
                _ => now + IDLE_TICK,
            };
            let logged_in = matches!(view.state, AuthState::LoggedIn { .. });
            let was_logged_in = std::mem::replace(&mut self.logged_in, logged_in);
            let poller = match &mut self.poller {
                Ok(poller) => poller,
                Err(why) => {
                    let state =
                        EngineState { status: Some(Status::Error), error: Some(why.clone()), ..state };
                    return Update { playback: Some(Playback::idle(now)), state, next_poll };
                }
            };
            if !logged_in {
                if was_logged_in {
                    poller.reset();
                    self.lists.reset();
                    self.shown = None;
                }
                let state = EngineState { stats: poller.stats(), ..state };
                return Update { playback: Some(Playback::idle(now)), state, next_poll };
            }
            if !was_logged_in {
                poller.poll_soon();
            }
            let account = Account {
                session: &self.session,
                poller,
                features: &mut self.features,
                lists: &mut self.lists,
                shown: &mut self.shown,
            };
            let (mut update, polled) = account.poll(now).await;
            if polled {
                self.assumed_playing = None;
            }
            if let Some((until, note)) = &self.command_note {
                if now < *until {
                    update.state.warning = Some(note.clone());
                } else {
                    self.command_note = None;
                }
            }
            merge_auth(&mut update.state, state);
            update
        })
    }

    fn configure(&mut self, config: &SourceConfig) {
        let SourceConfig::Spotify(new) = config else { return };
        if new.port != self.config.port {
            // The login server listens on the port: a new session binds the new one. The login
            // is on disk, so a logged-in account stays logged in; a login under way restarts.
            let was_waiting = matches!(self.session.view().state, AuthState::WaitingForBrowser { .. });
            self.session = Session::new(SessionConfig::from_spotify(new), tokio::runtime::Handle::current());
            if was_waiting {
                let _ = self.session.start_login();
            }
        }
        if new.poll_interval != self.config.poll_interval {
            if let Ok(poller) = &mut self.poller {
                let floor = PARAMS[Param::Pollinterval as usize].min;
                poller.set_interval(new.poll_interval.max(Duration::from_secs_f64(floor)));
            }
        }
        self.config = new.clone();
    }

    fn pulse(&mut self, pulse: Pulse) -> BoxFuture<'_, Option<String>> {
        Box::pin(async move {
            let note = match pulse {
                // Failures show in the session's view (and so in the rows and the error line).
                Pulse::Login => {
                    let _ = self.session.start_login();
                    return None;
                }
                Pulse::Logout => {
                    let _ = self.session.logout().await;
                    return None;
                }
                Pulse::ResetCounters => return None,
                Pulse::PlayPause | Pulse::Next | Pulse::Previous => self.command(pulse).await,
            };
            self.command_note = note.clone().map(|n| (client::now() + COMMAND_NOTE_FOR, n));
            note
        })
    }
}

impl SpotifySource {
    async fn command(&mut self, pulse: Pulse) -> Option<String> {
        let poller = match &mut self.poller {
            Ok(poller) => poller,
            Err(why) => return Some(why.clone()),
        };
        if !matches!(self.session.view().state, AuthState::LoggedIn { .. }) {
            return Some(format!("{pulse:?} needs a Spotify login: pulse Login first"));
        }
        let playing = self
            .assumed_playing
            .unwrap_or_else(|| self.shown.as_ref().is_some_and(|p| p.is_playing && p.item.is_some()));
        let client = poller.shared_client();
        let note = commands::send(pulse, playing, &client, &self.session, poller).await;
        if note.is_none() && pulse == Pulse::PlayPause {
            self.assumed_playing = Some(!playing);
        }
        note
    }
}

/// Puts the login's rows and `connected` onto the poller's state. The poller's own status,
/// warning and error (offline, rate limited…) win; the login's show when the poller has none.
fn merge_auth(polled: &mut EngineState, auth: EngineState) {
    polled.auth = auth.auth;
    polled.connected = auth.connected;
    if polled.error.is_none() {
        polled.error = auth.error;
    }
    if polled.warning.is_none() {
        polled.warning = auth.warning;
    }
}

/// Status, warning, error, `connected` and the auth rows for a login's view.
pub fn auth_state(view: &AuthView) -> EngineState {
    let mut state = EngineState::default();
    let mut rows = AuthRows { state: view.state.label().to_owned(), ..AuthRows::default() };
    match &view.state {
        AuthState::LoggedOut => {
            state.status = Some(Status::LoginRequired);
            state.status_text = Some("Login required: pulse Login".into());
            if view.problem.is_none() {
                state.warning = Some("Not logged in to Spotify: pulse Login.".into());
            }
        }
        AuthState::WaitingForBrowser { url } => {
            state.status = Some(Status::Connecting);
            state.status_text = Some("Waiting for the browser: finish logging in there".into());
            rows.url.clone_from(url);
        }
        AuthState::LoggedIn { user } => {
            state.connected = true;
            rows.user = user.clone().unwrap_or_default();
        }
        AuthState::LoginRequired { reason } => {
            state.status = Some(Status::LoginRequired);
            state.status_text = Some("Login required: pulse Login".into());
            rows.error.clone_from(reason);
        }
    }
    if let Some(problem) = &view.problem {
        rows.error.clone_from(problem);
        if view.needs_fix {
            state.status = Some(Status::Error);
            state.error = Some(problem.clone());
        } else {
            state.warning = Some(problem.clone());
        }
    }
    state.auth = Some(rows);
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::snapshot::Snapshot;
    use crate::schema::Row;

    fn snapshot(view: AuthView) -> Snapshot {
        Snapshot::build("spotify", Playback::idle(Instant::now()), &auth_state(&view), 0, 0)
    }

    #[test]
    fn views_map_to_rows_and_status() {
        let s = snapshot(AuthView {
            state: AuthState::LoggedOut,
            problem: None,
            needs_fix: false,
            last_login: None,
        });
        assert_eq!(s.status, Status::LoginRequired);
        assert_eq!(s.row(Row::AuthState), "logged out");
        assert!(!s.connected);
        assert!(s.warning.is_some());

        let url = "http://127.0.0.1:8888/login".to_owned();
        let s = snapshot(AuthView {
            state: AuthState::WaitingForBrowser { url: url.clone() },
            problem: None,
            needs_fix: false,
            last_login: None,
        });
        assert_eq!(s.status, Status::Connecting);
        assert_eq!(s.row(Row::AuthUrl), url);

        let s = snapshot(AuthView {
            state: AuthState::LoggedIn { user: Some("Ada".into()) },
            problem: None,
            needs_fix: false,
            last_login: None,
        });
        assert!(s.connected);
        assert_eq!(s.status, Status::Waiting);
        assert_eq!(s.row(Row::User), "Ada");
        assert_eq!(s.row(Row::Error), "");

        let s = snapshot(AuthView {
            state: AuthState::LoginRequired { reason: "pulse Login".into() },
            problem: Some("pulse Login".into()),
            needs_fix: false,
            last_login: None,
        });
        assert_eq!(s.status, Status::LoginRequired);
        assert_eq!(s.row(Row::AuthState), "login required");
        assert_eq!(s.row(Row::Error), "pulse Login");

        let s = snapshot(AuthView {
            state: AuthState::LoggedOut,
            problem: Some("Port 8888 is already in use".into()),
            needs_fix: true,
            last_login: None,
        });
        assert_eq!(s.status, Status::Error);
        assert_eq!(s.error.as_deref().and_then(|e| e.to_str().ok()), Some("Port 8888 is already in use"));
    }

    #[test]
    fn missing_client_id_is_a_red_error() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut source = SpotifySource::new(&SpotifyConfig::default());
            let update = source.poll(Instant::now()).await;
            assert_eq!(update.state.status, Some(Status::Error));
            assert!(update.state.error.unwrap().contains("Clientid"));
            assert!(!update.state.connected);
        });
    }
}
