//! The login flow: starting an attempt, ending it, and the code exchange that completes it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::callback::{on_request, problem_page};
use super::{lock, AuthState, AuthView, Inner, LoginOutcome, SAVE_RETRY};
use crate::auth::loopback::{Connection, LoopbackServer, Request, Response};
use crate::auth::oauth;
use crate::auth::pages::{page, Tone};
use crate::auth::secret::{AuthCode, AuthorizeUrl, PkceVerifier};
use crate::auth::store::{unix, TokenRecord};
use crate::auth::{redirect_uri, AuthError, SCOPES};

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

/// A callback that passed the checks, on its way to the token endpoint.
pub(super) struct Exchange {
    pub(super) code: AuthCode,
    pub(super) verifier: PkceVerifier,
    pub(super) conn: Connection,
    pub(super) received: Instant,
    pub(super) redirect_uri: String,
    pub(super) generation: u64,
}

impl Inner {
    /// Starts a flow; `from_app` is false when a browser asked for `/login` (then the browser is
    /// already open and the server already runs).
    pub(super) fn start_login(self: &Arc<Self>, from_app: bool) -> Result<LoginStart, AuthError> {
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
            register_uri: crate::auth::registered_redirect_uri(self.config.port),
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
    pub(super) fn reap(&self) {
        let retired = std::mem::take(&mut lock(&self.login).retired);
        for server in retired {
            server.stop();
        }
    }

    /// Ends the attempt in progress (if any) without touching the tokens.
    pub(super) fn cancel_attempt(&self) {
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
    pub(super) fn fail_attempt(&self, e: &AuthError) {
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

    /// The code exchange, on the runtime: tokens saved, the user's name fetched, the browser
    /// answered (before the view changes, so a CLI waiting on the view exits only after the
    /// browser has its page).
    pub(super) async fn complete_login(self: Arc<Self>, job: Exchange) {
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
}
