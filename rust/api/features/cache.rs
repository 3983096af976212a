//! What we remember per track, and whether this app may ask at all.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::fetch::{fetch_audio_analysis, fetch_audio_features, FeaturesError};
use super::{NOTICE_FOR, UNAVAILABLE, UNAVAILABLE_WARNING};
use crate::api::client::ApiClient;
use crate::api::TokenProvider;
use crate::model::phase::Analysis;
use crate::model::playback::{Features, Item};
use crate::model::Stats;

/// Tracks remembered (a parsed analysis is a few tens of kilobytes).
pub(crate) const CACHE_TRACKS: usize = 32;
/// Consecutive 404s (on different tracks) that count as the endpoint being gone for this app.
const NOT_FOUND_STREAK: u32 = 3;
/// Wait after a failure that gave no `Retry-After`.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// Tempo-like knowledge of one track, ready for [`crate::model::playback::Item`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrackTempo {
    pub features: Features,
    /// Beats, bars, sections and segments, when the analysis was allowed and readable.
    pub analysis: Option<Arc<Analysis>>,
}

/// What the cache can say about a track.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureStatus {
    Available(Arc<TrackTempo>),
    /// Nothing for this track (404, or not a Spotify track); other tracks may have some.
    Missing,
    /// This app may not use the endpoints (403): nothing will be asked again.
    Blocked,
    /// An earlier failure asked us to wait; nothing was requested.
    Waiting {
        until: Instant,
    },
}

impl FeatureStatus {
    /// Puts what is known onto `item` (the Spotify source calls this before publishing):
    /// features and analysis when available, none otherwise. Waiting keeps what the item has.
    pub fn apply_to(&self, item: &mut Item) {
        match self {
            FeatureStatus::Available(t) => {
                item.features = Some(t.features);
                item.analysis.clone_from(&t.analysis);
            }
            FeatureStatus::Missing | FeatureStatus::Blocked => {
                item.features = None;
                item.analysis = None;
            }
            FeatureStatus::Waiting { .. } => {}
        }
    }
}

#[derive(Debug, Clone)]
enum Entry {
    Ready(Arc<TrackTempo>),
    Missing,
}

/// Remembers features per track id (bounded) and whether this app may ask at all.
#[derive(Debug, Default)]
pub struct FeatureCache {
    entries: VecDeque<(String, Entry)>,
    blocked_at: Option<Instant>,
    analysis_blocked: bool,
    not_found_streak: u32,
    retry_at: Option<Instant>,
}

impl FeatureCache {
    pub fn new() -> Self {
        FeatureCache::default()
    }

    /// What is known about `track_id` without asking Spotify.
    pub fn lookup(&self, track_id: &str, now: Instant) -> Option<FeatureStatus> {
        if self.blocked_at.is_some() {
            return Some(FeatureStatus::Blocked);
        }
        if let Some((_, entry)) = self.entries.iter().find(|(id, _)| id == track_id) {
            return Some(match entry {
                Entry::Ready(t) => FeatureStatus::Available(Arc::clone(t)),
                Entry::Missing => FeatureStatus::Missing,
            });
        }
        self.retry_at.filter(|&at| at > now).map(|until| FeatureStatus::Waiting { until })
    }

    /// Features of `track_id`: from the cache, or fetched (features, then analysis) and cached.
    /// `Err` is a failure worth retrying (after [`FeatureStatus::Waiting`]). Every request made is
    /// counted in `stats`.
    pub async fn get(
        &mut self,
        client: &ApiClient,
        tokens: &dyn TokenProvider,
        track_id: &str,
        now: Instant,
        stats: &mut Stats,
    ) -> Result<FeatureStatus, FeaturesError> {
        if let Some(known) = self.lookup(track_id, now) {
            if let FeatureStatus::Available(_) | FeatureStatus::Missing = known {
                self.touch(track_id);
            }
            return Ok(known);
        }
        let features = match fetch_audio_features(client, tokens, track_id, stats).await {
            Ok(f) => f,
            Err(e) => return self.failed(track_id, e, now),
        };
        let analysis = if self.analysis_blocked {
            None
        } else {
            match fetch_audio_analysis(client, tokens, track_id, stats).await {
                Ok(a) => Some(Arc::new(a.to_analysis())),
                Err(FeaturesError::Forbidden { .. }) => {
                    self.analysis_blocked = true;
                    None
                }
                Err(FeaturesError::NotFound { .. }) => None,
                Err(e) => return self.failed(track_id, e, now),
            }
        };
        self.not_found_streak = 0;
        let tempo = Arc::new(TrackTempo { features: features.to_features(analysis.as_deref()), analysis });
        self.insert(track_id, Entry::Ready(Arc::clone(&tempo)));
        Ok(FeatureStatus::Available(tempo))
    }

