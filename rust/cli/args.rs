//! Settings shared by every command that talks to Spotify.

use std::path::PathBuf;

use td_spotify::config::{SpotifyConfig, DEFAULT_ACCOUNTS_URL, DEFAULT_API_URL, DEFAULT_PORT};

/// Where Spotify is and where tokens are kept. Each flag can also come from the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct SpotifyArgs {
    /// Client id of your Spotify app (developer dashboard → your app → Settings).
    #[arg(long, env = "TD_SPOTIFY_CLIENT_ID", default_value = "")]
    pub client_id: String,
    /// Base URL of the accounts service (authorize and token endpoints).
    #[arg(long, env = "TD_SPOTIFY_ACCOUNTS_URL", default_value = DEFAULT_ACCOUNTS_URL)]
    pub accounts_url: String,
    /// Base URL of the Web API.
    #[arg(long, env = "TD_SPOTIFY_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
    /// Directory of the token store (default: the OS's per-user config directory).
    #[arg(long, env = "TD_SPOTIFY_CACHE")]
    pub cache: Option<PathBuf>,
}

impl SpotifyArgs {
    /// The configuration these flags describe, with the login server on `port`.
    pub fn config(&self, port: Option<u16>) -> SpotifyConfig {
        SpotifyConfig {
            client_id: self.client_id.clone(),
            port: port.unwrap_or(DEFAULT_PORT),
            cache_dir: self.cache.clone(),
            accounts_url: self.accounts_url.clone(),
            api_url: self.api_url.clone(),
            ..SpotifyConfig::default()
        }
    }
}
