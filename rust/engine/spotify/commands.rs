//! Playback pulses (`Playpause`, `Next`, `Previous`) as Web API player commands.
//!
//! Spotify only obeys them for Premium accounts (403 `PREMIUM_REQUIRED`) and only when a device
//! is active (404 `NO_ACTIVE_DEVICE`); both become a warning that says what to do, never a
//! silent no-op.

use std::time::Duration;

use crate::api::client::{self, ApiClient, Method};
use crate::api::error::{seconds, ApiError, ForbiddenReason};
use crate::api::TokenProvider;
use crate::engine::poller::Poller;
use crate::model::Pulse;

/// The warning after a 403 `PREMIUM_REQUIRED`.
pub const PREMIUM_NEEDED: &str = "Spotify Premium is required for playback control";
/// The warning after a 404 (`NO_ACTIVE_DEVICE`).
pub const NO_DEVICE: &str = crate::api::error::NO_ACTIVE_DEVICE;
/// Wait after a 429 that named no `Retry-After`.
const RATE_LIMIT_FALLBACK: Duration = Duration::from_secs(10);

/// The request a pulse sends; `playing` is whether playback is known to be running.
pub fn request_for(pulse: Pulse, playing: bool) -> Option<(Method, &'static str)> {
    Some(match pulse {
        Pulse::PlayPause if playing => (Method::Put, "/v1/me/player/pause"),
        Pulse::PlayPause => (Method::Put, "/v1/me/player/play"),
        Pulse::Next => (Method::Post, "/v1/me/player/next"),
        Pulse::Previous => (Method::Post, "/v1/me/player/previous"),
        Pulse::Login | Pulse::Logout | Pulse::ResetCounters => return None,
    })
}

/// Sends `pulse` as a player command. `None`: done (the poller will show the change at once);
/// `Some`: the warning to show.
pub async fn send(
    pulse: Pulse,
    playing: bool,
    client: &ApiClient,
    tokens: &dyn TokenProvider,
    poller: &mut Poller,
) -> Option<String> {
    let (method, path) = request_for(pulse, playing)?;
    if let Some(until) = poller.rate_limited_at(client::now()) {
        return Some(format!(
            "Spotify asked us to slow down (429): {pulse:?} not sent, try again in {}",
            seconds(until.saturating_duration_since(client::now()))
        ));
    }
    let url = match client.url(path, None) {
        Ok(url) => url,
        Err(e) => return Some(e.user_message()),
    };
    let exchange = client.command(method, &url, tokens).await;
    poller.count(&exchange);
    match exchange.result {
        Ok(()) => {
            poller.poll_soon();
            None
        }
        Err(e) => {
            tracing::info!(error = %e, ?pulse, "player command refused");
            Some(match e {
                ApiError::Forbidden { reason: ForbiddenReason::PremiumRequired } => PREMIUM_NEEDED.to_owned(),
                ApiError::NoActiveDevice => NO_DEVICE.to_owned(),
                ApiError::RateLimited { retry_after } => {
                    let wait = retry_after.unwrap_or(RATE_LIMIT_FALLBACK);
                    poller.rate_limited_until(exchange.received_at + wait);
                    format!(
                        "Spotify asked us to slow down (429): {pulse:?} not sent, try again in {}",
                        seconds(wait)
                    )
                }
                other => format!("{pulse:?} failed: {}", other.user_message()),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulses_map_to_spotify_commands() {
        assert_eq!(request_for(Pulse::PlayPause, true), Some((Method::Put, "/v1/me/player/pause")));
        assert_eq!(request_for(Pulse::PlayPause, false), Some((Method::Put, "/v1/me/player/play")));
        assert_eq!(request_for(Pulse::Next, true), Some((Method::Post, "/v1/me/player/next")));
        assert_eq!(request_for(Pulse::Previous, false), Some((Method::Post, "/v1/me/player/previous")));
        assert_eq!(request_for(Pulse::Login, false), None);
    }
}
