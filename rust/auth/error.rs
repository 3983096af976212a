//! Everything that can go wrong while logging in or keeping a login.
//!
//! `Display` says what happened, with its typed context, for logs; [`AuthError::user_message`]
//! is the short text with what to do, for TouchDesigner, the DAT and the CLI. No variant holds a
//! secret or a response body: the only server text kept is the OAuth `error` code and a
//! sanitized, shortened `error_description`.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::api::TokenError;

/// Which remote service an error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `{accounts_url}/api/token`.
    Token,
    /// `{api_url}/v1/me`.
    Profile,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Token => "Spotify accounts service (token endpoint)",
            Endpoint::Profile => "Spotify Web API (/v1/me)",
        })
    }
}

/// Why a login could not be made, used or kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("no Spotify client id is set")]
    MissingClientId,
    #[error("the {which} `{value}` is not an http(s) URL")]
    BadUrl { which: &'static str, value: String },
    #[error("port {port} on 127.0.0.1 is already in use")]
    PortInUse { port: u16 },
    #[error("could not listen on 127.0.0.1:{port}")]
    Listen {
        port: u16,
        #[source]
        source: io::Error,
    },
    #[error("could not start the login server thread")]
    Thread(#[source] io::Error),
    #[error("could not open a web browser")]
    Browser(#[source] io::Error),

    #[error("the login callback carried no state")]
    MissingState,
    #[error("the login callback's state matches no login in progress")]
    UnknownState,
    #[error("the login callback's state was already used")]
    ReplayedState,
    #[error("the login callback's state has expired")]
    ExpiredState,
    #[error("access was denied in the browser")]
    AccessDenied,
    #[error("Spotify answered the login with error `{code}`")]
    AuthorizeFailed { code: String },
    #[error("the login callback carried no code")]
    MissingCode,
    #[error("the login was not finished within {minutes} minutes")]
    LoginTimedOut { minutes: u64 },
    #[error("the login was cancelled")]
    LoginCancelled,

    #[error("not logged in")]
    NotLoggedIn,
    #[error("the {endpoint} refused the grant (invalid_grant)")]
    InvalidGrant { endpoint: Endpoint },
    #[error("the {endpoint} refused the request: HTTP {status}, `{code}`{}", describe(.description))]
    Refused { endpoint: Endpoint, status: u16, code: String, description: Option<String> },
    #[error("the {endpoint} answered 403 Forbidden")]
    Forbidden { endpoint: Endpoint },
    #[error("the {endpoint} rejected the access token (401)")]
    Unauthorized { endpoint: Endpoint },
    #[error("the {endpoint} is rate limiting (429, retry after {retry_after:?})")]
    RateLimited { endpoint: Endpoint, retry_after: Option<Duration> },
    #[error("the {endpoint} failed with HTTP {status}")]
    Server { endpoint: Endpoint, status: u16 },
    #[error("the {endpoint} answered HTTP {status}")]
    Http { endpoint: Endpoint, status: u16 },
    #[error("could not reach the {endpoint}{}", if *.timed_out { " (timed out)" } else { "" })]
    Network {
        endpoint: Endpoint,
        timed_out: bool,
        /// Stripped of its URL: it may carry a query.
        #[source]
        source: reqwest::Error,
    },
    #[error("the {endpoint} sent a response td-spotify cannot read ({what})")]
    BadResponse { endpoint: Endpoint, what: &'static str },
    #[error("the login was interrupted (the engine is stopping)")]
    Interrupted,

    #[error("no per-user config directory was found for the token store")]
    NoStoreDir,
    #[error("could not {op} the token file {}", .path.display())]
    StoreIo {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the token file {} is unreadable ({reason}); it was kept as {}", .path.display(), .kept_as.display())]
    CorruptStore { path: PathBuf, kept_as: PathBuf, reason: String },
    #[error("another process held the token file lock {} for {waited:?}", .path.display())]
    StoreBusy { path: PathBuf, waited: Duration },
    #[error("the refreshed login is kept in memory only")]
    Unsaved(#[source] Box<AuthError>),
}

fn describe(description: &Option<String>) -> String {
    description.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}

const DEV_MODE: &str = "Apps in Development Mode serve only users added by hand (at most 5) under \
     User Management in the Spotify developer dashboard, and the app's owner needs Spotify Premium";

impl AuthError {
    /// A short, actionable sentence for TouchDesigner's error line, the DAT and the CLI.
    pub fn user_message(&self) -> String {
        self.setup_message()
            .or_else(|| self.login_link_message())
            .or_else(|| self.service_message())
            .or_else(|| self.store_message())
            // Every variant belongs to a family above; a new one still says what happened.
            .unwrap_or_else(|| self.to_string())
    }

    /// Settings, the port and the browser: what the artist sets up before logging in.
    fn setup_message(&self) -> Option<String> {
        use AuthError::*;
        let message = match self {
            MissingClientId => "Set Clientid to your Spotify app's client id (Spotify developer dashboard → \
                                your app → Settings)."
                .into(),
            BadUrl { which, value } => format!("The {which} `{value}` is not a valid http(s) URL."),
            PortInUse { port } => format!(
                "Port {port} is already in use on this computer: set Port to 0 (Auto) and register \
                 http://127.0.0.1/callback (without a port) as a Redirect URI in your Spotify app, or close the \
                 program using port {port}."
            ),
            Listen { port, source } => format!("Could not listen on 127.0.0.1:{port} ({source}): try another Port."),
            Thread(e) => format!("Could not start the login server ({e})."),
            Browser(_) => "Could not open a web browser: open the auth_url row's link in a browser on this \
                           computer."
                .into(),
            _ => return None,
        };
        Some(message)
    }

    /// The browser's answer to a login in progress.
    fn login_link_message(&self) -> Option<String> {
        use AuthError::*;
        let message = match self {
            MissingState | UnknownState => "This login link does not belong to a login in progress: pulse \
                                            Login (or run `td-spotify login`) to start one."
                .into(),
            ReplayedState => "This login link was already used: pulse Login to log in again.".into(),
            ExpiredState => "This login link expired (logins must finish within 10 minutes): pulse Login to \
                             try again."
                .into(),
            AccessDenied => "Login cancelled: access was not allowed in the browser. Nothing was changed; \
                             pulse Login to try again."
                .into(),
            AuthorizeFailed { code } if code == "invalid_client" || code == "unauthorized_client" => format!(
                "Spotify refused the login ({code}): check Clientid and that \
                 http://127.0.0.1:PORT/callback is registered as a redirect URI in your Spotify app."
            ),
            AuthorizeFailed { code } => {
                format!("Spotify refused the login ({code}): pulse Login to try again.")
            }
            MissingCode => "Spotify's answer carried no authorization code: pulse Login to try again.".into(),
            LoginTimedOut { minutes } => {
                format!("The login was not finished within {minutes} minutes: pulse Login to try again.")
            }
            LoginCancelled => "The login was cancelled.".into(),
            _ => return None,
        };
        Some(message)
    }

    /// Spotify's services, once logged in.
    fn service_message(&self) -> Option<String> {
        use AuthError::*;
        let message = match self {
            NotLoggedIn => "Not logged in to Spotify: pulse Login.".into(),
            InvalidGrant { .. } => {
                "Spotify no longer accepts the saved login (it expired, was revoked or was \
                 used elsewhere): pulse Login to log in again."
                    .into()
            }
            Refused { code, .. } if code == "invalid_client" => {
                "Spotify does not accept this client id: check Clientid in your Spotify developer dashboard."
                    .into()
            }
            Refused { endpoint, status, code, description } => {
                format!("The {endpoint} refused the request ({status} {code}{}).", describe(description))
            }
            Forbidden { .. } => format!("Spotify refused this account (403). {DEV_MODE}."),
            Unauthorized { .. } => "Spotify rejected the access token: pulse Login if this persists.".into(),
            RateLimited { retry_after, .. } => match retry_after {
                Some(d) => format!("Spotify is rate limiting; retrying in {} s.", d.as_secs().max(1)),
                None => "Spotify is rate limiting; retrying later.".into(),
            },
            Server { status, .. } => format!("Spotify's service failed (HTTP {status}); retrying later."),
            Http { endpoint, status } => format!("The {endpoint} answered HTTP {status}."),
            Network { endpoint, timed_out, .. } => format!(
                "Could not reach the {endpoint}{}: check the network; retrying later.",
                if *timed_out { " (timed out)" } else { "" }
            ),
            BadResponse { endpoint, what } => format!("The {endpoint} sent an unreadable answer ({what})."),
            Interrupted => "The login was interrupted; pulse Login to try again.".into(),
            _ => return None,
        };
        Some(message)
    }

    /// The saved login on this computer.
    fn store_message(&self) -> Option<String> {
        use AuthError::*;
        let message = match self {
            NoStoreDir => "No per-user config directory was found: set Tokencache to a folder for the saved \
                           login."
                .into(),
            StoreIo { op, path, source } => {
                format!("Could not {op} the saved login at {} ({source}).", path.display())
            }
            CorruptStore { path, kept_as, reason } => format!(
                "The saved login at {} was unreadable ({reason}) and was kept as {}. Pulse Login to log in \
                 again.",
                path.display(),
                kept_as.display()
            ),
            StoreBusy { path, .. } => format!(
                "Another td-spotify (a TouchDesigner or the command line) kept the saved login busy at {}; \
                 trying again.",
                path.display()
            ),
            Unsaved(cause) => format!(
                "Logged in, but the newest login is kept in memory only and td-spotify keeps trying to save \
                 it: {} Check the Tokencache folder (free space, write permission).",
                cause.user_message()
            ),
            _ => return None,
        };
        Some(message)
    }

    /// Whether the user must change something (settings, the Spotify app, the computer) before
    /// pulsing Login can help: TouchDesigner shows these in red, the rest in yellow.
    pub fn needs_user_fix(&self) -> bool {
        use AuthError::*;
        match self {
            MissingClientId
            | BadUrl { .. }
            | PortInUse { .. }
            | Listen { .. }
            | Forbidden { .. }
            | NoStoreDir => true,
            StoreIo { .. } | Thread(_) | Unsaved(_) => true,
            Refused { code, .. } | AuthorizeFailed { code } => code == "invalid_client",
            _ => false,
        }
    }

    /// Whether this error means the login is gone and a new one is needed.
    pub fn is_login_required(&self) -> bool {
        matches!(
            self,
            AuthError::NotLoggedIn
                | AuthError::InvalidGrant { .. }
                | AuthError::MissingClientId
                | AuthError::CorruptStore { .. }
        )
    }
}

impl From<&AuthError> for TokenError {
    fn from(e: &AuthError) -> Self {
        if e.is_login_required() {
            TokenError::LoginRequired { reason: e.user_message() }
        } else {
            TokenError::Unavailable { reason: e.user_message() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_actionable() {
        let e = AuthError::PortInUse { port: 8888 };
        assert!(e.to_string().contains("8888"));
        assert!(e.user_message().contains("8888") && e.user_message().contains("Port"));
        assert!(AuthError::Forbidden { endpoint: Endpoint::Profile }.user_message().contains("Premium"));
        assert!(AuthError::InvalidGrant { endpoint: Endpoint::Token }.user_message().contains("pulse Login"));
        let t: TokenError = (&AuthError::InvalidGrant { endpoint: Endpoint::Token }).into();
        assert!(matches!(t, TokenError::LoginRequired { .. }));
        let t: TokenError = (&AuthError::Server { endpoint: Endpoint::Token, status: 503 }).into();
        assert!(matches!(t, TokenError::Unavailable { .. }));
    }
}
