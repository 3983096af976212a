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

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime};

use tokio::runtime::Handle;
use tokio::sync::{watch, OwnedMutexGuard};

use super::error::Endpoint;
use super::flows::{PendingFlows, FLOW_LIFETIME};
use super::loopback::{Connection, LoopbackServer, Request, Response};
use super::oauth::{self, Endpoints};
use super::pages::{page, Tone};
use super::secret::{constant_time_eq, AccessToken, AuthCode, AuthorizeUrl, PkceVerifier};
use super::store::{unix, StoreLock, TokenRecord, TokenStore};
use super::{redirect_uri, AuthError, SCOPES};
use crate::api::{TokenError, TokenProvider};
use crate::config::SpotifyConfig;
use crate::model::BoxFuture;

/// After a refresh failed for a transient reason, wait this long before trying again (unless
/// the access token runs out first or Spotify says how long).
const REFRESH_RETRY: Duration = Duration::from_secs(30);
/// A token closer than this to expiry is not handed out after a failed refresh.
const STILL_VALID_MARGIN_S: i64 = 10;
/// A login that could not be saved is saved again this often (it stays in memory meanwhile).
const SAVE_RETRY: Duration = Duration::from_secs(5);
/// Beyond the request timeout, how long a refresh waits for another process's refresh to end
/// before going ahead without the lock (an `invalid_grant` then still re-reads the file).
const LOCK_SLACK: Duration = Duration::from_secs(5);

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

/// Where a login stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthState {
    /// No saved login.
    LoggedOut,
    /// A login is in progress. `url` is the loopback `/login` page (it carries no secret): open
    /// it in a browser on this computer to log in.
    WaitingForBrowser { url: String },
    /// Tokens are saved; `user` is the display name from `/v1/me`, when known.
    LoggedIn { user: Option<String> },
    /// The saved login stopped working; `reason` says why and what to do.
    LoginRequired { reason: String },
}

impl AuthState {
    /// The `auth_state` row's wording.
    pub fn label(&self) -> &'static str {
        match self {
            AuthState::LoggedOut => "logged out",
            AuthState::WaitingForBrowser { .. } => "waiting for browser",
            AuthState::LoggedIn { .. } => "logged in",
            AuthState::LoginRequired { .. } => "login required",
        }
    }
}

/// What the user sees of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthView {
    pub state: AuthState,
    /// The last problem, as a short actionable sentence; `None` when all is well.
    pub problem: Option<String>,
    /// Whether the problem needs more than pulsing Login (TouchDesigner shows it in red).
    pub needs_fix: bool,
    /// How the last login attempt ended; `None` while one runs or before any.
    pub last_login: Option<LoginOutcome>,
}

impl AuthView {
    fn new(state: AuthState) -> AuthView {
        AuthView { state, problem: None, needs_fix: false, last_login: None }
    }
}

/// How a login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Succeeded,
    Failed,
}

/// A login that was just started.
#[derive(Debug)]
pub struct LoginStart {
    /// Spotify's authorize page for this login (carries the state: show it only to the user).
    pub authorize_url: AuthorizeUrl,
    /// `http://127.0.0.1:PORT/login`: starts a login from any browser on this computer.
    pub login_url: String,
    /// The redirect URI of this login (on the port the server listens on).
    pub redirect_uri: String,
    /// What to register in the Spotify app: `http://127.0.0.1/callback` for Port Auto.
    pub register_uri: String,
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

/// A callback that passed the checks, on its way to the token endpoint.
struct Exchange {
    code: AuthCode,
    verifier: PkceVerifier,
    conn: Connection,
    received: Instant,
    redirect_uri: String,
    generation: u64,
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

