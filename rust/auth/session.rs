//! One account's login, as the engine and the CLI use it.
//!
//! A [`Session`] owns the saved tokens, the loopback server while a login is in progress, and
//! what the user should see ([`AuthView`]). It needs a tokio runtime (the engine's, or the
//! CLI's): the code exchange and every refresh run as tasks on it, so a caller that gives up
//! half-way (the engine cancels a poll when a pulse arrives) can never lose a rotated refresh
//! token that the server already issued.
//!
//! Threads: the loopback server's thread only checks the callback and hands the code over; the
//! server is stopped and joined when the login ends, on logout and on drop.

mod callback;
mod login;
mod refresh;
mod view;

pub use login::LoginStart;
pub use view::{AuthState, AuthView, LoginOutcome};

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use tokio::runtime::Handle;
use tokio::sync::watch;

use super::flows::{PendingFlows, FLOW_LIFETIME};
use super::loopback::LoopbackServer;
use super::oauth::{self, Endpoints};
use super::secret::AccessToken;
use super::store::{TokenRecord, TokenStore};
use super::AuthError;
use crate::api::{TokenError, TokenProvider};
use crate::config::SpotifyConfig;
use crate::model::BoxFuture;

/// A login that could not be saved is saved again this often (it stays in memory meanwhile).
const SAVE_RETRY: Duration = Duration::from_secs(5);

/// What a session needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    pub client_id: String,
    /// Loopback port; 0 (Auto) picks a free one at each login, for an app that registered
    /// `http://127.0.0.1/callback` without a port.
    pub port: u16,
    /// Token store directory; `None` is the OS's per-user config directory.
    pub cache_dir: Option<PathBuf>,
    pub accounts_url: String,
    pub api_url: String,
    /// Open the system browser on [`Session::start_login`].
    pub open_browser: bool,
    /// Total time allowed for each request to Spotify.
    pub request_timeout: Duration,
}

