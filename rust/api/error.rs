//! What can go wrong talking to the Web API, with the context needed to say so.
//!
//! Variants carry typed context, never a response body or a token. [`ApiError::user_message`] is
//! the short text TouchDesigner and the CLI show; `Display` and the `source` chain go to logs.

use std::time::Duration;

use super::TokenError;

/// What the artist reads after a 404 `NO_ACTIVE_DEVICE` to a player command.
pub const NO_ACTIVE_DEVICE: &str = "No active Spotify device: start playback on a device first";

/// What the artist reads after a 403 without `PREMIUM_REQUIRED`: for a Development Mode app (every
/// new app, since March 2026) that is an account missing from the app's allowlist, or an owner
/// without Premium.
pub const DEVELOPMENT_MODE: &str = "Spotify refused this account (403): an app in Development Mode serves \
     only the accounts added to its allowlist (User Management in the app's dashboard on \
     developer.spotify.com, at most 5 users), and only while the app's owner has Spotify Premium. \
     Add this account there, or log in with one that is";

/// Why Spotify answered 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForbiddenReason {
    /// `PREMIUM_REQUIRED`: playback control needs a Premium account.
    PremiumRequired,
    /// Anything else; for a Development Mode app this almost always means the account is not one
    /// of the (at most 5) users added in the app's dashboard.
    NotAllowed,
}

/// Which way a body could not be read as JSON (never the body itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedKind {
    /// The JSON stops in the middle.
    Truncated,
    /// Not JSON at all, or broken JSON.
    Syntax,
    /// Valid JSON, but not an object where one is needed.
    Shape,
}

impl MalformedKind {
    fn describe(self) -> &'static str {
        match self {
            MalformedKind::Truncated => "cut short",
            MalformedKind::Syntax => "not valid JSON",
            MalformedKind::Shape => "not the expected shape",
        }
    }
}

/// A failed exchange with the Web API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The configured base URL is unusable.
    #[error("invalid Web API URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    /// The HTTP client could not be built (e.g. no TLS backend).
    #[error("could not set up the HTTP client: {detail}")]
    ClientInit { detail: String },
    /// The host name did not resolve.
    #[error("could not resolve {host}")]
    Dns { host: String },
    /// Nothing listens at the address.
    #[error("connection to {host} refused")]
    Refused { host: String },
    /// The connection could not be made for another reason (unreachable network, TLS…).
    #[error("could not connect to {host}: {detail}")]
    Connect { host: String, detail: String },
    /// No connection within the connect timeout.
    #[error("no connection to {host} within {after:?}")]
    ConnectTimeout { host: String, after: Duration },
    /// No complete answer within the request timeout.
    #[error("no answer within {after:?}")]
    Timeout { after: Duration },
    /// The connection broke before the answer was complete.
    #[error("the connection broke mid-answer: {detail}")]
    Interrupted { detail: String },
    /// The body is larger than anything the endpoint should send.
    #[error("the answer is larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// 401 even with a freshly refreshed token.
    #[error("unauthorized (401) after refreshing the token")]
    Unauthorized,
    /// 403.
    #[error("forbidden (403): {reason:?}")]
    Forbidden { reason: ForbiddenReason },
    /// 429; `retry_after` is Spotify's `Retry-After`, when it sent a usable one.
    #[error("rate limited (429), retry after {retry_after:?}")]
    RateLimited { retry_after: Option<Duration> },
    /// 404 to a player command: no device is active (Spotify's `NO_ACTIVE_DEVICE`).
    #[error("no active device (404)")]
    NoActiveDevice,
    /// 5xx.
    #[error("server error (HTTP {status})")]
    Server { status: u16 },
    /// Any other unexpected status.
    #[error("unexpected HTTP status {status}")]
    Http { status: u16 },
    /// The body could not be read as JSON; where, but not what.
    #[error("malformed response ({kind:?} at line {line}, column {column})")]
    Malformed { kind: MalformedKind, line: usize, column: usize },
    /// No access token could be had.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// How the poller should react to an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Spotify cannot be reached or is failing: back off, keep the last data, recover alone.
    Offline,
    /// 429: wait exactly as long as asked.
    RateLimited,
    /// A body we could not read: keep the last good data and try again.
    Malformed,
    /// The user must log in (again).
    Login,
    /// Something the user must fix (403, bad URL, unexpected status).
    Fatal,
}

