//! Spotify's audio-features and audio-analysis endpoints, and what we remember about them.
//!
//! Apps created after 2024-11-27 get 403 from both endpoints, so a 403 is remembered for the
//! whole app: no further requests, one clear notice (`audio features unavailable for this Spotify
//! app`) and the tempo comes from the audio input or `Bpm`/`Tap` instead. A 404 is remembered per
//! track; several in a row count as the endpoint being gone. Results are cached per track id in
//! a small bounded cache, so replaying a playlist costs nothing.
//!
//! The fetch functions go through the general [`ApiClient`] (its timeouts, rate limits and token
//! refresh) with this module's own timeout and body cap, and count their requests in `Stats`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::client::{ApiClient, Limits};
use super::error::{seconds, ApiError};
use super::lenient::{list, number, string};
use super::TokenProvider;
use crate::model::Stats;

use crate::model::phase::{Analysis, Segment};
use crate::model::playback::{Features, Item};

/// What the `features` row says after a 403.
pub const UNAVAILABLE: &str = "audio features unavailable for this Spotify app";
/// The warning shown (for [`NOTICE_FOR`]) when the 403 is first seen.
pub const UNAVAILABLE_WARNING: &str =
    "audio features unavailable for this Spotify app: wire audio into the CHOP's input or use Bpm/Tap for tempo";
/// How long the warning stays up; the row keeps saying it afterwards.
pub const NOTICE_FOR: Duration = Duration::from_secs(30);
/// Tracks remembered (an analysis is a few tens of kilobytes).
pub(crate) const CACHE_TRACKS: usize = 32;
/// Timeout of one request (an analysis can be a megabyte).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Consecutive 404s (on different tracks) that count as the endpoint being gone for this app.
const NOT_FOUND_STREAK: u32 = 3;
/// Wait after a failure that gave no `Retry-After`.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// Which endpoint a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Features,
    Analysis,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Features => "audio features",
            Endpoint::Analysis => "audio analysis",
        })
    }
}

/// Why features could not be had. Transport, token and server failures are the API client's
/// [`ApiError`]s; only what this module treats differently gets its own variant.
#[derive(Debug, thiserror::Error)]
pub enum FeaturesError {
    /// Not a base-62 Spotify id (a local file, an ad): never sent.
    #[error("not a Spotify track id: {id:?}")]
    InvalidId { id: String },
    /// The app may not use this endpoint.
    #[error("Spotify refused {what} (HTTP 403)")]
    Forbidden { what: Endpoint },
    #[error("Spotify has no {what} for this track (HTTP 404)")]
    NotFound { what: Endpoint },
    #[error("Spotify rate-limited {what} (HTTP 429), retry after {retry_after:?}")]
    RateLimited { what: Endpoint, retry_after: Option<Duration> },
    /// The body was not what the endpoint documents. The reason names the position, never the
    /// content.
    #[error("unreadable {what} from Spotify: {reason}")]
    Decode { what: Endpoint, reason: String },
    /// Anything else the client reports (offline, timeout, 5xx, login refused…).
    #[error("{what} failed")]
    Api {
        what: Endpoint,
        #[source]
        source: ApiError,
    },
}

impl FeaturesError {
    /// The client's error, sorted into what this module treats differently.
    fn from_api(what: Endpoint, error: ApiError) -> FeaturesError {
        match error {
            ApiError::Forbidden { .. } => FeaturesError::Forbidden { what },
            ApiError::Http { status: 404 } | ApiError::NoActiveDevice => FeaturesError::NotFound { what },
            ApiError::RateLimited { retry_after } => FeaturesError::RateLimited { what, retry_after },
            ApiError::Malformed { .. } | ApiError::TooLarge { .. } => {
                FeaturesError::Decode { what, reason: error.to_string() }
            }
            source => FeaturesError::Api { what, source },
        }
    }

