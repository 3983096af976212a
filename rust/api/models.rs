//! Tolerant serde models of the Web API's answers: we parse only what we show.
//!
//! Spotify adds fields, drops fields (popularity, `external_ids`…), adds enum values
//! (`collectionyourepisodes` contexts, new item types) and sends `null` where an object is
//! documented. Strict models lose the whole answer over one of these (rspotify #398, #477, PR
//! #576), so here every field is optional, every enum has an `Other`, and a field of the wrong type
//! (or one broken array element) is dropped on its own rather than failing the answer. The field
//! helpers are [`super::lenient`]'s; read a body with [`super::lenient::from_slice`].

use serde::Deserialize;

use super::lenient::{boolean, keyword, list, number, object, string};

/// `GET /v1/me/player`: the playback state (a 204 has no body and no model).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct CurrentPlayback {
    #[serde(deserialize_with = "object")]
    pub device: Option<DeviceObject>,
    #[serde(deserialize_with = "keyword")]
    pub repeat_state: Option<RepeatState>,
    #[serde(deserialize_with = "boolean")]
    pub shuffle_state: Option<bool>,
    #[serde(deserialize_with = "object")]
    pub context: Option<Context>,
    /// Unix milliseconds of the last change of playback state (not of `progress_ms`).
    #[serde(deserialize_with = "number")]
    pub timestamp: Option<f64>,
    #[serde(deserialize_with = "number")]
    pub progress_ms: Option<f64>,
    #[serde(deserialize_with = "boolean")]
    pub is_playing: Option<bool>,
    /// `null` during ads, private sessions and some transitions.
    #[serde(deserialize_with = "object")]
    pub item: Option<PlayableItem>,
    #[serde(deserialize_with = "keyword")]
    pub currently_playing_type: Option<PlayingType>,
}

/// The device playback happens on.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct DeviceObject {
    #[serde(deserialize_with = "string")]
    pub name: Option<String>,
    /// Free text (`Computer`, `Smartphone`, `Speaker`, `CastAudio`…): shown, never matched.
    #[serde(rename = "type", deserialize_with = "string")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "number")]
    pub volume_percent: Option<f64>,
    /// Can be `null` (restricted devices).
    #[serde(deserialize_with = "string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "boolean")]
    pub is_active: Option<bool>,
}

/// `GET /v1/me/player/queue`: what plays now and next (tracks and episodes alike).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Queue {
    #[serde(deserialize_with = "object")]
    pub currently_playing: Option<PlayableItem>,
    #[serde(deserialize_with = "list")]
    pub queue: Vec<PlayableItem>,
}

/// `GET /v1/me/player/recently-played`: a page of play history, newest first.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RecentlyPlayed {
    #[serde(deserialize_with = "list")]
    pub items: Vec<PlayHistory>,
}

/// One play in [`RecentlyPlayed`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PlayHistory {
    #[serde(deserialize_with = "object")]
    pub track: Option<PlayableItem>,
    /// ISO 8601, shown as sent.
    #[serde(deserialize_with = "string")]
    pub played_at: Option<String>,
    #[serde(deserialize_with = "object")]
    pub context: Option<Context>,
}

/// `GET /v1/me/player/devices`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Devices {
    #[serde(deserialize_with = "list")]
    pub devices: Vec<DeviceObject>,
}

/// What is being played from. Only the URI is shown, so the `type` (which grows new values
/// such as `collectionyourepisodes`) is not even parsed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Context {
    #[serde(deserialize_with = "string")]
    pub uri: Option<String>,
}

/// `repeat_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepeatState {
    Off,
    Track,
    Context,
    #[serde(other)]
    Other,
}

/// `currently_playing_type`, and an item's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlayingType {
    Track,
    Episode,
    Ad,
    Unknown,
    #[serde(other)]
    Other,
}

/// A track, a podcast episode, a local file, or something newer: one flat, tolerant shape
/// rather than an untagged enum, so an unexpected item still yields its name and length.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PlayableItem {
    #[serde(rename = "type", deserialize_with = "keyword")]
    pub kind: Option<PlayingType>,
    /// `null` for local files.
    #[serde(deserialize_with = "string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "string")]
    pub uri: Option<String>,
    #[serde(deserialize_with = "string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "number")]
    pub duration_ms: Option<f64>,
    #[serde(deserialize_with = "boolean")]
    pub is_local: Option<bool>,
    /// Tracks only.
    #[serde(deserialize_with = "list")]
    pub artists: Vec<Named>,
    /// Tracks only.
    #[serde(deserialize_with = "object")]
    pub album: Option<Album>,
    /// Episodes carry their own images.
    #[serde(deserialize_with = "list")]
    pub images: Vec<Image>,
    /// Episodes only: the podcast.
    #[serde(deserialize_with = "object")]
    pub show: Option<Show>,
}