    /// Starts a flow; `from_app` is false when a browser asked for `/login` (then the browser is
    /// already open and the server already runs).
    fn start_login(self: &Arc<Self>, from_app: bool) -> Result<LoginStart, AuthError> {
        let endpoints = self.check_config()?;
        if from_app {
            // Free the port of a login that just ended (never from the server's own thread).
            self.reap();
        }
        let mut login = lock(&self.login);
        if login.server.is_none() {
            let weak = Arc::downgrade(self);
            let server = LoopbackServer::start(
                self.config.port,
                Box::new(move |req: Request, conn: Connection| on_request(&weak, req, conn)),
            )?;
            login.redirect_uri = redirect_uri(server.port());
            login.server = Some(server);
            let current = self.view.borrow().state.clone();
            login.before = Some(match current {
                AuthState::WaitingForBrowser { .. } => AuthState::LoggedOut,
                other => other,
            });
        }
        let port = login.server.as_ref().map_or(self.config.port, LoopbackServer::port);
        let flow = if from_app {
            login.flows.start(Instant::now())
        } else {
            login.flows.start_from_page(Instant::now())
        };
        let authorize_url =
            oauth::authorize_url(endpoints, &self.config.client_id, &login.redirect_uri, SCOPES, &flow);
        let start = LoginStart {
            authorize_url,
            login_url: format!("http://127.0.0.1:{port}/login"),
            redirect_uri: login.redirect_uri.clone(),
            register_uri: super::registered_redirect_uri(self.config.port),
        };
        drop(login);
        self.view.send_modify(|v| {
            *v = AuthView::new(AuthState::WaitingForBrowser { url: start.login_url.clone() })
        });
        tracing::info!(redirect_uri = %start.redirect_uri, "Spotify login started");
        if from_app && self.config.open_browser {
            let opened = webbrowser::open_browser_with_options(
                webbrowser::Browser::Default,
                start.authorize_url.secret(),
                webbrowser::BrowserOptions::new().with_suppress_output(true),
            );
            if let Err(e) = opened {
                tracing::warn!(error = %e, "could not open a browser");
                self.set_problem(&AuthError::Browser(e));
            }
        }
        Ok(start)
    }

    /// Joins the servers of finished attempts. Never under the `login` lock: a server's thread
    /// may be waiting for it in its handler.
    fn reap(&self) {
        let retired = std::mem::take(&mut lock(&self.login).retired);
        for server in retired {
            server.stop();
        }
    }

    /// Ends the attempt in progress (if any) without touching the tokens.
    fn cancel_attempt(&self) {
        let servers: Vec<LoopbackServer> = {
            let mut login = lock(&self.login);
            login.flows.clear(Instant::now());
            login.before = None;
            login.exchanging = false;
            let mut servers: Vec<LoopbackServer> = login.retired.drain(..).collect();
            servers.extend(login.server.take());
            servers
        };
        // Joined outside the lock: the server's handler takes it.
        for server in servers {
            server.stop();
        }
    }

    /// Ends the attempt after a failure: back to the state before it, with the problem shown.
    /// Safe on the server's own thread (the server is only asked to stop here).
    fn fail_attempt(&self, e: &AuthError) {
        let before = {
            let mut login = lock(&self.login);
            login.flows.clear(Instant::now());
            login.exchanging = false;
            if let Some(server) = login.server.take() {
                server.request_stop();
                login.retired.push(server);
            }
            login.before.take()
        };
        tracing::warn!(error = %e, "Spotify login failed");
        self.view.send_modify(|v| {
            if let Some(before) = before {
                v.state = before;
            }
            if matches!(v.state, AuthState::WaitingForBrowser { .. }) {
                v.state = AuthState::LoggedOut;
            }
            v.problem = Some(e.user_message());
            v.needs_fix = e.needs_user_fix();
            v.last_login = Some(LoginOutcome::Failed);
        });
    }

    /// Ends the attempt after success.
    fn finish_attempt(&self) {
        let mut login = lock(&self.login);
        login.flows.clear(Instant::now());
        login.before = None;
        login.exchanging = false;
        if let Some(server) = login.server.take() {
            server.request_stop();
            login.retired.push(server);
        }
    }

    /// Hands out the access token, refreshing it when due (`rejected: None`) or when the API
    /// rejected exactly the token we hold (`Some`).
    async fn token(self: &Arc<Self>, rejected: Option<&str>) -> Result<AccessToken, AuthError> {
        let guard = Arc::clone(&self.tokens).lock_owned().await;
        let Some(record) = guard.as_ref() else {
            return Err(AuthError::NotLoggedIn);
        };
        let now = SystemTime::now();
        let forced = match rejected {
            // Someone refreshed while this caller's request was in flight: use the new token.
            Some(r) if !constant_time_eq(record.access_token.secret().as_bytes(), r.as_bytes()) => {
                return Ok(record.access_token.clone());
            }
            Some(_) => true,
            None if !record.needs_refresh(now) => return Ok(record.access_token.clone()),
            None => false,
        };
        let in_backoff = lock(&self.refresh_not_before).is_some_and(|t| Instant::now() < t);
        if !forced && in_backoff && record.expires_in(now) > STILL_VALID_MARGIN_S {
            return Ok(record.access_token.clone());
        }
        // In a task of its own: if this caller is cancelled, the refresh still completes and
        // the rotated refresh token is saved.
        let task = Arc::clone(self);
        match self.runtime.spawn(async move { task.refresh_locked(guard, forced).await }).await {
            Ok(result) => result,
            Err(_) => Err(AuthError::Interrupted),
        }
    }

