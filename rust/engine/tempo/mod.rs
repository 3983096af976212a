//! Tempo-like values for every user: Spotify's analysis when allowed, the audio input otherwise,
//! and the `Bpm`/`Tap` parameters when there is neither.
//!
//! - [`phase`]: beat-grid math (regular grids and analysis beat lists) and the per-reader `beat`
//!   edge.
//! - [`onset`], [`tracker`]: the real-time beat tracker (onset strength → tempo → phase lock);
//!   `chroma` gives it the harmony that marks bar lines.
//! - [`audio`]: moves TouchDesigner's audio off the cook path to the tracker's own thread.
//! - [`tap`]: the manual clock.
//! - [`select`]: picks, per cook, which of them drives the channels.
//!
//! Everything a cook calls here is allocation-free and lock-free.

pub mod audio;
mod chroma;
pub mod onset;
mod published;
mod spectrum;
#[cfg(test)]
pub mod synth;
pub mod tap;
pub mod tracker;

use crate::model::phase::GridPoint;
use crate::model::playback::Features;
use audio::AudioTempo;

pub use crate::model::phase::{Analysis, BeatEdge, Cursor, RegularGrid};
pub(crate) use tracker::FLOOR_DB;

/// Where `tempo` and `beat_phase` come from (the `tempo_source` channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum TempoSource {
    #[default]
    None = 0,
    /// Spotify's audio features and analysis (or the simulator's).
    Api = 1,
    /// The beat tracker on the CHOP's audio input.
    Audio = 2,
    /// The `Bpm` parameter and `Tap` pulse.
    Manual = 3,
}

/// One candidate beat grid, evaluated at the reader's instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeatReading {
    pub tempo: f64,
    pub point: GridPoint,
    /// Identifies the numbering of `point.beat` within its source (track, tracker epoch…).
    pub key: u64,
}

/// What the engine's snapshot knows about the current item's tempo.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ApiTempo {
    pub beat: Option<BeatReading>,
    pub features: Option<Features>,
    /// Onset pulse and loudness (dB) from the analysis segments.
    pub onset_loudness: Option<(f64, f64)>,
}

/// Which source the artist wants tempo from (the `Temposource` menu).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TempoPreference {
    /// The audio input when wired and locked (it is what the room hears), else Spotify's
    /// analysis, else the manual clock.
    #[default]
    Auto,
    /// Only Spotify's analysis (or the simulator's).
    Spotify,
    /// Only the audio input's tracker.
    Audio,
    /// Only `Bpm` and `Tap`.
    Manual,
}

impl TempoPreference {
    /// The preference for a `Temposource` menu token; unknown tokens fall back to Auto.
    pub fn from_token(token: &str) -> TempoPreference {
        match token {
            "spotify" => TempoPreference::Spotify,
            "audio" => TempoPreference::Audio,
            "manual" => TempoPreference::Manual,
            _ => TempoPreference::Auto,
        }
    }
}

/// What the operator itself knows: its audio input and its manual clock.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LiveTempo {
    /// Present while audio is connected.
    pub audio: Option<AudioTempo>,
    pub manual: Option<BeatReading>,
    /// The `Temposource` menu.
    pub preference: TempoPreference,
}

/// The tempo-like channels of one cook.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TempoFrame {
    pub source: TempoSource,
    pub tempo: f64,
    pub point: Option<GridPoint>,
    /// Identifies the beat numbering (source and grid), for [`BeatEdge`].
    pub key: u64,
    pub onset: f64,
    pub loudness: f64,
    pub energy: f64,
    pub valence: f64,
    pub danceability: f64,
    pub features_available: bool,
}

/// Picks the tempo source as `live.preference` says: in Auto the audio input when it is connected
/// and locked (the artist wired it on purpose), else Spotify's features, else the manual clock,
/// else none; a forced source gives none while it has nothing. Onset and loudness prefer live
/// audio (it is what the room hears), then the analysis, then the track's average loudness.
pub fn select(api: &ApiTempo, live: &LiveTempo) -> TempoFrame {
    select_with(api, live.audio, live.preference, || live.manual)
}

