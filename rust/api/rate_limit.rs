//! `Retry-After`: the one parser every 429 goes through (Web API and accounts service alike).
//!
//! Spotify counts requests per app over a rolling 30-second window and answers 429 with
//! `Retry-After` in whole seconds. The wait is honoured exactly: asking earlier only extends it.
//! The header comes from the network, so nothing it says may hurt the engine: `1e20` seconds
//! would overflow `Duration` (a panic) or `Instant + wait` (another), so every wait is capped
//! before it becomes a `Duration`.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Longest wait we take from a header; a bogus huge value must not park the engine for ever.
/// (Spotify has been seen asking for most of a day after abuse, so the cap is generous.)
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The wait a `Retry-After` value asks for, read at `now` (for the HTTP-date form).
///
/// - seconds (`3`, and leniently `1.5` or `1e3`): that long, at most [`MAX_RETRY_AFTER`];
/// - an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`, RFC 9110 §10.2.3): the time until then, zero
///   if it has passed, at most [`MAX_RETRY_AFTER`];
/// - anything else (negative, `NaN`, `inf`, garbage, not ASCII): `None`, and the caller uses its
///   own backoff. A negative wait is a broken server, not a request to hurry.
pub fn parse_retry_after_at(value: &[u8], now: SystemTime) -> Option<Duration> {
    let text = std::str::from_utf8(value).ok()?.trim();
    if text.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '-' || c == '+') {
        let seconds: f64 = text.parse().ok()?;
        if !seconds.is_finite() || seconds < 0.0 {
            return None;
        }
        // Capped as a float: `Duration::from_secs_f64(1e20)` panics.
        return Some(Duration::from_secs_f64(seconds.min(MAX_RETRY_AFTER.as_secs_f64())));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO).min(MAX_RETRY_AFTER))
}

/// [`parse_retry_after_at`] at the current wall-clock time.
pub fn parse_retry_after(value: &[u8]) -> Option<Duration> {
    parse_retry_after_at(value, SystemTime::now())
}

/// The wait the `Retry-After` header of an answer asks for (see [`parse_retry_after_at`]).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Option<Duration> {
        parse_retry_after(value.as_bytes())
    }

    #[test]
    fn seconds_are_read_exactly() {
        assert_eq!(parse("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("+2"), Some(Duration::from_secs(2)));
    }

    #[test]
    fn huge_waits_are_capped_not_fatal() {
        for huge in ["99999999", "1e20", "1e308", "18446744073709551616", "99999999999999999999999999"] {
            assert_eq!(parse(huge), Some(MAX_RETRY_AFTER), "{huge}");
        }
        // What the callers do with it must not overflow either.
        let _ = std::time::Instant::now() + parse("1e20").unwrap();
    }

    #[test]
    fn http_dates_count_from_now() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let at = |v: &str| parse_retry_after_at(v.as_bytes(), now);
        assert_eq!(at("Wed, 21 Oct 2015 07:28:30 GMT"), Some(Duration::from_secs(30)));
        assert_eq!(at("Wed, 21 Oct 2015 07:27:00 GMT"), Some(Duration::ZERO), "past: go now");
        assert_eq!(at("Sun, 06 Nov 2044 08:49:37 GMT"), Some(MAX_RETRY_AFTER));
        // The obsolete forms RFC 9110 still asks recipients to accept.
        assert_eq!(at("Wednesday, 21-Oct-15 07:28:10 GMT"), Some(Duration::from_secs(10)));
        assert_eq!(at("Wed Oct 21 07:28:20 2015"), Some(Duration::from_secs(20)));
    }

    #[test]
    fn anything_else_falls_back_to_the_callers_backoff() {
        for bad in ["-5", "-0.5", "-1e20", "NaN", "inf", "-inf", "", "soon", "3 s", "0x10", "Wed, 99 Oct"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert_eq!(parse_retry_after(b"\xff\xfe3"), None);
    }

    #[test]
    fn headers_are_read_from_the_map() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, "1e20".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(MAX_RETRY_AFTER));
    }
}
