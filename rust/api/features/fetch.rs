//! The two requests, through the general [`ApiClient`] with this module's own timeout and body
//! cap, and the errors the cache tells apart.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::models::{AudioAnalysis, AudioFeatures};
use super::UNAVAILABLE_WARNING;
use crate::api::client::{ApiClient, Limits};
use crate::api::error::{seconds, ApiError};
use crate::api::TokenProvider;
use crate::model::Stats;

/// Timeout of one request (an analysis can be a megabyte).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Which endpoint a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Features,
    Analysis,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Features => "audio features",
            Endpoint::Analysis => "audio analysis",
        })
    }
}

/// Why features could not be had. Transport, token and server failures are the API client's
/// [`ApiError`]s; only what this module treats differently gets its own variant.
#[derive(Debug, thiserror::Error)]
pub enum FeaturesError {
    /// Not a base-62 Spotify id (a local file, an ad): never sent.
    #[error("not a Spotify track id: {id:?}")]
    InvalidId { id: String },
    /// The app may not use this endpoint.
    #[error("Spotify refused {what} (HTTP 403)")]
    Forbidden { what: Endpoint },
    #[error("Spotify has no {what} for this track (HTTP 404)")]
    NotFound { what: Endpoint },
    #[error("Spotify rate-limited {what} (HTTP 429), retry after {retry_after:?}")]
    RateLimited { what: Endpoint, retry_after: Option<Duration> },
    /// The body was not what the endpoint documents. The reason names the position, never the
    /// content.
    #[error("unreadable {what} from Spotify: {reason}")]
    Decode { what: Endpoint, reason: String },
    /// Anything else the client reports (offline, timeout, 5xx, login refused…).
    #[error("{what} failed")]
    Api {
        what: Endpoint,
        #[source]
        source: ApiError,
    },
}

impl FeaturesError {
    /// The client's error, sorted into what this module treats differently.
    fn from_api(what: Endpoint, error: ApiError) -> FeaturesError {
        match error {
            ApiError::Forbidden { .. } => FeaturesError::Forbidden { what },
            ApiError::Http { status: 404 } | ApiError::NoActiveDevice => FeaturesError::NotFound { what },
            ApiError::RateLimited { retry_after } => FeaturesError::RateLimited { what, retry_after },
            ApiError::Malformed { .. } | ApiError::TooLarge { .. } => {
                FeaturesError::Decode { what, reason: error.to_string() }
            }
            source => FeaturesError::Api { what, source },
        }
    }

    /// Short, actionable text for TouchDesigner.
    pub fn user_message(&self) -> String {
        match self {
            FeaturesError::Forbidden { .. } => UNAVAILABLE_WARNING.to_owned(),
            FeaturesError::InvalidId { .. } | FeaturesError::NotFound { .. } => {
                "No audio features for this item".to_owned()
            }
            FeaturesError::RateLimited { retry_after, .. } => match retry_after {
                Some(d) => format!("Spotify asked to slow down; audio features retry in {}", seconds(*d)),
                None => "Spotify asked to slow down; audio features retry later".to_owned(),
            },
            FeaturesError::Decode { .. } => "Audio features: unexpected answer from Spotify".to_owned(),
            FeaturesError::Api { source, .. } => format!("Audio features: {}", source.user_message()),
        }
    }
}

/// `GET {api_url}/v1/audio-features/{track_id}` through `client` (its timeouts, token refresh
/// and error handling), counted in `stats`.
pub async fn fetch_audio_features(
    client: &ApiClient,
    tokens: &dyn TokenProvider,
    track_id: &str,
    stats: &mut Stats,
) -> Result<AudioFeatures, FeaturesError> {
    get(client, tokens, track_id, Endpoint::Features, stats).await
}

/// `GET {api_url}/v1/audio-analysis/{track_id}`, like [`fetch_audio_features`].
pub async fn fetch_audio_analysis(
    client: &ApiClient,
    tokens: &dyn TokenProvider,
    track_id: &str,
    stats: &mut Stats,
) -> Result<AudioAnalysis, FeaturesError> {
    get(client, tokens, track_id, Endpoint::Analysis, stats).await
}

/// Whether `id` looks like a Spotify id (base 62), so it can go into a URL path as is.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

async fn get<T: DeserializeOwned>(
    client: &ApiClient,
    tokens: &dyn TokenProvider,
    track_id: &str,
    what: Endpoint,
    stats: &mut Stats,
) -> Result<T, FeaturesError> {
    if !valid_id(track_id) {
        return Err(FeaturesError::InvalidId { id: track_id.chars().take(64).collect() });
    }
    let path = match what {
        Endpoint::Features => "audio-features",
        Endpoint::Analysis => "audio-analysis",
    };
    let url =
        client.url(&format!("/v1/{path}/{track_id}"), None).map_err(|e| FeaturesError::from_api(what, e))?;
    let limits = Limits { timeout: REQUEST_TIMEOUT, max_body: MAX_BODY };
    let exchange = client.get_json_with::<T>(&url, tokens, limits).await;
    exchange.count_in(stats);
    match exchange.result {
        Ok(Some(body)) => Ok(body),
        // 200 with no body, or 204: nothing to show for this track.
        Ok(None) => Err(FeaturesError::NotFound { what }),
        Err(e) => Err(FeaturesError::from_api(what, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::features::testutil::{token, FakeApi};

    #[tokio::test]
    async fn malformed_bodies_are_errors_without_the_body() {
        let api = FakeApi::start(|_| (200, r#"{"tempo": [secret-ish"#.into(), vec![]));
        let err =
            fetch_audio_features(&api.client(), &token("t"), "aaa", &mut Stats::default()).await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(matches!(err, FeaturesError::Decode { .. }), "{text}");
        assert!(!text.contains("secret-ish"), "{text}");
    }
}