    /// The warning to show now, if any: for [`NOTICE_FOR`] after the 403 was first seen.
    pub fn notice(&self, now: Instant) -> Option<&'static str> {
        self.blocked_at
            .filter(|&at| now.saturating_duration_since(at) < NOTICE_FOR)
            .map(|_| UNAVAILABLE_WARNING)
    }

    /// What the `features` row should say instead of the default, if anything.
    pub fn row_note(&self) -> Option<&'static str> {
        self.blocked_at.map(|_| UNAVAILABLE)
    }

    /// Whether this app was refused the endpoints.
    pub fn blocked(&self) -> bool {
        self.blocked_at.is_some()
    }

    fn failed(
        &mut self,
        track_id: &str,
        error: FeaturesError,
        now: Instant,
    ) -> Result<FeatureStatus, FeaturesError> {
        match &error {
            FeaturesError::Forbidden { .. } => {
                self.blocked_at = Some(now);
                self.entries.clear();
                Ok(FeatureStatus::Blocked)
            }
            FeaturesError::NotFound { .. } => {
                self.not_found_streak += 1;
                if self.not_found_streak >= NOT_FOUND_STREAK {
                    self.blocked_at = Some(now);
                    return Ok(FeatureStatus::Blocked);
                }
                self.insert(track_id, Entry::Missing);
                Ok(FeatureStatus::Missing)
            }
            FeaturesError::InvalidId { .. } => {
                self.insert(track_id, Entry::Missing);
                Ok(FeatureStatus::Missing)
            }
            FeaturesError::RateLimited { retry_after, .. } => {
                self.retry_at = Some(now + retry_after.unwrap_or(RETRY_AFTER_FAILURE));
                Err(error)
            }
            FeaturesError::Api { .. } | FeaturesError::Decode { .. } => {
                self.retry_at = Some(now + RETRY_AFTER_FAILURE);
                Err(error)
            }
        }
    }

    fn insert(&mut self, track_id: &str, entry: Entry) {
        self.entries.retain(|(id, _)| id != track_id);
        if self.entries.len() >= CACHE_TRACKS {
            self.entries.pop_front();
        }
        self.entries.push_back((track_id.to_owned(), entry));
    }

    /// Marks `track_id` as recently used, so the least recently used track is evicted first.
    fn touch(&mut self, track_id: &str) {
        if let Some(i) = self.entries.iter().position(|(id, _)| id == track_id) {
            if let Some(entry) = self.entries.remove(i) {
                self.entries.push_back(entry);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::features::testutil::{token, FakeApi, ANALYSIS, FEATURES};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_403_is_remembered_and_shown_once() {
        let api =
            FakeApi::start(|_| (403, r#"{"error":{"status":403,"message":"Forbidden"}}"#.into(), vec![]));
        let mut cache = FeatureCache::new();
        let mut stats = Stats::default();
        let t0 = Instant::now();
        let status = cache
            .get(&api.client(), &token("sentinel-token"), "06AKEBrKUckW0KREUWRnvT", t0, &mut stats)
            .await;
        assert!(matches!(status, Ok(FeatureStatus::Blocked)), "{status:?}");
        assert_eq!(api.hits(), vec!["/v1/audio-features/06AKEBrKUckW0KREUWRnvT Bearer sentinel-token"]);

        // Other tracks, later: no more requests.
        for id in ["4uLU6hMCjMI75M1A2tKUQC", "06AKEBrKUckW0KREUWRnvT"] {
            let status = cache
                .get(&api.client(), &token("sentinel-token"), id, t0 + Duration::from_secs(60), &mut stats)
                .await;
            assert!(matches!(status, Ok(FeatureStatus::Blocked)));
        }
        assert_eq!(api.hits().len(), 1, "a 403 must not be asked again");
        assert_eq!((stats.requests, stats.errors), (1, 1), "counted like any other request");

        // Shown once: a warning for a while, then only the row.
        assert_eq!(cache.notice(t0), Some(UNAVAILABLE_WARNING));
        assert_eq!(cache.notice(t0 + NOTICE_FOR), None);
        assert_eq!(cache.row_note(), Some(UNAVAILABLE));
    }

    #[tokio::test]
    async fn features_and_analysis_are_fetched_once_per_track() {
        let api = FakeApi::start(|path| {
            if path.starts_with("/v1/audio-features/") {
                (200, FEATURES.into(), vec![])
            } else {
                (200, ANALYSIS.into(), vec![])
            }
        });
        let mut cache = FeatureCache::new();
        let mut stats = Stats::default();
        let now = Instant::now();
        let id = "06AKEBrKUckW0KREUWRnvT";
        let Ok(FeatureStatus::Available(t)) =
            cache.get(&api.client(), &token("tok"), id, now, &mut stats).await
        else {
            panic!("features expected")
        };
        let f = t.features;
        assert_eq!((f.tempo, f.time_signature, f.key, f.mode), (98.002, 4, Some(5), Some(0)));
        assert!((f.danceability - 0.735).abs() < 1e-9 && (f.loudness + 11.84).abs() < 1e-9);
        assert_eq!(f.beat_offset, 0.49);
        let a = t.analysis.as_ref().unwrap();
        assert_eq!(a.beats(), &[0.49, 1.1, 1.7], "malformed beats are skipped, not the analysis");
        assert_eq!(a.bars(), &[0.49, 2.9]);
        assert_eq!(a.sections(), &[0.0, 20.1]);
        assert_eq!(a.segments().len(), 1);
        assert_eq!(api.hits().len(), 2);
        let again = cache.get(&api.client(), &token("tok"), id, now, &mut stats).await.unwrap();
        let mut item = Item::default();
        again.apply_to(&mut item);
        assert_eq!(item.features, Some(t.features));
        assert!(item.analysis.is_some());
        FeatureStatus::Blocked.apply_to(&mut item);
        assert_eq!((item.features, item.analysis.is_none()), (None, true));
        assert_eq!(again, FeatureStatus::Available(t));
        assert_eq!(api.hits().len(), 2, "cached");
        assert!(!cache.blocked());
    }

    #[tokio::test]
    async fn not_found_is_per_track_until_it_is_everywhere() {
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let api = FakeApi::start(|_| {
            CALLS.fetch_add(1, Ordering::Relaxed);
            (404, String::new(), vec![])
        });
        let mut cache = FeatureCache::new();
        let mut stats = Stats::default();
        let now = Instant::now();
        assert_eq!(
            cache.get(&api.client(), &token("t"), "aaa", now, &mut stats).await.unwrap(),
            FeatureStatus::Missing
        );
        assert_eq!(
            cache.get(&api.client(), &token("t"), "aaa", now, &mut stats).await.unwrap(),
            FeatureStatus::Missing
        );
        assert_eq!(api.hits().len(), 1);
        assert_eq!(
            cache.get(&api.client(), &token("t"), "bbb", now, &mut stats).await.unwrap(),
            FeatureStatus::Missing
        );
        assert_eq!(
            cache.get(&api.client(), &token("t"), "ccc", now, &mut stats).await.unwrap(),
            FeatureStatus::Blocked
        );
        assert_eq!(
            cache.get(&api.client(), &token("t"), "ddd", now, &mut stats).await.unwrap(),
            FeatureStatus::Blocked
        );
        assert_eq!(api.hits().len(), 3);
        // Local files have no id worth sending.
        let mut fresh = FeatureCache::new();
        assert_eq!(
            fresh.get(&api.client(), &token("t"), "../me", now, &mut stats).await.unwrap(),
            FeatureStatus::Missing
        );
        assert_eq!(api.hits().len(), 3);
    }

    #[tokio::test]
    async fn a_429_waits_for_retry_after() {
        let api = FakeApi::start(|_| (429, String::new(), vec![("Retry-After", "3")]));
        let mut cache = FeatureCache::new();
        let mut stats = Stats::default();
        let now = Instant::now();
        let err = cache.get(&api.client(), &token("t"), "aaa", now, &mut stats).await.unwrap_err();
        assert!(
            matches!(err, FeaturesError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(3))
        );
        assert!(err.user_message().contains("3 s"));
        let waiting = cache
            .get(&api.client(), &token("t"), "bbb", now + Duration::from_secs(2), &mut stats)
            .await
            .unwrap();
        assert_eq!(waiting, FeatureStatus::Waiting { until: now + Duration::from_secs(3) });
        assert_eq!(api.hits().len(), 1, "nothing asked before Retry-After");
        let _ = cache.get(&api.client(), &token("t"), "bbb", now + Duration::from_secs(3), &mut stats).await;
        assert_eq!(api.hits().len(), 2);
    }

    #[test]
    fn the_cache_is_bounded_and_keeps_recent_tracks() {
        let mut cache = FeatureCache::new();
        for i in 0..CACHE_TRACKS + 10 {
            cache.insert(&format!("id{i}"), Entry::Missing);
        }
        assert_eq!(cache.entries.len(), CACHE_TRACKS);
        assert!(cache.lookup("id0", Instant::now()).is_none());
        assert!(cache.lookup(&format!("id{}", CACHE_TRACKS + 9), Instant::now()).is_some());
    }
}
