//! Spotify's audio-features and audio-analysis endpoints, and what we remember about them.
//!
//! Apps created after 2024-11-27 get 403 from both endpoints, so a 403 is remembered for the
//! whole app: no further requests, one clear notice (`audio features unavailable for this Spotify
//! app`) and the tempo comes from the audio input or `Bpm`/`Tap` instead. A 404 is remembered per
//! track; several in a row count as the endpoint being gone. Results are cached per track id in
//! a small bounded cache, so replaying a playlist costs nothing.
//!
//! The fetch functions go through the general [`ApiClient`](super::ApiClient) (its timeouts, rate
//! limits and token refresh) with this module's own timeout and body cap, and count their
//! requests in `Stats`.

mod cache;
mod fetch;
mod models;
#[cfg(test)]
mod testutil;

use std::time::Duration;

pub use cache::{FeatureCache, FeatureStatus, TrackTempo};
pub use fetch::{fetch_audio_analysis, fetch_audio_features, Endpoint, FeaturesError};
pub use models::{AnalysisSegment, AudioAnalysis, AudioFeatures, TimeInterval};

/// What the `features` row says after a 403.
pub const UNAVAILABLE: &str = "audio features unavailable for this Spotify app";
/// The warning shown (for [`NOTICE_FOR`]) when the 403 is first seen.
pub const UNAVAILABLE_WARNING: &str =
    "audio features unavailable for this Spotify app: wire audio into the CHOP's input or use Bpm/Tap for tempo";
/// How long the warning stays up; the row keeps saying it afterwards.
pub const NOTICE_FOR: Duration = Duration::from_secs(30);
