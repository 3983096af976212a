//! What a source observed: the engine's own model of playback, independent of Spotify's JSON.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::phase::Analysis;

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
    /// The cover the palette is taken from: the smallest image at least 300 px wide.
    pub palette_art_url: Option<String>,
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

/// What Spotify repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Repeat {
    #[default]
    Off,
    /// The context (playlist, album…) starts over at its end.
    Context,
    /// The current item plays again.
    Track,
}

impl Repeat {
    /// Spotify's `repeat_state` wording.
    pub fn as_str(self) -> &'static str {
        match self {
            Repeat::Off => "off",
            Repeat::Context => "context",
            Repeat::Track => "track",
        }
    }

    /// The `repeat` channel's code: 0 off, 1 context, 2 track.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A small position correction absorbed gradually instead of jumping.
///
/// When a new observation disagrees a little with what readers were extrapolating, the engine
/// publishes the new, truer anchor together with the old error (`offset_ms`), which fades
/// linearly to zero over `length` from `start`. The shown position is then continuous, and it
/// never runs backwards as long as `length` is long enough for the rate (see [`Slew::new`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slew {
    /// Shown minus true position at `start`, in milliseconds.
    pub offset_ms: f64,
    pub start: Instant,
    pub length: Duration,
}

impl Slew {
    /// Absorbs `offset_ms` starting at `start`, no faster than `max_speed` (a fraction of the
    /// playback rate: 0.25 lets the shown position run between 0.75× and 1.25×) and over at
    /// least `min_length`.
    pub fn new(offset_ms: f64, start: Instant, max_speed: f64, min_length: Duration) -> Slew {
        let needed = Duration::from_secs_f64(offset_ms.abs() / 1000.0 / max_speed.clamp(0.01, 0.99));
        Slew { offset_ms, start, length: needed.max(min_length) }
    }

    /// What is left of the offset at `now`, in milliseconds.
    pub fn remaining_ms(&self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.start).as_secs_f64();
        let length = self.length.as_secs_f64();
        if length <= 0.0 || elapsed >= length {
            0.0
        } else {
            self.offset_ms * (1.0 - elapsed / length)
        }
    }
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
    pub repeat: Repeat,
    pub context_uri: Option<String>,
    /// A correction still being absorbed, while playing (see [`Slew`]).
    pub slew: Option<Slew>,
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
            repeat: Repeat::Off,
            context_uri: None,
            slew: None,
        }
    }

    /// Position in seconds at `now`: extrapolated while playing, clamped to the item's length.
    /// Includes what is left of a [`Slew`]. Never allocates (readers call it every cook).
    pub fn position_at(&self, now: Instant) -> f64 {
        let Some(item) = &self.item else { return 0.0 };
        let mut position = self.true_position_ms(now);
        if let (true, Some(slew)) = (self.is_playing, &self.slew) {
            position += slew.remaining_ms(now);
        }
        (position / 1000.0).clamp(0.0, item.duration_ms as f64 / 1000.0)
    }

    /// Position in milliseconds at `now` as the anchor alone predicts it: no slew, no clamp.
    pub fn true_position_ms(&self, now: Instant) -> f64 {
        let elapsed = if self.is_playing {
            now.saturating_duration_since(self.observed_at).as_secs_f64() * self.rate
        } else {
            0.0
        };
        self.progress_ms as f64 + elapsed * 1000.0
    }

    /// When the current item is expected to end, if it is playing.
    pub fn predicted_end(&self) -> Option<Instant> {
        let item = self.item.as_ref()?;
        if !self.is_playing || self.rate <= 0.0 {
            return None;
        }
        // Signed: an anchor placed past the end (extrapolated to the answer's arrival) dates the
        // end in the past rather than at the anchor.
        let left_s = (item.duration_ms as f64 - self.progress_ms as f64) / self.rate / 1000.0;
        if left_s >= 0.0 {
            Some(self.observed_at + Duration::from_secs_f64(left_s))
        } else {
            Some(self.observed_at.checked_sub(Duration::from_secs_f64(-left_s)).unwrap_or(self.observed_at))
        }
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
    fn slew_fades_without_running_backwards() {
        let t0 = Instant::now();
        // Readers showed 10.080 s; the new anchor says 10.000 s: absorb +80 ms.
        let slew = Slew::new(80.0, t0, 0.25, Duration::from_millis(200));
        assert_eq!(slew.length, Duration::from_millis(320));
        let p = Playback { slew: Some(slew), ..playing(10_000, 60_000, 1.0, t0) };
        assert!((p.position_at(t0) - 10.080).abs() < 1e-9);
        let mut last = p.position_at(t0);
        for ms in 1..400 {
            let now = t0 + Duration::from_millis(ms);
            let pos = p.position_at(now);
            assert!(pos >= last, "went backwards at {ms} ms");
            last = pos;
        }
        assert!((p.position_at(t0 + Duration::from_millis(500)) - 10.5).abs() < 1e-9);
        assert_eq!(slew.remaining_ms(t0 + Duration::from_secs(1)), 0.0);
    }

    #[test]
    fn paused_position_holds() {
        let t0 = Instant::now();
        let p = Playback { is_playing: false, ..playing(1500, 3000, 1.0, t0) };
        assert_eq!(p.position_at(t0 + Duration::from_secs(5)), 1.5);
        assert_eq!(p.predicted_end(), None);
    }

    #[test]
    fn an_anchor_past_the_end_dates_the_end_before_it() {
        let t0 = Instant::now() + Duration::from_secs(1);
        let p = playing(3010, 3000, 1.0, t0);
        assert_eq!(p.predicted_end(), Some(t0 - Duration::from_millis(10)));
    }
}