impl SessionConfig {
    /// The session of a TouchDesigner operator or a CLI command. The environment variable
    /// `TD_SPOTIFY_NO_BROWSER` (any value) stops Login from opening a browser, for machines
    /// without one: the `auth_url` row still offers the link.
    ///
    /// The base URLs come from `config`, which already honours `TD_SPOTIFY_ACCOUNTS_URL` and
    /// `TD_SPOTIFY_API_URL` (`SpotifyConfig::from_env` for operators, clap for the CLI).
    pub fn from_spotify(config: &SpotifyConfig) -> SessionConfig {
        SessionConfig {
            client_id: config.client_id.trim().to_owned(),
            port: config.port,
            cache_dir: config.cache_dir.clone(),
            accounts_url: config.accounts_url.clone(),
            api_url: config.api_url.clone(),
            open_browser: std::env::var_os("TD_SPOTIFY_NO_BROWSER").is_none(),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// One account's login. Dropping it stops the loopback server; the saved tokens stay.
pub struct Session {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("client_id", &self.inner.config.client_id)
            .field("view", &*self.inner.view.borrow())
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: SessionConfig,
    endpoints: Option<Endpoints>,
    store: Option<TokenStore>,
    http: reqwest::Client,
    runtime: Handle,
    tokens: Arc<tokio::sync::Mutex<Option<TokenRecord>>>,
    view: watch::Sender<AuthView>,
    login: Mutex<LoginAttempt>,
    /// No proactive refresh before this instant (after a transient failure).
    refresh_not_before: Mutex<Option<Instant>>,
    /// The login in memory is newer than the file (a save failed): saved again from this
    /// instant on. Until then the file is never allowed to win over it.
    unsaved: Mutex<Option<Instant>>,
    /// Bumped by logout: an exchange that started before it must not log back in.
    generation: AtomicU64,
    /// Time from the `/callback` request to the token saved, for the last login.
    last_login_latency: Mutex<Option<Duration>>,
}

#[derive(Default)]
struct LoginAttempt {
    server: Option<LoopbackServer>,
    /// Servers asked to stop, joined on the next occasion (never from their own thread).
    retired: Vec<LoopbackServer>,
    flows: PendingFlows,
    redirect_uri: String,
    /// The state to go back to if this attempt fails.
    before: Option<AuthState>,
    /// A code is being exchanged: the attempt cannot time out now.
    exchanging: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Session {
    /// Opens the session for `config.client_id`, loading its saved login if there is one.
    /// `runtime` runs the exchange and refreshes. Problems (no client id, an unreadable token
    /// file…) do not fail: they show in [`Session::view`].
    pub fn new(config: SessionConfig, runtime: Handle) -> Session {
        let endpoints = Endpoints::new(&config.accounts_url, &config.api_url);
        let store = TokenStore::new(config.cache_dir.as_deref(), &config.client_id);
        let mut tokens = None;
        let mut view = AuthView::new(AuthState::LoggedOut);
        let problem = if config.client_id.is_empty() {
            Some(AuthError::MissingClientId)
        } else {
            match (&endpoints, &store) {
                (Err(e), _) => Some(clone_config_error(e)),
                (_, Err(_)) => Some(AuthError::NoStoreDir),
                (Ok(_), Ok(store)) => match store.load(&config.client_id) {
                    Ok(Some(record)) => {
                        view.state = AuthState::LoggedIn { user: record.user.clone() };
                        tokens = Some(record);
                        None
                    }
                    Ok(None) => None,
                    Err(e) => Some(e),
                },
            }
        };
        if let Some(e) = problem {
            tracing::warn!(error = %e, "Spotify login unavailable");
            view.problem = Some(e.user_message());
            view.needs_fix = e.needs_user_fix();
        }
        let inner = Inner {
            http: oauth::http_client(config.request_timeout),
            endpoints: endpoints.ok(),
            store: store.ok(),
            config,
            runtime,
            tokens: Arc::new(tokio::sync::Mutex::new(tokens)),
            view: watch::Sender::new(view),
            login: Mutex::new(LoginAttempt::default()),
            refresh_not_before: Mutex::new(None),
            unsaved: Mutex::new(None),
            generation: AtomicU64::new(0),
            last_login_latency: Mutex::new(None),
        };
        Session { inner: Arc::new(inner) }
    }

    /// What the user should see now.
    pub fn view(&self) -> AuthView {
        self.inner.view.borrow().clone()
    }

    /// Where the login stands.
    pub fn state(&self) -> AuthState {
        self.inner.view.borrow().state.clone()
    }

    /// Changes of [`Session::view`], for waiting on a login.
    pub fn subscribe(&self) -> watch::Receiver<AuthView> {
        self.inner.view.subscribe()
    }

    /// The token file of this account, if there is a store.
    pub fn store_path(&self) -> Option<PathBuf> {
        self.inner.store.as_ref().map(|s| s.path().to_path_buf())
    }

    /// Time from the last `/callback` request to its tokens being saved.
    pub fn last_login_latency(&self) -> Option<Duration> {
        *lock(&self.inner.last_login_latency)
    }

    /// Unix time at which the current access token expires, if logged in.
    pub async fn expires_at(&self) -> Option<u64> {
        self.inner.tokens.lock().await.as_ref().map(|r| r.expires_at)
    }

    /// Starts a login: the loopback server listens (if it was not already), a new state and
    /// PKCE pair are made, and the browser opens at Spotify's authorize page (when the config
    /// says so). A login already saved stays in use until the new one succeeds.
    pub fn start_login(&self) -> Result<LoginStart, AuthError> {
        let result = self.inner.start_login(true);
        if let Err(e) = &result {
            self.inner.set_problem(e);
        }
        result
    }

    /// Forgets the login: cancels one in progress, deletes the saved tokens.
    pub async fn logout(&self) -> Result<(), AuthError> {
        let inner = &self.inner;
        inner.generation.fetch_add(1, Ordering::AcqRel);
        inner.cancel_attempt();
        let mut tokens = inner.tokens.lock().await;
        *tokens = None;
        *lock(&inner.unsaved) = None;
        let removed = inner.store.as_ref().map_or(Ok(()), TokenStore::remove);
        drop(tokens);
        inner.view.send_modify(|v| {
            *v = AuthView::new(AuthState::LoggedOut);
            if let Err(e) = &removed {
                v.problem = Some(e.user_message());
                v.needs_fix = true;
            }
        });
        tracing::info!("logged out of Spotify");
        removed
    }

    /// Housekeeping, called regularly by the engine (and the CLI while it waits): joins
    /// stopped servers, expires a login left unfinished for 10 minutes, and refreshes the access
    /// token in the background before it expires.
    pub fn tick(&self) {
        self.tick_at(Instant::now());
    }

    pub(crate) fn tick_at(&self, now: Instant) {
        let inner = &self.inner;
        inner.reap();
        let timed_out = {
            let mut login = lock(&inner.login);
            // Over only when the last pending login expired and no code is being exchanged.
            let expired = login.flows.expire(now);
            login.server.is_some() && !login.exchanging && expired > 0 && login.flows.is_empty()
        };
        if timed_out {
            inner.fail_attempt(&AuthError::LoginTimedOut { minutes: FLOW_LIFETIME.as_secs() / 60 });
            inner.reap();
        }
        let in_backoff = lock(&inner.refresh_not_before).is_some_and(|t| Instant::now() < t);
        if in_backoff {
            return;
        }
        if let Ok(guard) = Arc::clone(&inner.tokens).try_lock_owned() {
            if guard.as_ref().is_some_and(|r| r.needs_refresh(SystemTime::now())) {
                let task = Arc::clone(inner);
                inner.runtime.spawn(async move {
                    let _ = task.refresh_locked(guard, false).await;
                });
                return;
            }
            let save_due = {
                let mut unsaved = lock(&inner.unsaved);
                let due = unsaved.is_some_and(|t| Instant::now() >= t);
                if due {
                    *unsaved = Some(Instant::now() + SAVE_RETRY);
                }
                due
            };
            if save_due {
                let task = Arc::clone(inner);
                inner.runtime.spawn(async move { task.persist(guard).await });
            }
        }
    }

    /// A valid access token, refreshed first when it is about to expire.
    pub async fn valid_token(&self) -> Result<AccessToken, AuthError> {
        self.inner.token(None).await
    }

    /// The API rejected `rejected` (401): refresh once (unless someone already did) and return
    /// the new token.
    pub async fn token_after_unauthorized(&self, rejected: &str) -> Result<AccessToken, AuthError> {
        self.inner.token(Some(rejected)).await
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.inner.cancel_attempt();
    }
}

impl TokenProvider for Session {
    fn access_token(&self) -> BoxFuture<'_, Result<String, TokenError>> {
        Box::pin(async move {
            self.valid_token().await.map(|t| t.secret().to_owned()).map_err(|e| TokenError::from(&e))
        })
    }

    fn refresh_after_unauthorized(&self, rejected: &str) -> BoxFuture<'_, Result<String, TokenError>> {
        let rejected = rejected.to_owned();
        Box::pin(async move {
            self.token_after_unauthorized(&rejected)
                .await
                .map(|t| t.secret().to_owned())
                .map_err(|e| TokenError::from(&e))
        })
    }
}

/// Configuration errors are re-made rather than cloned (errors hold I/O sources).
fn clone_config_error(e: &AuthError) -> AuthError {
    match e {
        AuthError::BadUrl { which, value } => AuthError::BadUrl { which, value: value.clone() },
        _ => AuthError::MissingClientId,
    }
}

impl Inner {
    fn set_problem(&self, e: &AuthError) {
        self.view.send_modify(|v| {
            v.problem = Some(e.user_message());
            v.needs_fix = e.needs_user_fix();
        });
    }

    fn clear_transient_problem(&self) {
        self.view.send_if_modified(|v| {
            let clear = v.problem.is_some() && !v.needs_fix;
            if clear {
                v.problem = None;
            }
            clear
        });
    }

    fn check_config(&self) -> Result<&Endpoints, AuthError> {
        if self.config.client_id.is_empty() {
            return Err(AuthError::MissingClientId);
        }
        let endpoints = match &self.endpoints {
            Some(e) => e,
            None => {
                return Err(Endpoints::new(&self.config.accounts_url, &self.config.api_url)
                    .err()
                    .unwrap_or(AuthError::MissingClientId))
            }
        };
        if self.store.is_none() {
            return Err(AuthError::NoStoreDir);
        }
        Ok(endpoints)
    }
}

#[cfg(test)]
mod tests;
