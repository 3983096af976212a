//! Spotify's rate limit: reading `Retry-After`.
//!
//! Spotify counts requests per app over a rolling 30-second window and answers 429 with
//! `Retry-After` in whole seconds. The wait is honoured exactly: asking earlier only extends it.

use std::time::Duration;

/// Longest wait we take from a header; a bogus huge value must not park the engine for ever.
/// (Spotify has been seen asking for most of a day after abuse, so the cap is generous.)
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The wait a `Retry-After` header asks for, if it is a number of seconds.
///
/// RFC 9110 also allows an HTTP date; Spotify sends seconds, so a date (or garbage) yields `None`
/// and the caller falls back to its own backoff.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(seconds).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_read_exactly() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("99999999"), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn anything_else_is_ignored() {
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("NaN"), None);
        assert_eq!(parse_retry_after(""), None);
    }
}
