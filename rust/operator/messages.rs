//! What TouchDesigner shows about the operator: error, warning, Info CHOP values, info popup.

use std::time::Instant;

use super::Operator;
use crate::engine;
use crate::schema::Info;

impl Operator {
    /// The text TouchDesigner shows in red, if any.
    pub fn error(&self) -> Option<&str> {
        self.local_error.as_deref().or_else(|| self.pinned.error.as_deref().and_then(|e| e.to_str().ok()))
    }

    /// The text TouchDesigner shows in yellow, if any.
    pub fn warning(&self) -> Option<&str> {
        self.warning_at(Instant::now())
    }

    /// The warning at `now`: a pulse's note shows for [`PULSE_NOTE_FOR`], then clears itself.
    pub fn warning_at(&self, now: Instant) -> Option<&str> {
        self.local_warning
            .as_ref()
            .filter(|(until, _)| now < *until)
            .map(|(_, note)| note.as_str())
            .or_else(|| self.pinned.warning.as_deref().and_then(|w| w.to_str().ok()))
            .or_else(|| self.jukebox_view()?.notice.as_deref()?.to_str().ok())
            .or(self.audio_error.as_ref().map(|(_, e)| e.as_str()))
            .or_else(|| {
                let audio = self.audio.as_ref()?;
                if audio.failed() {
                    Some("Beat tracking stopped after an internal error; recreate the operator")
                } else if audio.faster_than_real_time() {
                    Some("The audio input repeats whole buffers: wire a time-sliced CHOP (e.g. Audio Device In)")
                } else {
                    None
                }
            })
    }

    /// Value of Info CHOP channel `index` at `now`.
    pub fn info(&self, index: usize, now: Instant) -> f64 {
        let stats = &self.pinned.stats;
        match index {
            i if i == Info::Requests as usize => stats.requests as f64,
            i if i == Info::Errors as usize => stats.errors as f64,
            i if i == Info::RateLimited as usize => stats.rate_limited as f64,
            i if i == Info::LastLatencyMs as usize => stats.last_latency_ms,
            i if i == Info::SnapshotAgeMs as usize => {
                now.saturating_duration_since(self.pinned.published_at).as_secs_f64() * 1000.0
            }
            i if i == Info::EngineThreads as usize => engine::engine_threads() as f64,
            _ => 0.0,
        }
    }

    /// One line for the node's info popup.
    pub fn info_popup(&self) -> &str {
        self.pinned.summary.to_str().unwrap_or("")
    }
}