/// [`select`] with the manual clock read only when it is chosen: a cook whose tempo comes from
/// Spotify or the audio input does not compute it.
pub fn select_with(
    api: &ApiTempo,
    audio: Option<AudioTempo>,
    preference: TempoPreference,
    manual: impl FnOnce() -> Option<BeatReading>,
) -> TempoFrame {
    let audio_beat = audio
        .filter(|a| a.locked)
        .and_then(|a| a.point.map(|point| BeatReading { tempo: a.tempo, point, key: a.epoch }));
    let api_beat = api.beat.map(|b| (TempoSource::Api, b));
    let audio_beat = audio_beat.map(|b| (TempoSource::Audio, b));
    let manual_beat = || manual().map(|b| (TempoSource::Manual, b));
    let chosen = match preference {
        TempoPreference::Auto => audio_beat.or(api_beat).or_else(manual_beat),
        TempoPreference::Spotify => api_beat,
        TempoPreference::Audio => audio_beat,
        TempoPreference::Manual => manual_beat(),
    };
    let (source, beat) = chosen.map_or((TempoSource::None, None), |(s, b)| (s, Some(b)));
    let features = api.features.unwrap_or_default();
    let (onset, loudness) = match (audio, api.onset_loudness, api.features) {
        (Some(a), _, _) => (a.onset, a.loudness_db),
        (None, Some(ol), _) => ol,
        (None, None, Some(f)) if f.loudness < 0.0 => (0.0, f.loudness),
        _ => (0.0, FLOOR_DB),
    };
    TempoFrame {
        source,
        tempo: beat.map_or(0.0, |b| b.tempo),
        point: beat.map(|b| b.point),
        // The source in the top bits, so grids of different sources never compare equal.
        key: beat.map_or(0, |b| ((source as u64) << 56) ^ b.key),
        onset,
        loudness: loudness.max(FLOOR_DB),
        energy: features.energy,
        valence: features.valence,
        danceability: features.danceability,
        features_available: api.features.is_some(),
    }
}

/// The grid a snapshot's item offers at `position_s`: its analysis beats when there are some,
/// else a regular grid from its features' tempo.
pub fn api_tempo(
    position_s: f64,
    features: Option<&Features>,
    analysis: Option<&Analysis>,
    key: u64,
) -> ApiTempo {
    api_tempo_from(position_s, features, analysis, key, &Cursor::default())
}

