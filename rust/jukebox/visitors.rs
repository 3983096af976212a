//! Spotify visitors: each logs in with their own account, kept in the token store keyed by
//! their Spotify user id.
//!
//! A visitor's Join starts the same loopback PKCE login as the `Login` pulse (rust/auth), in a
//! fresh folder of its own (`jukebox-visitors/.pending-<browser key>`); the visitor's page then
//! opens that login's `http://127.0.0.1:PORT/login`. Once Spotify hands the tokens over, `/v1/me`
//! names the account (`id`, `display_name`), the folder becomes `jukebox-visitors/<id>` (a
//! second login of the same account replaces the first) and the visitor joins the line under
//! that id. A 403 from `/v1/me` (an account the app's Development Mode does not serve) never
//! joins: the visitor gets the allowlist note instead.
//!
//! The logins run on a small tokio runtime of their own, on a thread of their own (built and
//! dropped there, like the engine's), started at the first Spotify Join.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use tokio::runtime::Handle;

use crate::engine::os_thread::{self, OsThread};

use crate::auth::oauth::{self, Endpoints, Profile};
use crate::auth::{AuthError, AuthState, Session, SessionConfig};
use crate::config::SpotifyConfig;

/// Folder of the visitors' logins, in the token store's folder.
pub const DIR_NAME: &str = "jukebox-visitors";
/// A login not finished by then is dropped (Spotify's own `state` expires after 10 minutes).
const LOGIN_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Logins in progress at once (each holds a loopback port).
const MAX_PENDING: usize = 8;

/// What became of a visitor's login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Logged in: the visitor joins under their Spotify user id.
    Joined { viewer: String, id: String, name: String },
    /// The login did not lead to a place in line; `note` says why, for the visitor's page.
    Refused { viewer: String, name: String, note: String },
}

/// Why a login could not start.
#[derive(Debug, thiserror::Error)]
pub enum VisitorError {
    #[error("too many logins in progress; try again in a minute")]
    Busy,
    #[error("a Spotify Client ID is needed for Spotify visitors (Clientid, or --client-id)")]
    NoClientId,
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("could not start the login runtime: {0}")]
    Runtime(std::io::Error),
}

/// A browser key and what `/v1/me` said for its login.
type ProfileResult = (String, Result<Profile, AuthError>);

struct Pending {
    session: Arc<Session>,
    dir: PathBuf,
    login_url: String,
    started: Instant,
    asked_profile: bool,
}

/// The visitors' logins in progress.
pub struct Logins {
    spotify: SpotifyConfig,
    root: PathBuf,
    runtime: Option<LoginRuntime>,
    http: Option<reqwest::Client>,
    pending: HashMap<String, Pending>,
    results: (Sender<ProfileResult>, Receiver<ProfileResult>),
}

impl std::fmt::Debug for Logins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logins").field("root", &self.root).field("pending", &self.pending.len()).finish()
    }
}

impl Logins {
    /// Logins for the app `spotify.client_id`, kept under `store_dir`/[`DIR_NAME`].
    pub fn new(spotify: SpotifyConfig, store_dir: &Path) -> Logins {
        Logins {
            root: store_dir.join(DIR_NAME),
            spotify,
            runtime: None,
            http: None,
            pending: HashMap::new(),
            results: crossbeam_channel::unbounded(),
        }
    }

    /// Where the login of the Spotify user `id` is kept; `None` for an id that is not one
    /// (Spotify's ids are letters, digits and a few marks, never a path).
    pub fn dir_of(&self, id: &str) -> Option<PathBuf> {
        let safe = !id.is_empty()
            && id.len() <= 128
            && !id.starts_with('.')
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        safe.then(|| self.root.join(id))
    }

    /// The engine settings that follow visitor `id`'s player.
    pub fn config_of(&self, id: &str) -> Option<SpotifyConfig> {
        Some(SpotifyConfig { cache_dir: Some(self.dir_of(id)?), ..self.spotify.clone() })
    }

    /// The login link of the browser `viewer`, while its login is in progress.
    pub fn login_url(&self, viewer: &str) -> Option<&str> {
        self.pending.get(viewer).map(|p| p.login_url.as_str())
    }

    /// The browsers whose login is in progress, with their login links.
    pub fn pending(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pending.iter().map(|(viewer, p)| (viewer.as_str(), p.login_url.as_str()))
    }

    /// Starts (or keeps) the login of the browser `viewer`; returns its login link.
    pub fn start(&mut self, viewer: &str) -> Result<String, VisitorError> {
        if let Some(p) = self.pending.get(viewer) {
            return Ok(p.login_url.clone());
        }
        if self.spotify.client_id.trim().is_empty() {
            return Err(VisitorError::NoClientId);
        }
        if self.pending.len() >= MAX_PENDING {
            return Err(VisitorError::Busy);
        }
        if self.runtime.is_none() {
            self.runtime = Some(LoginRuntime::start()?);
        }
        let Some(runtime) = &self.runtime else { unreachable!("built above") };
        let dir = self.root.join(format!(".pending-{viewer}"));
        let _ = std::fs::remove_dir_all(&dir);
        let config = SessionConfig {
            cache_dir: Some(dir.clone()),
            // The visitor's own browser opens the link (from the page), not this machine's.
            open_browser: false,
            ..SessionConfig::from_spotify(&self.spotify)
        };
        let session = Arc::new(Session::new(config, runtime.handle.clone()));
        let start = session.start_login()?;
        let login_url = start.login_url.clone();
        self.pending.insert(
            viewer.to_owned(),
            Pending {
                session,
                dir,
                login_url: login_url.clone(),
                started: Instant::now(),
                asked_profile: false,
            },
        );
        Ok(login_url)
    }

