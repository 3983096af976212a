//! Secrets as newtypes: `Debug` prints `Name([redacted])`, there is no `Display`, and reading
//! the value takes an explicit `.secret()`.
//!
//! Only [`AccessToken`] and [`RefreshToken`] can be serialized, for the token store. The
//! verifier is deliberately not `Clone`: it is used once, for one exchange.

use std::fmt;

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The secret itself.
            ///
            /// # Security Warning
            ///
            /// Send it only where it belongs (Spotify's endpoints, the token store); never log
            /// it, format it into an error or show it to the user.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_type! {
    /// A bearer token for the Web API (lasts about an hour).
    #[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(transparent)]
    AccessToken
}

secret_type! {
    /// A long-lived token that buys new access tokens; Spotify may rotate it on each refresh.
    #[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(transparent)]
    RefreshToken
}

secret_type! {
    /// The one-time code Spotify hands the loopback server.
    AuthCode
}

secret_type! {
    /// The PKCE code verifier: proves the exchange comes from whoever started the login.
    PkceVerifier
}

secret_type! {
    /// The OAuth `state`: ties a callback to the login this program started.
    #[derive(Clone)]
    LoginState
}

secret_type! {
    /// The authorize URL, which carries the `state`.
    #[derive(Clone)]
    AuthorizeUrl
}

/// Compares two secrets in time independent of where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTINEL: &str = "SENTINEL-7f3a9c-do-not-leak";

    #[test]
    fn debug_never_shows_the_value() {
        let shown = [
            format!("{:?}", AccessToken::new(SENTINEL)),
            format!("{:?}", RefreshToken::new(SENTINEL)),
            format!("{:?}", AuthCode::new(SENTINEL)),
            format!("{:?}", PkceVerifier::new(SENTINEL)),
            format!("{:?}", LoginState::new(SENTINEL)),
            format!("{:#?}", AuthorizeUrl::new(SENTINEL)),
            format!("{:?}", Some(vec![AccessToken::new(SENTINEL)])),
        ];
        for s in shown {
            assert!(!s.contains(SENTINEL), "{s}");
            assert!(s.contains("[redacted]"), "{s}");
        }
        assert_eq!(AccessToken::new(SENTINEL).secret(), SENTINEL);
    }

    #[test]
    fn tokens_serialize_as_plain_strings_for_the_store() {
        let json = serde_json::to_string(&RefreshToken::new("r1")).unwrap();
        assert_eq!(json, "\"r1\"");
        let back: RefreshToken = serde_json::from_str(&json).unwrap();
        assert_eq!(back.secret(), "r1");
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
