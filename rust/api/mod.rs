//! Spotify Web API: client, tolerant models, rate limits.

pub mod features;

use crate::engine::source::BoxFuture;

/// Why no access token could be had. `user_message` is what TouchDesigner shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No session, or the refresh token was refused (`invalid_grant`): the user must log in.
    #[error("login required: {reason}")]
    LoginRequired { reason: String },
    /// The accounts service could not be reached; try again later.
    #[error("could not reach the accounts service: {reason}")]
    Unavailable { reason: String },
}

/// Supplies bearer tokens to the API client. Implemented by the login session (`auth`), and by
/// fixed tokens in tests.
pub trait TokenProvider: Send + Sync {
    /// A valid access token, refreshed first if it is about to expire.
    fn access_token(&self) -> BoxFuture<'_, Result<String, TokenError>>;

    /// The API answered 401 with `rejected`: refresh once and return the new token.
    fn refresh_after_unauthorized(&self, rejected: &str) -> BoxFuture<'_, Result<String, TokenError>>;
}