    /// Refreshes the tokens held by `guard` and saves them, holding the store's lock so that no
    /// other process spends the same refresh token meanwhile.
    async fn refresh_locked(
        self: Arc<Self>,
        mut guard: OwnedMutexGuard<Option<TokenRecord>>,
        forced: bool,
    ) -> Result<AccessToken, AuthError> {
        let Some(mut current) = guard.clone() else {
            return Err(AuthError::NotLoggedIn);
        };
        let (Some(endpoints), Some(store)) = (&self.endpoints, &self.store) else {
            return Err(self.check_config().err().unwrap_or(AuthError::NoStoreDir));
        };
        let _store_lock = self.lock_store(store).await;
        // Another process (the CLI, a second TouchDesigner) may have refreshed already; its
        // refresh token is the live one, and ours may have been rotated away.
        if let Some(newer) = self.newer_on_disk(store, &current) {
            // After a 401 the rejected token is no good, even if the file still holds it.
            let rejected_again = forced && newer.access_token == current.access_token;
            let fresh = !newer.needs_refresh(SystemTime::now()) && !rejected_again;
            current = newer;
            *guard = Some(current.clone());
            if fresh {
                return Ok(current.access_token);
            }
        }
        let mut reread = false;
        loop {
            let Some(refresh_token) = current.refresh_token.clone() else {
                return Err(
                    self.login_gone(&mut guard, AuthError::InvalidGrant { endpoint: Endpoint::Token })
                );
            };
            let now = SystemTime::now();
            let e = match oauth::refresh(&self.http, endpoints, &self.config.client_id, &refresh_token).await
            {
                Ok(granted) => {
                    let lifetime = granted.lifetime;
                    let record = TokenRecord {
                        access_token: granted.access_token,
                        // Spotify may omit the refresh token: keep the one we have.
                        refresh_token: granted.refresh_token.or(Some(refresh_token)),
                        expires_at: unix(now) + lifetime.as_secs(),
                        lifetime_s: lifetime.as_secs(),
                        scope: granted.scope.unwrap_or(current.scope),
                        saved_at: unix(SystemTime::now()),
                        ..current
                    };
                    let saved = store.save(&record);
                    let token = record.access_token.clone();
                    *guard = Some(record);
                    drop(guard);
                    *lock(&self.refresh_not_before) = None;
                    tracing::info!(expires_in_s = lifetime.as_secs(), "Spotify access token refreshed");
                    match saved {
                        Ok(()) => {
                            self.saved();
                            self.clear_transient_problem();
                        }
                        Err(e) => self.save_failed(e),
                    }
                    return Ok(token);
                }
                Err(e) => e,
            };
            if let AuthError::InvalidGrant { .. } = e {
                // Refused: another process that did not wait for the lock (or an older
                // td-spotify) may have spent it and saved the token that replaced it.
                if !reread {
                    reread = true;
                    if let Ok(Some(on_disk)) = store.load(&self.config.client_id) {
                        if on_disk.refresh_token.is_some() && on_disk.refresh_token != current.refresh_token {
                            tracing::info!("refresh token refused; using the one another process saved");
                            *lock(&self.unsaved) = None;
                            current = on_disk;
                            *guard = Some(current.clone());
                            if !current.needs_refresh(SystemTime::now()) && !forced {
                                return Ok(current.access_token);
                            }
                            continue;
                        }
                    }
                }
                return Err(self.login_gone(&mut guard, e));
            }
            // A 429, a 5xx, a timeout: the login is still good. Try again later.
            let wait = match &e {
                AuthError::RateLimited { retry_after: Some(d), .. } => (*d).max(Duration::from_secs(1)),
                _ => REFRESH_RETRY,
            };
            *lock(&self.refresh_not_before) = Some(Instant::now() + wait);
            tracing::warn!(error = %e, "Spotify token refresh failed; keeping the login");
            self.set_problem(&e);
            if !forced && current.expires_in(now) > STILL_VALID_MARGIN_S {
                return Ok(current.access_token);
            }
            return Err(e);
        }
    }

