//! Audio features of the playing track, fetched off the poll's critical path.
//!
//! When a new track id shows up, the playback is published at once without features (or with
//! cached ones); the features and analysis are asked for in the engine's next call, and the
//! same playback is published again with them. Every later playback of that track carries them.
//! A 403 is asked once for the whole app ([`FeatureCache`]); tempo then falls back to the audio
//! input or `Bpm`/`Tap`.

use std::time::{Duration, Instant};

use crate::api::features::{FeatureCache, FeatureStatus, FeaturesError};
use crate::api::{ApiClient, TokenProvider};
use crate::engine::poller::Poller;
use crate::engine::snapshot::EngineState;
use crate::model::playback::{ItemKind, Playback};

/// Wait after a 429 that named no `Retry-After`.
const RATE_LIMIT_FALLBACK: Duration = Duration::from_secs(10);

/// The playing track's features and the app-wide cache.
#[derive(Debug, Default)]
pub struct TrackFeatures {
    cache: FeatureCache,
    /// Id of the Spotify track playing, if one is.
    current: Option<String>,
    /// What is known about it; `None` until asked (or while a retry is pending).
    status: Option<FeatureStatus>,
}

impl TrackFeatures {
    /// Notes the item of a freshly polled playback and puts what is known onto it.
    pub fn observe(&mut self, playback: &mut Playback, now: Instant) {
        let id = playback
            .item
            .as_ref()
            .filter(|item| item.kind == ItemKind::Track)
            .and_then(|item| item.id.clone());
        if id != self.current {
            self.current = id;
            self.status = None;
        }
        if self.status.is_none() {
            if let Some(id) = &self.current {
                self.status =
                    self.cache.lookup(id, now).filter(|s| !matches!(s, FeatureStatus::Waiting { .. }));
            }
        }
        self.apply(playback);
    }

    /// Puts the current track's features (or their absence) onto `playback`.
    pub fn apply(&self, playback: &mut Playback) {
        if let (Some(item), Some(status)) = (&mut playback.item, &self.status) {
            status.apply_to(item);
        }
    }

    /// Whether the current track's features should be asked for now.
    pub fn pending(&self, now: Instant) -> bool {
        match &self.current {
            Some(id) if self.status.is_none() => {
                !matches!(self.cache.lookup(id, now), Some(FeatureStatus::Waiting { .. }))
            }
            _ => false,
        }
    }

    /// Asks for the current track's features. `true` when something new is known (publish the
    /// playback again with [`TrackFeatures::apply`]).
    pub async fn fetch(
        &mut self,
        client: &ApiClient,
        tokens: &dyn TokenProvider,
        poller: &mut Poller,
        now: Instant,
    ) -> bool {
        let Some(id) = self.current.clone() else { return false };
        let mut stats = poller.stats();
        let result = self.cache.get(client, tokens, &id, now, &mut stats).await;
        poller.set_stats(stats);
        match result {
            Ok(FeatureStatus::Waiting { .. }) => false,
            Ok(status) => {
                self.status = Some(status);
                true
            }
            Err(FeaturesError::RateLimited { retry_after, .. }) => {
                poller.rate_limited_until(now + retry_after.unwrap_or(RATE_LIMIT_FALLBACK));
                false
            }
            Err(e) => {
                tracing::debug!(error = %e, "audio features not available yet; retrying later");
                false
            }
        }
    }

    /// The `features` row's note and, when nothing else warns, the 403 notice.
    pub fn annotate(&self, state: &mut EngineState, now: Instant) {
        state.features_note = self.cache.row_note().map(str::to_owned);
        if state.warning.is_none() {
            state.warning = self.cache.notice(now).map(str::to_owned);
        }
    }
}
