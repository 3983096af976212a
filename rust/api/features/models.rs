//! The bodies of the two endpoints, read leniently, and their mapping to the engine's model.

use serde::Deserialize;

use crate::api::lenient::{list, number, string};
use crate::model::phase::{Analysis, Segment};
use crate::model::playback::Features;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::features::testutil::ANALYSIS;

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
}
