//! A fixed access token: the CLI's `TD_SPOTIFY_ACCESS_TOKEN` (used as is, never refreshed), and tests.

use super::{TokenError, TokenProvider};
use crate::model::BoxFuture;

/// Hands out one access token and cannot refresh it: a 401 means log in again.
pub struct StaticToken {
    token: String,
    /// Where the token came from, for the message when it is rejected.
    origin: &'static str,
}

impl StaticToken {
    /// `origin` names where the token came from, e.g. `TD_SPOTIFY_ACCESS_TOKEN`.
    pub fn new(token: impl Into<String>, origin: &'static str) -> Self {
        StaticToken { token: token.into(), origin }
    }
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticToken").field("token", &"[redacted]").field("origin", &self.origin).finish()
    }
}

impl TokenProvider for StaticToken {
    fn access_token(&self) -> BoxFuture<'_, Result<String, TokenError>> {
        let token = self.token.clone();
        Box::pin(async move { Ok(token) })
    }

    fn refresh_after_unauthorized(&self, _rejected: &str) -> BoxFuture<'_, Result<String, TokenError>> {
        let reason =
            format!("the access token from {} was rejected (expired?) and cannot be refreshed", self.origin);
        Box::pin(async move { Err(TokenError::LoginRequired { reason }) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token() {
        let t = StaticToken::new("SENTINEL-abc", "test");
        assert!(!format!("{t:?}").contains("SENTINEL"));
    }
}
