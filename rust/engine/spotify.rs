//! The Spotify source: a login session and, once logged in, the Web API poller.
//!
//! The engine polls this source like any other. Each poll does the session's housekeeping
//! (finishing or expiring a login, refreshing the token before it runs out) and reports the
//! login in the `auth_state`, `auth_url`, `user` and `error` rows. `connected` is 1 while a
//! valid session exists.

use std::time::{Duration, Instant};

use super::playback::Playback;
use super::poller::Poller;
use super::snapshot::{AuthRows, EngineState};
use super::source::{BoxFuture, Pulse, Source, Update};
use crate::auth::{AuthState, AuthView, Session, SessionConfig};
use crate::config::SpotifyConfig;
use crate::schema::Status;

/// How often the source looks at a login in progress (so a finished login shows at once).
const LOGIN_TICK: Duration = Duration::from_millis(100);
/// How often it looks otherwise, until the poller sets its own pace.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// Follows one Spotify account.
pub struct SpotifySource {
    session: Session,
    /// Playback polling; `Err` holds why the API URL is unusable (shown as an error).
    poller: Result<Poller, String>,
    /// Whether the last poll found a session, so a new login polls at once.
    logged_in: bool,
}

impl std::fmt::Debug for SpotifySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpotifySource").field("session", &self.session).finish()
    }
}

impl SpotifySource {
    /// Opens the account's session (loading its saved login). Must run on the engine's runtime.
    pub fn new(config: &SpotifyConfig) -> SpotifySource {
        let session = Session::new(SessionConfig::from_spotify(config), tokio::runtime::Handle::current());
        let poller = Poller::new(config).map_err(|e| e.user_message());
        SpotifySource { session, poller, logged_in: false }
    }

    /// The login session; it is also the API client's [`crate::api::TokenProvider`].
    pub fn session(&self) -> &Session {
        &self.session
    }
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
                }
                let state = EngineState { stats: poller.stats(), ..state };
                return Update { playback: Some(Playback::idle(now)), state, next_poll };
            }
            if !was_logged_in {
                poller.poll_soon();
            }
            let mut update = poller.poll(&self.session, now).await;
            merge_auth(&mut update.state, state);
            update
        })
    }

    fn pulse(&mut self, pulse: Pulse) -> BoxFuture<'_, Option<String>> {
        Box::pin(async move {
            match pulse {
                // Failures show in the session's view (and so in the rows and the error line).
                Pulse::Login => {
                    let _ = self.session.start_login();
                    None
                }
                Pulse::Logout => {
                    let _ = self.session.logout().await;
                    None
                }
                Pulse::ResetCounters => None,
                other => Some(format!("{other:?} does nothing yet with the Spotify source")),
            }
        })
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