    /// The store's lock, waited for on the runtime (never on TouchDesigner's thread) for as
    /// long as another process's refresh can take. `None` when it could not be had: the caller
    /// goes ahead, since a refresh refused because of the race re-reads the file anyway.
    async fn lock_store(&self, store: &TokenStore) -> Option<StoreLock> {
        match store.lock(self.config.request_timeout + LOCK_SLACK).await {
            Ok(held) => Some(held),
            Err(e) => {
                tracing::warn!(error = %e, "going ahead without the token file lock");
                None
            }
        }
    }

    /// The saved record, when it should replace `current`: it holds other tokens and is newer,
    /// or as new and ours is already saved. A login kept in memory after a failed save wins
    /// over an older file. An unreadable file is kept aside by the store and loses nothing:
    /// the login in memory is saved over it.
    fn newer_on_disk(&self, store: &TokenStore, current: &TokenRecord) -> Option<TokenRecord> {
        let on_disk = match store.load(&self.config.client_id) {
            Ok(on_disk) => on_disk?,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the saved login; keeping the one in memory");
                return None;
            }
        };
        let ours_unsaved = lock(&self.unsaved).is_some();
        let theirs_wins = !on_disk.same_tokens(current)
            && (on_disk.is_newer_than(current) || (!ours_unsaved && !current.is_newer_than(&on_disk)));
        if theirs_wins {
            *lock(&self.unsaved) = None;
        }
        theirs_wins.then_some(on_disk)
    }

    /// Saves the login that only memory holds (a save failed before), unless another process
    /// saved a newer one meanwhile.
    async fn persist(self: Arc<Self>, mut guard: OwnedMutexGuard<Option<TokenRecord>>) {
        let (Some(store), Some(current)) = (&self.store, guard.clone()) else {
            *lock(&self.unsaved) = None;
            return;
        };
        let _store_lock = self.lock_store(store).await;
        if let Some(newer) = self.newer_on_disk(store, &current) {
            *guard = Some(newer);
            self.saved();
            return;
        }
        match store.save(&current) {
            Ok(()) => {
                tracing::info!("the login kept in memory is saved now");
                self.saved();
            }
            Err(e) => self.save_failed(e),
        }
    }

    /// The file holds the newest login (again).
    fn saved(&self) {
        if lock(&self.unsaved).take().is_some() {
            self.view.send_modify(|v| {
                v.problem = None;
                v.needs_fix = false;
            });
        }
    }

    /// The newest login could not be written: it stays in memory (and in use), the user is told,
    /// and the save is tried again.
    fn save_failed(&self, e: AuthError) {
        *lock(&self.unsaved) = Some(Instant::now() + SAVE_RETRY);
        let e = AuthError::Unsaved(Box::new(e));
        tracing::warn!(error = %e, cause = %e.user_message(), "could not save the Spotify login");
        self.set_problem(&e);
    }

    /// The refresh token was refused: forget the login (and its file, unless another process
    /// has saved a newer one meanwhile) and ask for a new one.
    fn login_gone(&self, guard: &mut Option<TokenRecord>, e: AuthError) -> AuthError {
        let ours = guard.take();
        if let (Some(store), Some(ours)) = (&self.store, ours) {
            match store.load(&self.config.client_id) {
                Ok(Some(on_disk)) if on_disk.refresh_token != ours.refresh_token => {}
                _ => {
                    if let Err(err) = store.remove() {
                        tracing::warn!(error = %err, "could not delete the refused login");
                    }
                }
            }
        }
        tracing::warn!(error = %e, "Spotify login is no longer valid");
        let reason = e.user_message();
        self.view.send_modify(|v| {
            if !matches!(v.state, AuthState::WaitingForBrowser { .. }) {
                v.state = AuthState::LoginRequired { reason: reason.clone() };
            }
            v.problem = Some(reason.clone());
            v.needs_fix = false;
        });
        e
    }

