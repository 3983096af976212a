//! What the live page shows: the public board, and what one browser sees of itself.
//!
//! The board holds display names, places and the track, nothing else: it may be served to the
//! whole network (`Pagebind`), so it never carries a token, a Spotify user id or another
//! browser's key.

use std::collections::HashMap;

use serde::Serialize;

/// The track on the card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NowPlaying {
    /// The `ID` of the debug line (Spotify id, or the URI when there is none).
    pub id: String,
    pub name: String,
    pub artists: String,
    pub album: String,
    /// Album art, only an `https:` URL (the page loads nothing else from elsewhere).
    pub art: Option<String>,
    /// The `TS` of the debug line: Spotify's timestamp of the observation (ms since the epoch).
    pub ts_ms: i64,
    /// The `POS` of the debug line, at `sent_ms`; the page moves it on while `playing`.
    pub pos_ms: f64,
    pub dur_ms: u64,
    pub playing: bool,
    /// Item milliseconds per wall-clock millisecond (the simulator's `--speed`).
    pub rate: f64,
    /// Hue of the placeholder cover (from the id), so covers differ without any image.
    pub hue: u16,
}

/// One line of the queue as everyone sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub position: usize,
    pub name: String,
    pub state: &'static str,
}

/// What one browser learns about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Mine {
    /// 1-based place in line, if in line.
    pub position: Option<usize>,
    pub name: Option<String>,
    /// Why they were skipped or left.
    pub note: Option<String>,
    /// Spotify visitors: the loopback link of this browser's login in progress (on this
    /// computer, `http://127.0.0.1:PORT/login`; no secret in it). The page opens it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
}

/// The whole page's state, sent as one Server-Sent Event whenever it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Board {
    pub source: &'static str,
    pub now: Option<NowPlaying>,
    /// Display name of the active visitor.
    pub active: Option<String>,
    pub turn_index: u64,
    pub turn_mode: &'static str,
    pub turn_remaining_s: Option<f64>,
    pub queue: Vec<Entry>,
    /// Whether the Join button works here.
    pub can_join: bool,
    /// A message for everyone (e.g. why Join does not work).
    pub notice: Option<String>,
    /// When the track on the card last changed (ms since the epoch): the page-update test
    /// measures from here.
    pub changed_ms: u64,
    /// When this board was made (ms since the epoch).
    pub sent_ms: u64,
    /// Per browser key; never serialized.
    #[serde(skip)]
    pub viewers: HashMap<String, Mine>,
}

#[derive(Serialize)]
struct ForViewer<'a> {
    #[serde(flatten)]
    board: &'a Board,
    me: Option<&'a Mine>,
}

impl Board {
    /// The JSON one browser receives (its own place under `me`).
    pub fn json_for(&self, viewer: Option<&str>) -> String {
        let me = viewer.and_then(|v| self.viewers.get(v));
        serde_json::to_string(&ForViewer { board: self, me }).unwrap_or_else(|_| "{}".into())
    }
}

/// A hue from a string, stable across runs.
pub fn hue_of(s: &str) -> u16 {
    let h = s.bytes().fold(2_166_136_261u32, |h, b| (h ^ u32::from(b)).wrapping_mul(16_777_619));
    (h % 360) as u16
}

/// Album art the page may show: `https:` only, and not the simulator's made-up host.
pub fn safe_art(url: Option<&str>) -> Option<String> {
    let parsed = url::Url::parse(url?).ok()?;
    let host = parsed.host_str()?;
    (parsed.scheme() == "https" && !host.ends_with(".invalid")).then(|| parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_sees_only_its_own_place() {
        let mut board = Board { source: "simulator", ..Board::default() };
        board.viewers.insert(
            "key-a".into(),
            Mine { position: Some(2), name: Some("Ana".into()), note: None, login: None },
        );
        let a = board.json_for(Some("key-a"));
        assert!(a.contains("\"me\":{\"position\":2"), "{a}");
        assert!(!a.contains("key-a"), "browser keys never leave the server: {a}");
        assert!(board.json_for(Some("key-b")).contains("\"me\":null"));
        assert!(board.json_for(None).contains("\"me\":null"));
    }

    #[test]
    fn only_https_art_is_shown() {
        assert_eq!(
            safe_art(Some("https://i.scdn.co/image/ab")).as_deref(),
            Some("https://i.scdn.co/image/ab")
        );
        assert_eq!(safe_art(Some("https://example.invalid/sim/1/640.jpg")), None);
        assert_eq!(safe_art(Some("http://i.scdn.co/x")), None);
        assert_eq!(safe_art(Some("javascript:alert(1)")), None);
        assert_eq!(safe_art(None), None);
    }
}
