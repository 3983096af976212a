//! Spotify login: OAuth 2.1 authorization code with PKCE through a loopback server, token store,
//! refresh.
//!
//! # The flow
//!
//! 1. [`Session::start_login`] makes a PKCE pair and an unguessable `state`
//!    ([`flows::PendingFlows`]), starts the [`loopback`] server on `127.0.0.1:PORT` and opens the
//!    system browser at Spotify's authorize page.
//! 2. Spotify redirects the browser to `http://127.0.0.1:PORT/callback?code=…&state=…`. The
//!    loopback thread checks the state (single use, 10-minute expiry) and hands the code and the
//!    verifier to the session's runtime, which exchanges them at the token endpoint ([`oauth`]),
//!    writes the tokens to the [`store`] and answers the browser with a small page ([`pages`]).
//! 3. From then on the session hands out access tokens ([`crate::api::TokenProvider`]) and
//!    refreshes them before they expire, keeping a rotated refresh token and the old one when
//!    the response omits it. Only `invalid_grant` ends a session; a 429, a 5xx or a timeout
//!    never does.
//!
//! # Secrets
//!
//! Tokens, the verifier, the code, the state and the authorize URL (it carries the state) are
//! [`secret`] newtypes whose `Debug` prints `[redacted]` and which have no `Display`. Only the
//! token store serializes tokens. Errors ([`AuthError`]) never carry response bodies.
//!
//! # Spotify's Development Mode
//!
//! A new Spotify app is in Development Mode: its owner needs Spotify Premium, and each user (at
//! most 5) must be added by hand in the app's dashboard (User Management). Anyone else can log in
//! but gets 403 from the Web API; [`AuthError::Forbidden`] says so.

mod error;
pub mod flows;
pub mod loopback;
pub mod oauth;
pub mod pages;
pub mod pkce;
pub mod secret;
mod session;
pub mod store;

pub use error::AuthError;
pub use session::{AuthState, AuthView, LoginOutcome, LoginStart, Session, SessionConfig};

/// What td-spotify asks Spotify for: read playback (now playing, device, recently played) and
/// control it (play/pause, next, previous).
pub const SCOPES: &[&str] = &[
    "user-read-playback-state",
    "user-read-currently-playing",
    "user-modify-playback-state",
    "user-read-recently-played",
];

/// The redirect URI Spotify sends the browser back to, on the port the login server listens
/// on. Spotify rejects `localhost`, hence the literal loopback address.
pub fn redirect_uri(port: u16) -> String {
    format!("http://127.0.0.1:{port}/callback")
}

/// What to register in the Spotify app for the `Port` setting `port`: without a port for Auto
/// (0), which Spotify matches with any port, else exactly that port.
pub fn registered_redirect_uri(port: u16) -> String {
    match port {
        0 => "http://127.0.0.1/callback".to_owned(),
        port => redirect_uri(port),
    }
}

#[cfg(test)]
mod testutil;