    /// `/callback`, on the server thread: checks the state and hands the code over.
    fn on_callback(self: &Arc<Self>, req: &Request, conn: Connection) {
        let (Ok(state), Ok(code), Ok(error)) = (req.single("state"), req.single("code"), req.single("error"))
        else {
            return conn.respond(&problem_page(400, "Malformed login answer", "A parameter appears twice."));
        };
        let taken = {
            let mut login = lock(&self.login);
            let taken = login.flows.take(state.unwrap_or(""), Instant::now());
            // Set before the lock is released, so no tick can time the attempt out meanwhile.
            if taken.is_ok() && error.is_none() && code.is_some_and(|c| !c.is_empty()) {
                login.exchanging = true;
            }
            taken
        };
        let verifier = match taken {
            Ok(v) => v,
            Err(e) => {
                // Not ours: the login in progress goes on (a forged request must not end it).
                tracing::warn!(error = %e, "login callback refused");
                return conn.respond(&problem_page(400, "Login link not valid", &e.user_message()));
            }
        };
        if let Some(error) = error {
            let e = if error == "access_denied" {
                AuthError::AccessDenied
            } else {
                AuthError::AuthorizeFailed { code: oauth::sanitize_code(error) }
            };
            let response = if matches!(e, AuthError::AccessDenied) {
                Response::html(200, page(Tone::Cancelled, "Login cancelled", &e.user_message()))
            } else {
                problem_page(400, "Spotify refused the login", &e.user_message())
            };
            conn.respond(&response);
            return self.fail_attempt(&e);
        }
        let Some(code) = code.filter(|c| !c.is_empty()) else {
            conn.respond(&problem_page(400, "No code", &AuthError::MissingCode.user_message()));
            return self.fail_attempt(&AuthError::MissingCode);
        };
        let exchange = Exchange {
            code: AuthCode::new(code),
            verifier,
            conn,
            received: Instant::now(),
            redirect_uri: lock(&self.login).redirect_uri.clone(),
            generation: self.generation.load(Ordering::Acquire),
        };
        let inner = Arc::clone(self);
        self.runtime.spawn(async move { inner.complete_login(exchange).await });
    }

    /// The code exchange, on the runtime: tokens saved, the user's name fetched, the browser
    /// answered (before the view changes, so a CLI waiting on the view exits only after the
    /// browser has its page).
    async fn complete_login(self: Arc<Self>, job: Exchange) {
        let Exchange { code, verifier, conn, received, redirect_uri, generation } = job;
        let (Some(endpoints), Some(store)) = (&self.endpoints, &self.store) else { return };
        let client_id = &self.config.client_id;
        let granted =
            oauth::exchange_code(&self.http, endpoints, client_id, &code, &verifier, &redirect_uri).await;
        drop((code, verifier));
        let granted = match granted {
            Ok(g) => g,
            Err(e) => {
                conn.respond(&problem_page(502, "Login failed", &e.user_message()));
                return self.fail_attempt(&e);
            }
        };
        let mut tokens = self.tokens.lock().await;
        if self.generation.load(Ordering::Acquire) != generation {
            let e = AuthError::LoginCancelled;
            return conn.respond(&problem_page(409, "Login cancelled", &e.user_message()));
        }
        let lifetime = granted.lifetime.as_secs();
        let mut record = TokenRecord {
            version: 1,
            client_id: client_id.clone(),
            access_token: granted.access_token,
            refresh_token: granted.refresh_token,
            expires_at: unix(SystemTime::now()) + lifetime,
            lifetime_s: lifetime,
            scope: granted.scope.unwrap_or_default(),
            user: None,
            saved_at: 0,
        };
        record.saved_at = unix(SystemTime::now());
        let saved = {
            let _store_lock = self.lock_store(store).await;
            store.save(&record)
        };
        *lock(&self.last_login_latency) = Some(received.elapsed());
        *tokens = Some(record.clone());
        drop(tokens);
        *lock(&self.refresh_not_before) = None;
        self.finish_attempt();
        if let Err(e) = saved {
            // Logged in for this run; kept in memory and saved again until it works: say so.
            *lock(&self.unsaved) = Some(Instant::now() + SAVE_RETRY);
            let e = AuthError::Unsaved(Box::new(e));
            conn.respond(&problem_page(500, "Logged in, but not saved", &e.user_message()));
            return self.logged_in(None, Some(&e));
        }
        tracing::info!(latency_ms = received.elapsed().as_millis() as u64, "Spotify login saved");

        let profile = oauth::fetch_profile(&self.http, endpoints, &record.access_token).await;
        let user = profile.as_ref().ok().and_then(oauth::Profile::name);
        if user.is_some() {
            record.user.clone_from(&user);
            let mut tokens = self.tokens.lock().await;
            if tokens.as_ref().is_some_and(|t| t.access_token == record.access_token) {
                *tokens = Some(record.clone());
                if let Err(e) = store.save(&record) {
                    tracing::warn!(error = %e, "could not save the user name");
                }
            }
        }
        let who = user.as_ref().map(|u| format!(" as {u}")).unwrap_or_default();
        let message = match &profile {
            Err(e) => format!("Logged in to Spotify{who}, but: {}", e.user_message()),
            Ok(_) => {
                format!("Logged in to Spotify{who}. You can close this tab and go back to TouchDesigner.")
            }
        };
        let tone = if profile.is_ok() { Tone::Success } else { Tone::Problem };
        conn.respond(&Response::html(200, page(tone, "Logged in", &message)));
        if let Err(e) = &profile {
            tracing::warn!(error = %e, "could not read the Spotify profile");
        }
        self.logged_in(user, profile.as_ref().err());
    }