    /// Short, actionable text for TouchDesigner.
    pub fn user_message(&self) -> String {
        match self {
            FeaturesError::Forbidden { .. } => UNAVAILABLE_WARNING.to_owned(),
            FeaturesError::InvalidId { .. } | FeaturesError::NotFound { .. } => {
                "No audio features for this item".to_owned()
            }
            FeaturesError::RateLimited { retry_after, .. } => match retry_after {
                Some(d) => format!("Spotify asked to slow down; audio features retry in {}", seconds(*d)),
                None => "Spotify asked to slow down; audio features retry later".to_owned(),
            },
            FeaturesError::Decode { .. } => "Audio features: unexpected answer from Spotify".to_owned(),
            FeaturesError::Api { source, .. } => format!("Audio features: {}", source.user_message()),
        }
    }
}

/// `GET /v1/audio-features/{id}`. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AudioFeatures {
    #[serde(deserialize_with = "string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "number")]
    pub tempo: Option<f64>,
    #[serde(deserialize_with = "number")]
    pub energy: Option<f64>,
    #[serde(deserialize_with = "number")]
    pub valence: Option<f64>,
    #[serde(deserialize_with = "number")]
    pub danceability: Option<f64>,
    #[serde(deserialize_with = "number")]
    pub loudness: Option<f64>,
    /// Pitch class 0–11; −1 when no key was detected.
    #[serde(deserialize_with = "number")]
    pub key: Option<f64>,
    /// 1 major, 0 minor.
    #[serde(deserialize_with = "number")]
    pub mode: Option<f64>,
    #[serde(deserialize_with = "number")]
    pub time_signature: Option<f64>,
}

/// A beat, bar or tatum of an analysis.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TimeInterval {
    #[serde(deserialize_with = "number")]
    pub start: Option<f64>,
    #[serde(deserialize_with = "number")]
    pub duration: Option<f64>,
    #[serde(deserialize_with = "number")]
    pub confidence: Option<f64>,
}

/// A segment of an analysis (pitches and timbre are skipped: we do not show them).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AnalysisSegment {
    #[serde(deserialize_with = "number")]
    pub start: Option<f64>,
    #[serde(deserialize_with = "number")]
    pub loudness_start: Option<f64>,
    #[serde(deserialize_with = "number")]
    pub loudness_max: Option<f64>,
    #[serde(deserialize_with = "number")]
    pub loudness_max_time: Option<f64>,
}

/// `GET /v1/audio-analysis/{id}`: only the timed lists we use. A malformed entry is skipped, not
/// the whole analysis.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AudioAnalysis {
    #[serde(deserialize_with = "list")]
    pub beats: Vec<TimeInterval>,
    #[serde(deserialize_with = "list")]
    pub bars: Vec<TimeInterval>,
    #[serde(deserialize_with = "list")]
    pub sections: Vec<TimeInterval>,
    #[serde(deserialize_with = "list")]
    pub segments: Vec<AnalysisSegment>,
}

impl AudioAnalysis {
    /// The engine's model of this analysis.
    pub fn to_analysis(&self) -> Analysis {
        let starts = |list: &[TimeInterval]| list.iter().filter_map(|i| i.start).collect();
        let segments = self
            .segments
            .iter()
            .filter_map(|s| {
                Some(Segment {
                    start: s.start?,
                    loudness_start: s.loudness_start?,
                    loudness_max: s.loudness_max.or(s.loudness_start)?,
                    loudness_max_time: s.loudness_max_time.unwrap_or(0.0),
                })
            })
            .collect();
        Analysis::new(starts(&self.beats), starts(&self.bars), starts(&self.sections), segments)
    }
}

impl AudioFeatures {
    /// The engine's model of these features; the analysis, when there is one, places the grid.
    pub fn to_features(&self, analysis: Option<&Analysis>) -> Features {
        let ratio = |v: Option<f64>| v.filter(|x| x.is_finite()).map_or(0.0, |x| x.clamp(0.0, 1.0));
        let whole = |v: Option<f64>, lo: f64, hi: f64| v.filter(|x| (lo..=hi).contains(x)).map(|x| x as u8);
        let downbeat = analysis.and_then(|a| a.bars().first().or(a.beats().first()).copied());
        Features {
            tempo: self.tempo.filter(|t| t.is_finite() && *t > 0.0).unwrap_or(0.0),
            time_signature: whole(self.time_signature, 1.0, 16.0).unwrap_or(4),
            energy: ratio(self.energy),
            valence: ratio(self.valence),
            danceability: ratio(self.danceability),
            loudness: self.loudness.filter(|l| l.is_finite()).unwrap_or(0.0).min(0.0),
            beat_offset: downbeat.unwrap_or(0.0),
            key: whole(self.key, 0.0, 11.0),
            mode: whole(self.mode, 0.0, 1.0),
        }
    }
}