/// Anything with a name (artists).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Named {
    #[serde(deserialize_with = "string")]
    pub name: Option<String>,
}

/// A track's album.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Album {
    #[serde(deserialize_with = "string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "list")]
    pub images: Vec<Image>,
}

/// An episode's show.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Show {
    #[serde(deserialize_with = "string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "list")]
    pub images: Vec<Image>,
}

/// A cover image. Sizes are often `null` (local files, some podcasts).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Image {
    #[serde(deserialize_with = "string")]
    pub url: Option<String>,
    #[serde(deserialize_with = "number")]
    pub width: Option<f64>,
    #[serde(deserialize_with = "number")]
    pub height: Option<f64>,
}

/// The body of an error answer: `{"error": {"status": 403, "message": "…", "reason": "…"}}`.
/// Only `reason`, a fixed code, is ever kept; the message is free text and stays out of errors.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    #[serde(deserialize_with = "object")]
    pub error: Option<ErrorObject>,
}

/// See [`ErrorBody`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ErrorObject {
    #[serde(deserialize_with = "string")]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> CurrentPlayback {
        crate::api::lenient::from_str(json).expect("tolerant model refused a valid JSON object")
    }

    #[test]
    fn empty_object_is_nothing() {
        assert_eq!(parse("{}"), CurrentPlayback::default());
    }

    #[test]
    fn wrong_types_lose_only_their_field() {
        let p = parse(
            r#"{"is_playing": "yes", "progress_ms": 1200, "device": 7,
                "item": {"name": 5, "duration_ms": 1000, "artists": [{"name": "A"}, 3, {"name": null}]}}"#,
        );
        assert_eq!(p.is_playing, None);
        assert_eq!(p.progress_ms, Some(1200.0));
        assert_eq!(p.device, None);
        let item = p.item.unwrap();
        assert_eq!(item.name, None);
        let arrays = parse(r#"{"item": [1, 2], "device": ["x"], "context": [], "progress_ms": 5}"#);
        assert_eq!((arrays.item, arrays.device, arrays.context), (None, None, None));
        assert_eq!(item.duration_ms, Some(1000.0));
        assert_eq!(item.artists.len(), 2);
        assert_eq!(item.artists[0].name.as_deref(), Some("A"));
    }

    #[test]
    fn new_enum_values_are_other() {
        let p = parse(r#"{"repeat_state": "shuffle-repeat", "currently_playing_type": "audiobook_chapter"}"#);
        assert_eq!(p.repeat_state, Some(RepeatState::Other));
        assert_eq!(p.currently_playing_type, Some(PlayingType::Other));
    }

    #[test]
    fn lists_tolerate_odd_entries() {
        let q: Queue = crate::api::lenient::from_str(
            r#"{"currently_playing": null, "queue": [{"name": "A", "type": "track"}, null, 4,
                {"name": "B", "type": "audiobook", "new": {}}], "extra": 1}"#,
        )
        .unwrap();
        assert_eq!(q.queue.len(), 2);
        assert_eq!(q.queue[1].kind, Some(PlayingType::Other));
        let r: RecentlyPlayed = crate::api::lenient::from_str(
            r#"{"items": [{"track": {"name": "A"}, "played_at": 5, "context": null}, {"track": []}],
                "cursors": null}"#,
        )
        .unwrap();
        assert_eq!(r.items.len(), 2);
        assert_eq!((r.items[0].played_at.as_ref(), r.items[1].track.as_ref()), (None, None));
        let d: Devices = crate::api::lenient::from_str(
            r#"{"devices": [{"id": null, "is_active": "yes", "name": "Desk", "type": "Computer",
                "volume_percent": 40, "supports_volume": true}]}"#,
        )
        .unwrap();
        let desk = &d.devices[0];
        assert_eq!((desk.id.as_ref(), desk.is_active, desk.volume_percent), (None, None, Some(40.0)));
        assert_eq!(
            crate::api::lenient::from_str::<Devices>(r#"{"devices": "none"}"#).unwrap(),
            Devices::default()
        );
    }

    #[test]
    fn error_bodies_keep_only_the_reason() {
        let b: ErrorBody = crate::api::lenient::from_str(
            r#"{"error":{"status":403,"message":"Premium required","reason":"PREMIUM_REQUIRED"}}"#,
        )
        .unwrap();
        assert_eq!(b.error.unwrap().reason.as_deref(), Some("PREMIUM_REQUIRED"));
    }
}