/// [`api_tempo`], with the analysis lookups starting where a reader's `cursor` left them.
pub fn api_tempo_from(
    position_s: f64,
    features: Option<&Features>,
    analysis: Option<&Analysis>,
    key: u64,
    cursor: &Cursor,
) -> ApiTempo {
    let per_bar = features.map_or(4, |f| u32::from(f.time_signature.clamp(1, 16)));
    let from_analysis =
        analysis.filter(|a| a.has_beats()).and_then(|a| a.at_from(position_s, per_bar, cursor));
    let point = from_analysis.or_else(|| {
        features.and_then(|f| {
            RegularGrid { tempo: f.tempo, offset_s: f.beat_offset, beats_per_bar: per_bar }.at(position_s)
        })
    });
    let tempo = features.map_or(0.0, |f| f.tempo);
    ApiTempo {
        beat: point.map(|point| BeatReading { tempo, point, key }),
        features: features.copied(),
        onset_loudness: analysis.and_then(|a| a.onset_and_loudness_from(position_s, cursor)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(tempo: f64, key: u64) -> BeatReading {
        BeatReading { tempo, point: GridPoint::default(), key }
    }

    fn audio(locked: bool) -> AudioTempo {
        AudioTempo {
            locked,
            tempo: 128.0,
            point: Some(GridPoint::default()),
            epoch: 1,
            onset: 0.5,
            loudness_db: -10.0,
        }
    }

    #[test]
    fn locked_audio_then_api_then_manual_then_none() {
        let features = Features { tempo: 100.0, time_signature: 4, loudness: -7.0, ..Features::default() };
        let api = ApiTempo { beat: Some(beat(100.0, 7)), features: Some(features), onset_loudness: None };
        let live =
            LiveTempo { audio: Some(audio(true)), manual: Some(beat(90.0, 0)), ..LiveTempo::default() };
        let f = select(&api, &live);
        assert_eq!((f.source, f.tempo, f.features_available), (TempoSource::Audio, 128.0, true));
        assert_eq!((f.onset, f.loudness), (0.5, -10.0), "live audio wins for onset and loudness");
        let f = select(&api, &LiveTempo { audio: None, ..live });
        assert_eq!((f.source, f.tempo), (TempoSource::Api, 100.0));

        let f = select(&ApiTempo::default(), &live);
        assert_eq!((f.source, f.tempo, f.features_available), (TempoSource::Audio, 128.0, false));

        let unlocked = LiveTempo { audio: Some(audio(false)), ..live };
        let f = select(&ApiTempo::default(), &unlocked);
        assert_eq!((f.source, f.tempo), (TempoSource::Manual, 90.0));
        assert_eq!(f.loudness, -10.0, "an unlocked tracker still meters loudness");

        let f = select(&ApiTempo::default(), &LiveTempo::default());
        assert_eq!((f.source, f.tempo, f.point, f.loudness), (TempoSource::None, 0.0, None, FLOOR_DB));

        let f = select(&ApiTempo { beat: None, ..api }, &LiveTempo::default());
        assert_eq!(f.loudness, -7.0, "the track's loudness when nothing better is known");
    }

    #[test]
    fn keys_differ_between_sources() {
        let api = ApiTempo { beat: Some(beat(100.0, 1)), ..ApiTempo::default() };
        let a = select(&api, &LiveTempo::default()).key;
        let m =
            select(&ApiTempo::default(), &LiveTempo { manual: Some(beat(100.0, 1)), ..LiveTempo::default() })
                .key;
        assert_ne!(a, m);
    }

    #[test]
    fn temposource_forces_one_source_or_none() {
        let api = ApiTempo { beat: Some(beat(100.0, 7)), ..ApiTempo::default() };
        let live =
            LiveTempo { audio: Some(audio(true)), manual: Some(beat(90.0, 0)), ..LiveTempo::default() };
        let pick = |preference, api: &ApiTempo, live: LiveTempo| {
            let f = select(api, &LiveTempo { preference, ..live });
            (f.source, f.tempo)
        };
        assert_eq!(pick(TempoPreference::Spotify, &api, live), (TempoSource::Api, 100.0));
        assert_eq!(pick(TempoPreference::Audio, &api, live), (TempoSource::Audio, 128.0));
        assert_eq!(pick(TempoPreference::Manual, &api, live), (TempoSource::Manual, 90.0));
        let nothing = ApiTempo::default();
        assert_eq!(pick(TempoPreference::Spotify, &nothing, live), (TempoSource::None, 0.0));
        let unlocked = LiveTempo { audio: Some(audio(false)), ..live };
        assert_eq!(pick(TempoPreference::Audio, &api, unlocked), (TempoSource::None, 0.0));
        assert_eq!(TempoPreference::from_token("manual"), TempoPreference::Manual);
        assert_eq!(TempoPreference::from_token("newer"), TempoPreference::Auto);
    }

    #[test]
    fn analysis_wins_over_features_tempo() {
        let features = Features { tempo: 120.0, time_signature: 4, ..Features::default() };
        let analysis = Analysis::new(vec![0.1, 0.6, 1.1], vec![], vec![0.0, 1.0], vec![]);
        let t = api_tempo(0.35, Some(&features), Some(&analysis), 3);
        let p = t.beat.unwrap().point;
        assert!((p.beat_phase - 0.5).abs() < 1e-9);
        let t = api_tempo(0.35, Some(&features), None, 3);
        assert!((t.beat.unwrap().point.beat_phase - 0.7).abs() < 1e-9);
        assert!(api_tempo(0.35, None, None, 3).beat.is_none());
    }
}
