//! Typed configuration of a data source: what the engine is built from.

use std::path::PathBuf;
use std::time::Duration;

use crate::model::SimConfig;

/// Spotify's accounts service (authorize and token endpoints live under it).
pub const DEFAULT_ACCOUNTS_URL: &str = "https://accounts.spotify.com";
/// Spotify's Web API.
pub const DEFAULT_API_URL: &str = "https://api.spotify.com";
/// Loopback port of the login callback (`http://127.0.0.1:PORT/callback`): 0 is Auto, a free
/// port picked at each login. Spotify matches any port for a loopback redirect URI registered
/// without one (`http://127.0.0.1/callback`), so Auto needs no port juggling, and several
/// TouchDesigner instances can log in at once.
pub const DEFAULT_PORT: u16 = 0;

/// Everything needed to talk to Spotify for one account.
#[derive(Debug, Clone, PartialEq)]
pub struct SpotifyConfig {
    /// The Spotify app's client id (public; PKCE needs no secret).
    pub client_id: String,
    /// Port of the loopback login server.
    pub port: u16,
    /// Where tokens are stored; `None` uses the OS's per-user config directory.
    pub cache_dir: Option<PathBuf>,
    /// Base URL of the accounts service; tests point it at a local identity provider.
    pub accounts_url: String,
    /// Base URL of the Web API; tests point it at a local scripted server.
    pub api_url: String,
    /// Fastest the engine may poll (the `Pollinterval` parameter); the poller derives its
    /// playing, paused and idle rates from it. Operators sharing an engine share its poller, so
    /// the interval last set by any of them is the one in force.
    pub poll_interval: Duration,
}

impl Default for SpotifyConfig {
    fn default() -> Self {
        SpotifyConfig {
            client_id: String::new(),
            port: DEFAULT_PORT,
            cache_dir: None,
            accounts_url: DEFAULT_ACCOUNTS_URL.to_owned(),
            api_url: DEFAULT_API_URL.to_owned(),
            poll_interval: Duration::from_millis(1000),
        }
    }
}

/// Replaces [`DEFAULT_ACCOUNTS_URL`] for operators (tests, proxies); the CLI reads it too.
pub const ACCOUNTS_URL_ENV: &str = "TD_SPOTIFY_ACCOUNTS_URL";
/// Replaces [`DEFAULT_API_URL`] for operators (tests, proxies); the CLI reads it too.
pub const API_URL_ENV: &str = "TD_SPOTIFY_API_URL";

impl SpotifyConfig {
    /// The defaults, with the base URLs taken from [`ACCOUNTS_URL_ENV`] and [`API_URL_ENV`] when
    /// set. An operator's engine is built from this, so its login and its poller both talk to
    /// the same servers.
    pub fn from_env() -> SpotifyConfig {
        let url = |name: &str, default: &str| match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => v.trim().to_owned(),
            _ => default.to_owned(),
        };
        SpotifyConfig {
            accounts_url: url(ACCOUNTS_URL_ENV, DEFAULT_ACCOUNTS_URL),
            api_url: url(API_URL_ENV, DEFAULT_API_URL),
            ..SpotifyConfig::default()
        }
    }
}

/// Which source an engine runs, with its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceConfig {
    Simulator(SimConfig),
    Spotify(SpotifyConfig),
}

impl SourceConfig {
    /// Whether two operators configured like this can share one engine.
    ///
    /// Spotify engines are shared per account (client id and token store), so ten operators make
    /// one poll loop; simulators are shared when they would play the same thing.
    pub fn shares_engine_with(&self, other: &SourceConfig) -> bool {
        match (self, other) {
            (SourceConfig::Simulator(a), SourceConfig::Simulator(b)) => a == b,
            (SourceConfig::Spotify(a), SourceConfig::Spotify(b)) => {
                a.client_id == b.client_id && a.cache_dir == b.cache_dir
            }
            _ => false,
        }
    }
}