/// `GET {api_url}/v1/audio-features/{track_id}` through `client` (its timeouts, token refresh
/// and error handling), counted in `stats`.
pub async fn fetch_audio_features(
    client: &ApiClient,
    tokens: &dyn TokenProvider,
    track_id: &str,
    stats: &mut Stats,
) -> Result<AudioFeatures, FeaturesError> {
    get(client, tokens, track_id, Endpoint::Features, stats).await
}

/// `GET {api_url}/v1/audio-analysis/{track_id}`, like [`fetch_audio_features`].
pub async fn fetch_audio_analysis(
    client: &ApiClient,
    tokens: &dyn TokenProvider,
    track_id: &str,
    stats: &mut Stats,
) -> Result<AudioAnalysis, FeaturesError> {
    get(client, tokens, track_id, Endpoint::Analysis, stats).await
}

/// Whether `id` looks like a Spotify id (base 62), so it can go into a URL path as is.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

async fn get<T: DeserializeOwned>(
    client: &ApiClient,
    tokens: &dyn TokenProvider,
    track_id: &str,
    what: Endpoint,
    stats: &mut Stats,
) -> Result<T, FeaturesError> {
    if !valid_id(track_id) {
        return Err(FeaturesError::InvalidId { id: track_id.chars().take(64).collect() });
    }
    let path = match what {
        Endpoint::Features => "audio-features",
        Endpoint::Analysis => "audio-analysis",
    };
    let url =
        client.url(&format!("/v1/{path}/{track_id}"), None).map_err(|e| FeaturesError::from_api(what, e))?;
    let limits = Limits { timeout: REQUEST_TIMEOUT, max_body: MAX_BODY };
    let exchange = client.get_json_with::<T>(&url, tokens, limits).await;
    exchange.count_in(stats);
    match exchange.result {
        Ok(Some(body)) => Ok(body),
        // 200 with no body, or 204: nothing to show for this track.
        Ok(None) => Err(FeaturesError::NotFound { what }),
        Err(e) => Err(FeaturesError::from_api(what, e)),
    }
}

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
    use crate::api::{ClientOptions, StaticToken};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread::JoinHandle;

    /// A scripted Web API on a loopback port: `route` answers each request's path with a status,
    /// a body and optional extra headers; every request's path and bearer token are recorded.
    struct FakeApi {
        server: Arc<tiny_http::Server>,
        thread: Option<JoinHandle<()>>,
        hits: Arc<std::sync::Mutex<Vec<String>>>,
        url: String,
    }

    type Route = fn(&str) -> (u16, String, Vec<(&'static str, &'static str)>);

    impl FakeApi {
        fn start(route: Route) -> Self {
            let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind loopback"));
            let url = format!("http://{}", server.server_addr().to_ip().expect("ip address"));
            let hits = Arc::new(std::sync::Mutex::new(Vec::new()));
            let (s, h) = (Arc::clone(&server), Arc::clone(&hits));
            let thread = std::thread::spawn(move || {
                for request in s.incoming_requests() {
                    let auth = request
                        .headers()
                        .iter()
                        .find(|hd| hd.field.equiv("Authorization"))
                        .map(|hd| hd.value.to_string())
                        .unwrap_or_default();
                    h.lock().unwrap().push(format!("{} {}", request.url(), auth));
                    let (status, body, headers) = route(request.url());
                    let mut response = tiny_http::Response::from_string(body).with_status_code(status);
                    for (k, v) in headers {
                        response.add_header(tiny_http::Header::from_bytes(k, v).unwrap());
                    }
                    let _ = request.respond(response);
                }
            });
            FakeApi { server, thread: Some(thread), hits, url }
        }

        fn hits(&self) -> Vec<String> {
            self.hits.lock().unwrap().clone()
        }
    }

    impl Drop for FakeApi {
        fn drop(&mut self) {
            self.server.unblock();
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    impl FakeApi {
        /// The Web API client the engine uses, pointed at this fake.
        fn client(&self) -> ApiClient {
            let options = ClientOptions {
                api_url: self.url.clone(),
                ..ClientOptions::from_config(&crate::config::SpotifyConfig::default())
            };
            ApiClient::new(options).unwrap()
        }
    }

    fn token(t: &str) -> StaticToken {
        StaticToken::new(t, "test")
    }

    const FEATURES: &str = r#"{"danceability":0.735,"energy":0.578,"key":5,"loudness":-11.84,"mode":0,
        "speechiness":0.0461,"acousticness":0.514,"instrumentalness":0.0902,"liveness":0.159,
        "valence":0.636,"tempo":98.002,"type":"audio_features","id":"06AKEBrKUckW0KREUWRnvT",
        "uri":"spotify:track:06AKEBrKUckW0KREUWRnvT","duration_ms":255349,"time_signature":4}"#;

    const ANALYSIS: &str = r#"{"meta":{"analyzer_version":"4.0.0"},"track":{"tempo":98.002},
        "bars":[{"start":0.49,"duration":2.4,"confidence":0.9},{"start":2.9,"duration":2.4,"confidence":0.8}],
        "beats":[{"start":0.49,"duration":0.6,"confidence":0.9},null,{"start":"oops"},
                 {"start":1.1,"duration":0.6,"confidence":0.9},{"start":1.7,"duration":0.6}],
        "sections":[{"start":0.0,"duration":20.1,"loudness":-14.9,"tempo":98.0,"key":5},{"start":20.1}],
        "segments":[{"start":0.0,"duration":0.4,"loudness_start":-60.0,"loudness_max":-20.0,
                     "loudness_max_time":0.1,"pitches":[0.1,0.2],"timbre":[1.0,2.0]}],
        "tatums":[{"start":0.49}]}"#;

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

        // What TouchDesigner then sees: the row says why, and features_available is 0.
        use crate::engine::snapshot::{EngineState, Snapshot};
        use crate::model::playback::{Item, Playback};
        use crate::schema::{Channel, Row, CHANNEL_COUNT};
        let item =
            Item { uri: "spotify:track:06AKEBrKUckW0KREUWRnvT".into(), duration_ms: 1000, ..Item::default() };
        let state = EngineState {
            features_note: cache.row_note().map(str::to_owned),
            warning: cache.notice(t0).map(str::to_owned),
            ..EngineState::default()
        };
        let playback = Playback { item: Some(item), is_playing: true, ..Playback::idle(t0) };
        let snapshot = Snapshot::build("spotify", playback, &state, 1, 1);
        assert_eq!(snapshot.row(Row::Features), UNAVAILABLE);
        let mut out = [0.0; CHANNEL_COUNT];
        snapshot.channels(t0, &mut out);
        assert_eq!(out[Channel::FeaturesAvailable as usize], 0.0);
        assert!(snapshot.warning.is_some());
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

    #[tokio::test]
    async fn malformed_bodies_are_errors_without_the_body() {
        let api = FakeApi::start(|_| (200, r#"{"tempo": [secret-ish"#.into(), vec![]));
        let err =
            fetch_audio_features(&api.client(), &token("t"), "aaa", &mut Stats::default()).await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(matches!(err, FeaturesError::Decode { .. }), "{text}");
        assert!(!text.contains("secret-ish"), "{text}");
    }

    #[test]
    fn tolerant_models() {
        let f: AudioFeatures = crate::api::lenient::from_str(
            r#"{"tempo":"fast","key":-1,"mode":1,"energy":null,"new_field":{}}"#,
        )
        .unwrap();
        assert_eq!(f.tempo, None);
        let features = f.to_features(None);
        assert_eq!(
            (features.tempo, features.key, features.mode, features.time_signature),
            (0.0, None, Some(1), 4)
        );
        let a: AudioAnalysis =
            crate::api::lenient::from_str(r#"{"beats":"none","bars":null,"sections":{}}"#).unwrap();
        assert_eq!(a, AudioAnalysis::default());
        let a: AudioAnalysis = crate::api::lenient::from_str(ANALYSIS).unwrap();
        assert_eq!(a.beats.len(), 4);
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