    fn logged_in(&self, user: Option<String>, problem: Option<&AuthError>) {
        self.view.send_modify(|v| {
            *v = AuthView::new(AuthState::LoggedIn { user });
            v.last_login = Some(LoginOutcome::Succeeded);
            if let Some(e) = problem {
                v.problem = Some(e.user_message());
                v.needs_fix = e.needs_user_fix();
            }
        });
    }

    /// `/login`, on the server thread: a new flow, and the browser goes to Spotify.
    fn on_login(self: &Arc<Self>, conn: Connection) {
        if lock(&self.login).server.is_none() {
            let message = "No login is in progress here: pulse Login (or run td-spotify login).";
            return conn.respond(&problem_page(503, "Not logging in", message));
        }
        match self.start_login(false) {
            Ok(start) => conn.respond(&Response::redirect(start.authorize_url.secret())),
            Err(e) => conn.respond(&problem_page(500, "Could not start a login", &e.user_message())),
        }
    }
}

fn problem_page(status: u16, title: &str, message: &str) -> Response {
    Response::html(status, page(Tone::Problem, title, message))
}

/// Every request the loopback server reads comes here, on its thread.
fn on_request(weak: &Weak<Inner>, req: Request, conn: Connection) {
    let Some(inner) = weak.upgrade() else {
        return conn.respond(&problem_page(503, "Not logging in", "td-spotify is not waiting for a login."));
    };
    let port = lock(&inner.login).server.as_ref().map(LoopbackServer::port);
    // A page elsewhere that makes the browser resolve its own name to 127.0.0.1 (DNS rebinding)
    // sends its own Host: only our own address is served.
    let host_ok = req.host.as_deref().is_some_and(|h| {
        port.is_some_and(|p| {
            h.eq_ignore_ascii_case(&format!("127.0.0.1:{p}"))
                || h.eq_ignore_ascii_case(&format!("localhost:{p}"))
        })
    });
    match req.path.as_str() {
        "/callback" | "/login" if !host_ok => conn.respond(&problem_page(
            421,
            "Wrong address",
            "Open this page at http://127.0.0.1:PORT/ only.",
        )),
        "/callback" => inner.on_callback(&req, conn),
        // A page elsewhere can make the browser request /login (an image, a frame, a form), but
        // only the artist opening the link starts a login: browsers mark the others.
        "/login" if req.fetch_site.as_deref().is_some_and(|s| s == "cross-site" || s == "same-site") => conn
            .respond(&problem_page(
                403,
                "Open the login link yourself",
                "Another page asked for this login page. Open the link from TouchDesigner (auth_url) or \
                 td-spotify login instead.",
            )),
        "/login" => inner.on_login(conn),
        "/" => conn.respond(&Response::html(
            200,
            page(
                Tone::Cancelled,
                "Waiting for Spotify",
                "td-spotify is waiting for Spotify's answer. Open /login on this address to start a login.",
            ),
        )),
        "/favicon.ico" => conn.respond(&Response { status: 404, headers: Vec::new(), body: String::new() }),
        _ => conn.respond(&problem_page(404, "Not found", "Nothing here: the login page is /login.")),
    }
}

#[cfg(test)]
mod tests;