impl ApiError {
    /// How to react to this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            ApiError::Dns { .. }
            | ApiError::Refused { .. }
            | ApiError::Connect { .. }
            | ApiError::ConnectTimeout { .. }
            | ApiError::Timeout { .. }
            | ApiError::Interrupted { .. }
            | ApiError::Server { .. }
            | ApiError::Token(TokenError::Unavailable { .. }) => ErrorClass::Offline,
            ApiError::RateLimited { .. } => ErrorClass::RateLimited,
            ApiError::Malformed { .. } | ApiError::TooLarge { .. } => ErrorClass::Malformed,
            ApiError::Unauthorized | ApiError::Token(TokenError::LoginRequired { .. }) => ErrorClass::Login,
            ApiError::BadUrl { .. }
            | ApiError::ClientInit { .. }
            | ApiError::Forbidden { .. }
            | ApiError::NoActiveDevice
            | ApiError::Http { .. } => ErrorClass::Fatal,
        }
    }

    /// Short, actionable text for TouchDesigner's warning/error and the CLI.
    pub fn user_message(&self) -> String {
        match self {
            ApiError::BadUrl { url, reason } => format!("The Web API URL {url:?} is not usable ({reason})"),
            ApiError::ClientInit { detail } => format!("Could not set up HTTPS: {detail}"),
            ApiError::Dns { host } => {
                format!("Cannot find {host}: check the internet connection (DNS lookup failed)")
            }
            ApiError::Refused { host } => {
                format!("{host} refused the connection: check the internet connection")
            }
            ApiError::Connect { host, .. } => {
                format!("Cannot connect to {host}: check the internet connection")
            }
            ApiError::ConnectTimeout { host, after } => {
                format!("No connection to {host} within {}", seconds(*after))
            }
            ApiError::Timeout { after } => format!("Spotify did not answer within {}", seconds(*after)),
            ApiError::Interrupted { .. } => "The connection to Spotify broke mid-answer".to_owned(),
            ApiError::TooLarge { .. } => {
                "Spotify sent an unexpectedly large answer; kept the last good data".to_owned()
            }
            ApiError::Unauthorized => {
                "Spotify rejected the login even after a refresh: log in again (pulse Login)".to_owned()
            }
            ApiError::Forbidden { reason: ForbiddenReason::PremiumRequired } => {
                "Spotify Premium is required for playback control (Spotify answered 403 PREMIUM_REQUIRED)"
                    .to_owned()
            }
            ApiError::Forbidden { reason: ForbiddenReason::NotAllowed } => DEVELOPMENT_MODE.to_owned(),
            ApiError::RateLimited { retry_after: Some(after) } => {
                format!("Spotify asked us to slow down (429): next request in {}", seconds(*after))
            }
            ApiError::RateLimited { retry_after: None } => "Spotify asked us to slow down (429)".to_owned(),
            ApiError::NoActiveDevice => NO_ACTIVE_DEVICE.to_owned(),
            ApiError::Server { status } => format!("Spotify is having trouble (HTTP {status})"),
            // Spotify's answers to a request it cannot take as sent (wrong method, no
            // `Content-Length`): nothing the artist did, so say where to report it.
            ApiError::Http { status: status @ (405 | 411) } => format!(
                "Spotify refused a request td-spotify sent (HTTP {status}): a td-spotify bug, please report it"
            ),
            ApiError::Http { status } => format!("Spotify answered HTTP {status} to a request"),
            ApiError::Malformed { kind, .. } => {
                format!("Spotify sent an answer that is {}; kept the last good data", kind.describe())
            }
            ApiError::Token(TokenError::LoginRequired { reason }) => format!("Login required: {reason}"),
            ApiError::Token(TokenError::Unavailable { reason }) => {
                format!("Cannot reach Spotify's accounts service: {reason}")
            }
        }
    }
}

/// A delay as people read it: `8 s`, `1.5 s`, `300 ms`, `4 min`, `22 h`.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 7200.0 {
        format!("{:.0} h", s / 3600.0)
    } else if s >= 120.0 {
        format!("{:.0} min", s / 60.0)
    } else if s >= 10.0 || ((s - s.round()).abs() < 0.05 && s >= 1.0) {
        format!("{s:.0} s")
    } else if s >= 1.0 {
        format!("{s:.1} s")
    } else {
        format!("{:.0} ms", s * 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_read_naturally() {
        assert_eq!(seconds(Duration::from_secs(8)), "8 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(seconds(Duration::from_millis(300)), "300 ms");
        assert_eq!(seconds(Duration::from_secs(240)), "4 min");
        assert_eq!(seconds(Duration::from_secs(80_000)), "22 h");
    }

    #[test]
    fn forbidden_explains_development_mode() {
        let m = ApiError::Forbidden { reason: ForbiddenReason::NotAllowed }.user_message();
        assert!(m.contains("at most 5 users") && m.contains("dashboard"), "{m}");
        assert!(m.contains("allowlist") && m.contains("owner has Spotify Premium"), "{m}");
        let m = ApiError::Forbidden { reason: ForbiddenReason::PremiumRequired }.user_message();
        assert!(m.contains("PREMIUM_REQUIRED"), "{m}");
        assert!(m.starts_with("Spotify Premium is required for playback control"), "{m}");
        let m = ApiError::NoActiveDevice.user_message();
        assert_eq!(m, "No active Spotify device: start playback on a device first");
        for status in [405, 411] {
            let m = ApiError::Http { status }.user_message();
            assert!(m.contains(&status.to_string()) && m.contains("bug"), "{m}");
        }
    }

    #[test]
    fn classes() {
        assert_eq!(ApiError::Server { status: 502 }.class(), ErrorClass::Offline);
        assert_eq!(ApiError::RateLimited { retry_after: None }.class(), ErrorClass::RateLimited);
        assert_eq!(ApiError::Unauthorized.class(), ErrorClass::Login);
        assert_eq!(ApiError::Forbidden { reason: ForbiddenReason::NotAllowed }.class(), ErrorClass::Fatal);
        let e = ApiError::Malformed { kind: MalformedKind::Truncated, line: 1, column: 9 };
        assert_eq!(e.class(), ErrorClass::Malformed);
    }
}
