//! Spotify Web API: client, tolerant models, rate limits.
//!
//! [`client::ApiClient`] makes bounded requests with tokens from a [`TokenProvider`];
//! [`models`] and [`features`] hold only what we show, read by [`lenient`], the one tolerant
//! reader of every body; [`convert`] maps answers to the engine's model. The poller
//! ([`crate::engine::poller`]) decides when to ask.

pub mod client;
pub mod convert;
pub mod error;
pub mod models;
pub mod rate_limit;
pub mod token;

pub use client::{ApiClient, ClientOptions, Exchange, RawResponse, Transport};
pub use error::{ApiError, ErrorClass};
pub use token::StaticToken;

pub mod features;
pub mod lenient;

use crate::model::BoxFuture;

/// The reason phrase of an HTTP status for a status line or an error page ("Not Found"), from
/// the `http` crate's table; "Status" for a code it does not name.
pub fn reason_phrase(status: u16) -> &'static str {
    http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Status")
}

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
/// [`StaticToken`] (a fixed token: the CLI's `TD_SPOTIFY_ACCESS_TOKEN`, tests).
pub trait TokenProvider: Send + Sync {
    /// A valid access token, refreshed first if it is about to expire.
    fn access_token(&self) -> BoxFuture<'_, Result<String, TokenError>>;

    /// The API answered 401 with `rejected`: refresh once and return the new token.
    fn refresh_after_unauthorized(&self, rejected: &str) -> BoxFuture<'_, Result<String, TokenError>>;
}