    /// Moves the logins on; returns those that ended.
    pub fn poll(&mut self) -> Vec<Outcome> {
        let mut ended = Vec::new();
        let now = Instant::now();
        let mut dropped = Vec::new();
        for (viewer, p) in &mut self.pending {
            p.session.tick();
            if now.duration_since(p.started) > LOGIN_TIMEOUT {
                dropped.push(viewer.clone());
                continue;
            }
            if p.asked_profile || !matches!(p.session.state(), AuthState::LoggedIn { .. }) {
                continue;
            }
            p.asked_profile = true;
            let (Some(runtime), Ok(endpoints)) =
                (&self.runtime, Endpoints::new(&self.spotify.accounts_url, &self.spotify.api_url))
            else {
                continue;
            };
            let http = self
                .http
                .get_or_insert_with(|| {
                    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default()
                })
                .clone();
            let (session, tx, viewer) = (Arc::clone(&p.session), self.results.0.clone(), viewer.clone());
            runtime.handle.spawn(async move {
                let profile = match session.valid_token().await {
                    Ok(token) => oauth::fetch_profile(&http, &endpoints, &token).await,
                    Err(e) => Err(e),
                };
                let _ = tx.send((viewer, profile));
            });
        }
        for viewer in dropped {
            if let Some(p) = self.pending.remove(&viewer) {
                let _ = std::fs::remove_dir_all(&p.dir);
            }
        }
        while let Ok((viewer, profile)) = self.results.1.try_recv() {
            let Some(p) = self.pending.remove(&viewer) else { continue };
            // The session (and its loopback server) ends before its folder moves.
            drop(p.session);
            match profile {
                Ok(profile) => match (profile.id.clone(), profile.name()) {
                    (Some(id), Some(name)) if self.dir_of(&id).is_some() => match self.adopt(&p.dir, &id) {
                        Ok(()) => ended.push(Outcome::Joined { viewer, id, name }),
                        Err(e) => {
                            tracing::warn!(error = %e, "could not keep a visitor's login");
                            ended.push(Outcome::Refused {
                                viewer,
                                name,
                                note: "your login could not be saved on this computer; ask the operator"
                                    .into(),
                            });
                        }
                    },
                    _ => ended.push(Outcome::Refused {
                        viewer,
                        name: "Visitor".into(),
                        note: "Spotify did not say who you are; try Join again".into(),
                    }),
                },
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&p.dir);
                    let note = match e {
                        AuthError::Forbidden { .. } => super::queue::NOTE_NOT_ALLOWLISTED.to_owned(),
                        e => format!("login failed: {}", e.user_message()),
                    };
                    ended.push(Outcome::Refused { viewer, name: "Visitor".into(), note });
                }
            }
        }
        ended
    }

    /// Makes the pending login `dir` the login of user `id`, replacing an older one.
    fn adopt(&self, dir: &Path, id: &str) -> std::io::Result<()> {
        let Some(target) = self.dir_of(id) else { return Err(std::io::Error::other("not a Spotify id")) };
        let _ = std::fs::remove_dir_all(&target);
        std::fs::rename(dir, &target)
    }
}

impl Drop for Logins {
    fn drop(&mut self) {
        // Sessions first (their loopback servers), then the runtime, without waiting for tasks.
        for (_, p) in self.pending.drain() {
            drop(p.session);
            let _ = std::fs::remove_dir_all(&p.dir);
        }
        drop(self.runtime.take());
    }
}

/// A current-thread runtime driven by its own thread until dropped.
struct LoginRuntime {
    handle: Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<OsThread>,
}

impl LoginRuntime {
    fn start() -> Result<LoginRuntime, VisitorError> {
        let (handle_tx, handle_rx) = crossbeam_channel::bounded(1);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = os_thread::spawn("td-spotify-jukebox-login", move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(r) => r,
                Err(e) => {
                    let _ = handle_tx.send(Err(e));
                    return;
                }
            };
            let _ = handle_tx.send(Ok(runtime.handle().clone()));
            runtime.block_on(async {
                let _ = stopped.await;
            });
            // A hanging request or DNS lookup is not waited for.
            runtime.shutdown_background();
        })
        .map_err(VisitorError::Runtime)?;
        let handle = handle_rx
            .recv()
            .map_err(|_| VisitorError::Runtime(std::io::Error::other("the login thread ended")))?
            .map_err(VisitorError::Runtime)?;
        Ok(LoginRuntime { handle, stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for LoginRuntime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.finish_within(crate::engine::STOP_WAIT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitor_folder_is_named_only_by_a_plain_id() {
        let logins = Logins::new(SpotifyConfig::default(), Path::new("/store"));
        assert_eq!(
            logins.dir_of("ana.id_9-x"),
            Some(PathBuf::from("/store").join(DIR_NAME).join("ana.id_9-x"))
        );
        for bad in ["", "..", ".pending-x", "../etc", "a/b", "a\\b", "ü"] {
            assert_eq!(logins.dir_of(bad), None, "{bad:?}");
        }
        assert!(logins.config_of("ana").unwrap().cache_dir.unwrap().ends_with("jukebox-visitors/ana"));
    }

    #[test]
    fn joining_needs_a_client_id() {
        let mut logins = Logins::new(SpotifyConfig::default(), Path::new("/store"));
        assert!(matches!(logins.start("viewer"), Err(VisitorError::NoClientId)));
        assert_eq!(logins.pending().count(), 0);
    }
}
