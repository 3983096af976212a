//! What a source observed: the engine's own model of playback, independent of Spotify's JSON.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::tempo::Analysis;

/// What kind of item is playing. Unknown kinds from the API map to `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ItemKind {
    #[default]
    Track,
    Episode,
    LocalFile,
    Ad,
    Other,
}

impl ItemKind {
    /// The `currently_playing_type` wording Spotify uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Track => "track",
            ItemKind::Episode => "episode",
            ItemKind::LocalFile => "track",
            ItemKind::Ad => "ad",
            ItemKind::Other => "unknown",
        }
    }
}

/// Tempo-like descriptors of an item, when known.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Features {
    /// Beats per minute.
    pub tempo: f64,
    /// Beats per bar.
    pub time_signature: u8,
    pub energy: f64,
    pub valence: f64,
    pub danceability: f64,
    /// Loudness in dB (negative).
    pub loudness: f64,
    /// Where the first downbeat falls, in seconds, so beats line up with the music.
    pub beat_offset: f64,
    /// Pitch class of the key (0 = C, 1 = C♯/D♭ … 11 = B), when detected.
    pub key: Option<u8>,
    /// 1 major, 0 minor, when detected.
    pub mode: Option<u8>,
}

/// The item being played (track, episode, local file or ad).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Item {
    pub kind: ItemKind,
    /// Spotify id; `None` for local files and ads.
    pub id: Option<String>,
    pub uri: String,
    pub name: String,
    /// Artists, or the show's name for an episode.
    pub artists: Vec<String>,
    pub album: String,
    /// Largest cover image.
    pub album_art_url: Option<String>,
    /// Smallest cover image.
    pub album_art_url_small: Option<String>,
    pub duration_ms: u64,
    pub features: Option<Features>,
    /// Beats, bars, sections and segments, when known (shared: it is large and never changes).
    pub analysis: Option<Arc<Analysis>>,
}

impl Item {
    /// Whether two observations are the same item: a change here is a track change.
    pub fn same_item(&self, other: &Item) -> bool {
        if !self.uri.is_empty() || !other.uri.is_empty() {
            self.uri == other.uri
        } else {
            self.name == other.name && self.duration_ms == other.duration_ms
        }
    }
}

/// The device playback happens on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Device {
    pub name: String,
    pub kind: String,
    /// Volume in percent, when the device reports it.
    pub volume_percent: Option<u8>,
}

/// One observation of playback.
#[derive(Debug, Clone, PartialEq)]
pub struct Playback {
    /// `None` means nothing is playing (no device, or a gap).
    pub item: Option<Item>,
    pub is_playing: bool,
    /// Position at `observed_at`.
    pub progress_ms: u64,
    /// Monotonic instant `progress_ms` refers to; the position is extrapolated from here.
    pub observed_at: Instant,
    /// How many item-seconds pass per wall-clock second while playing (the simulator's speed).
    pub rate: f64,
    /// Unix time in milliseconds of the observation, as reported by the source.
    pub timestamp_ms: i64,
    pub device: Option<Device>,
    pub shuffle: bool,
    /// `off`, `track` or `context`.
    pub repeat: String,
    pub context_uri: Option<String>,
}

impl Playback {
    /// Nothing playing, observed now.
    pub fn idle(now: Instant) -> Self {
        Playback {
            item: None,
            is_playing: false,
            progress_ms: 0,
            observed_at: now,
            rate: 1.0,
            timestamp_ms: 0,
            device: None,
            shuffle: false,
            repeat: String::from("off"),
            context_uri: None,
        }
    }

    /// Position in seconds at `now`: extrapolated while playing, clamped to the item's length.
    pub fn position_at(&self, now: Instant) -> f64 {
        let Some(item) = &self.item else { return 0.0 };
        let base = self.progress_ms as f64 / 1000.0;
        let elapsed = if self.is_playing {
            now.saturating_duration_since(self.observed_at).as_secs_f64() * self.rate
        } else {
            0.0
        };
        (base + elapsed).clamp(0.0, item.duration_ms as f64 / 1000.0)
    }

    /// When the current item is expected to end, if it is playing.
    pub fn predicted_end(&self) -> Option<Instant> {
        let item = self.item.as_ref()?;
        if !self.is_playing || self.rate <= 0.0 {
            return None;
        }
        let left_ms = item.duration_ms.saturating_sub(self.progress_ms) as f64 / self.rate;
        Some(self.observed_at + Duration::from_secs_f64(left_ms / 1000.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playing(progress_ms: u64, duration_ms: u64, rate: f64, at: Instant) -> Playback {
        Playback {
            item: Some(Item { uri: "x".into(), duration_ms, ..Item::default() }),
            is_playing: true,
            progress_ms,
            observed_at: at,
            rate,
            ..Playback::idle(at)
        }
    }

    #[test]
    fn position_extrapolates_and_clamps() {
        let t0 = Instant::now();
        let p = playing(1000, 3000, 2.0, t0);
        assert!((p.position_at(t0 + Duration::from_millis(500)) - 2.0).abs() < 1e-9);
        assert_eq!(p.position_at(t0 + Duration::from_secs(10)), 3.0);
        // A reading taken before the observation never goes backwards past it.
        assert_eq!(p.position_at(t0), 1.0);
    }

    #[test]
    fn paused_position_holds() {
        let t0 = Instant::now();
        let p = Playback { is_playing: false, ..playing(1500, 3000, 1.0, t0) };
        assert_eq!(p.position_at(t0 + Duration::from_secs(5)), 1.5);
        assert_eq!(p.predicted_end(), None);
    }
}
