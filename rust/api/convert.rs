//! From Spotify's answer to the engine's own model ([`crate::model::playback`]).

use std::time::Instant;

use super::models::{
    CurrentPlayback, Devices, Image, PlayableItem, PlayingType, Queue, RecentlyPlayed, RepeatState,
};
use crate::model::playback::{Device, Item, ItemKind, Playback, Repeat};

/// Name shown while an ad plays (Spotify sends `item: null` with `currently_playing_type: ad`).
pub const AD_NAME: &str = "Advertisement";

impl CurrentPlayback {
    /// The engine's view of this answer, with `progress_ms` taken to hold at `observed_at`.
    ///
    /// The poller refines `progress_ms`/`observed_at` afterwards from the request's timing.
    pub fn to_playback(&self, observed_at: Instant) -> Playback {
        let mut item = self.item.as_ref().map(|i| to_item(i, self.currently_playing_type));
        if item.is_none() && self.currently_playing_type == Some(PlayingType::Ad) {
            // An ad is something playing, not silence: say so rather than `Waiting for signal…`.
            item = Some(Item { kind: ItemKind::Ad, name: AD_NAME.to_owned(), ..Item::default() });
        }
        Playback {
            is_playing: self.is_playing.unwrap_or(false) && item.is_some(),
            progress_ms: to_ms(self.progress_ms),
            observed_at,
            rate: 1.0,
            timestamp_ms: self.timestamp.filter(|t| t.is_finite()).map_or(0, |t| t as i64),
            device: self.device.as_ref().map(|d| Device {
                name: d.name.clone().unwrap_or_default(),
                kind: d.kind.clone().unwrap_or_default(),
                volume_percent: d
                    .volume_percent
                    .filter(|v| v.is_finite())
                    .map(|v| v.clamp(0.0, 100.0).round() as u8),
            }),
            shuffle: self.shuffle_state.unwrap_or(false),
            repeat: match self.repeat_state {
                Some(RepeatState::Track) => Repeat::Track,
                Some(RepeatState::Context) => Repeat::Context,
                Some(RepeatState::Off | RepeatState::Other) | None => Repeat::Off,
            },
            context_uri: self.context.as_ref().and_then(|c| c.uri.clone()).filter(|u| !u.is_empty()),
            item,
            slew: None,
        }
    }
}

/// Most rows a list table gets (Spotify sends about 20; a DAT should stay small).
const MAX_LIST_ROWS: usize = 50;

/// The cells every list shares: name, artists, album, duration_ms, uri, track_id.
fn item_cells(item: &Item) -> [String; 6] {
    [
        item.name.clone(),
        item.artists.join(", "),
        item.album.clone(),
        item.duration_ms.to_string(),
        item.uri.clone(),
        item.id.clone().unwrap_or_default(),
    ]
}

impl Queue {
    /// Rows in [`crate::schema::QUEUE_COLUMNS`] order; positions count from 1 (next up).
    pub fn rows(&self) -> Vec<Vec<String>> {
        self.queue
            .iter()
            .take(MAX_LIST_ROWS)
            .enumerate()
            .map(|(i, entry)| {
                let item = to_item(entry, None);
                let mut row = vec![(i + 1).to_string()];
                row.extend(item_cells(&item));
                row.push(item.kind.as_str().to_owned());
                row
            })
            .collect()
    }
}

impl RecentlyPlayed {
    /// Rows in [`crate::schema::RECENT_COLUMNS`] order, newest first; entries without a track
    /// are skipped.
    pub fn rows(&self) -> Vec<Vec<String>> {
        self.items
            .iter()
            .filter_map(|played| {
                let item = to_item(played.track.as_ref()?, Some(PlayingType::Track));
                let mut row = vec![played.played_at.clone().unwrap_or_default()];
                row.extend(item_cells(&item));
                row.push(played.context.as_ref().and_then(|c| c.uri.clone()).unwrap_or_default());
                Some(row)
            })
            .take(MAX_LIST_ROWS)
            .collect()
    }
}

impl Devices {
    /// Rows in [`crate::schema::DEVICE_COLUMNS`] order.
    pub fn rows(&self) -> Vec<Vec<String>> {
        self.devices
            .iter()
            .take(MAX_LIST_ROWS)
            .map(|d| {
                vec![
                    d.name.clone().unwrap_or_default(),
                    d.kind.clone().unwrap_or_default(),
                    u8::from(d.is_active.unwrap_or(false)).to_string(),
                    d.volume_percent
                        .filter(|v| v.is_finite())
                        .map(|v| v.clamp(0.0, 100.0).round().to_string())
                        .unwrap_or_default(),
                    d.id.clone().unwrap_or_default(),
                ]
            })
            .collect()
    }
}

fn to_item(item: &PlayableItem, playing_type: Option<PlayingType>) -> Item {
    let uri = item.uri.clone().unwrap_or_default();
    let kind = match item.kind.or(playing_type) {
        Some(PlayingType::Track) | None
            if item.is_local == Some(true) || uri.starts_with("spotify:local:") =>
        {
            ItemKind::LocalFile
        }
        Some(PlayingType::Track) => ItemKind::Track,
        Some(PlayingType::Episode) => ItemKind::Episode,
        Some(PlayingType::Ad) => ItemKind::Ad,
        Some(PlayingType::Unknown | PlayingType::Other) => ItemKind::Other,
        // No type at all: guess from the shape.
        None if item.show.is_some() => ItemKind::Episode,
        None => ItemKind::Track,
    };
    let (artists, album, images) = match (&item.show, kind) {
        (Some(show), ItemKind::Episode | ItemKind::Other) => {
            // An episode's artist is its show; its cover is its own, else the show's.
            let images = if item.images.is_empty() { &show.images } else { &item.images };
            (show.name.iter().cloned().collect(), String::new(), images.as_slice())
        }
        _ => {
            let album = item.album.as_ref();
            let images = album.map_or(item.images.as_slice(), |a| a.images.as_slice());
            let artists =
                item.artists.iter().filter_map(|a| a.name.clone()).filter(|n| !n.is_empty()).collect();
            (artists, album.and_then(|a| a.name.clone()).unwrap_or_default(), images)
        }
    };
    let (largest, smallest) = largest_and_smallest(images);
    Item {
        kind,
        id: item.id.clone().filter(|id| !id.is_empty()),
        uri,
        name: item.name.clone().unwrap_or_default(),
        artists,
        album,
        album_art_url: largest,
        album_art_url_small: smallest,
        palette_art_url: palette_sized(images),
        duration_ms: to_ms(item.duration_ms),
        // Tempo-like data comes from other endpoints (the features cache), not from here.
        ..Item::default()
    }
}

/// The largest and smallest image by area. Spotify lists images largest first, which is the
/// fallback when sizes are missing.
fn largest_and_smallest(images: &[Image]) -> (Option<String>, Option<String>) {
    let usable: Vec<&Image> =
        images.iter().filter(|i| i.url.as_deref().is_some_and(|u| !u.is_empty())).collect();
    let area = |i: &Image| match (i.width, i.height) {
        (Some(w), Some(h)) if w.is_finite() && h.is_finite() => Some(w * h),
        _ => None,
    };
    let (largest, smallest) = if usable.iter().all(|i| area(i).is_some()) {
        let by_area =
            |a: &&&Image, b: &&&Image| area(a).partial_cmp(&area(b)).unwrap_or(std::cmp::Ordering::Equal);
        (usable.iter().max_by(by_area), usable.iter().min_by(by_area))
    } else {
        (usable.first(), usable.last())
    };
    let url = |i: Option<&&Image>| i.and_then(|i| i.url.clone());
    (url(largest), url(smallest))
}

/// The smallest image at least [`PALETTE_MIN_PX`] wide (enough detail for five swatches, little
/// to download); else the largest there is. Unsized images count as large enough.
fn palette_sized(images: &[Image]) -> Option<String> {
    let width = |i: &Image| i.width.filter(|w| w.is_finite()).unwrap_or(f64::MAX);
    let usable = images.iter().filter(|i| i.url.as_deref().is_some_and(|u| !u.is_empty()));
    let big_enough =
        usable.clone().filter(|i| width(i) >= PALETTE_MIN_PX).min_by(|a, b| width(a).total_cmp(&width(b)));
    big_enough.or_else(|| usable.max_by(|a, b| width(a).total_cmp(&width(b)))).and_then(|i| i.url.clone())
}

/// Narrowest cover the palette is taken from, in pixels.
const PALETTE_MIN_PX: f64 = 300.0;

/// Milliseconds from a JSON number: negative, fractional or absurd values are tamed.
fn to_ms(value: Option<f64>) -> u64 {
    value.filter(|v| v.is_finite()).map_or(0, |v| v.clamp(0.0, u64::MAX as f64 / 2.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::client::{interpret, RawResponse};
    use crate::api::error::{ApiError, ForbiddenReason};
    use crate::model::playback::ItemKind;
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

    /// A fixture file (`HTTP/1.1 200 OK`, headers, blank line, body) as the client would see it.
    fn fixture(text: &str) -> Result<Option<CurrentPlayback>, ApiError> {
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut lines = head.lines();
        let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap();
        let mut headers = HeaderMap::new();
        for line in lines {
            let (name, value) = line.split_once(':').unwrap();
            headers.insert(
                HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                HeaderValue::from_str(value.trim()).unwrap(),
            );
        }
        let raw =
            RawResponse { status, headers, body: body.as_bytes().to_vec(), received_at: Instant::now() };
        interpret(&raw)
    }

    fn playback(text: &str) -> Playback {
        fixture(text).expect("fixture parses").expect("fixture has a body").to_playback(Instant::now())
    }

    #[test]
    fn no_device_is_nothing_playing() {
        assert!(matches!(fixture(include_str!("../../tests/fixtures/player_204_no_device.http")), Ok(None)));
    }

    #[test]
    fn track_without_external_ids() {
        let p = playback(include_str!("../../tests/fixtures/player_track_no_external_ids.http"));
        let item = p.item.as_ref().unwrap();
        assert_eq!(item.kind, ItemKind::Track);
        assert_eq!(item.name, "Neon Horizon");
        assert_eq!(item.artists, ["Loopback Choir", "Ada Vector"]);
        assert_eq!(item.album, "Signals at Dusk");
        assert_eq!(item.id.as_deref(), Some("11dFghVXANMlKmJXsNCbNl"));
        assert_eq!(item.duration_ms, 215_893);
        assert_eq!(item.album_art_url.as_deref(), Some("https://i.scdn.co/image/ab67616d0000b273large"));
        assert_eq!(
            item.album_art_url_small.as_deref(),
            Some("https://i.scdn.co/image/ab67616d00004851small")
        );
        assert_eq!(item.palette_art_url.as_deref(), Some("https://i.scdn.co/image/ab67616d00001e02medium"));
        assert!(p.is_playing && p.shuffle);
        assert_eq!(p.repeat, Repeat::Context);
        assert_eq!(p.progress_ms, 44_272);
        assert_eq!(p.timestamp_ms, 1_767_225_600_123);
        assert_eq!(p.context_uri.as_deref(), Some("spotify:playlist:37i9dQZF1DXcBWIGoYBM5M"));
        let device = p.device.unwrap();
        assert_eq!(
            (device.name.as_str(), device.kind.as_str(), device.volume_percent),
            ("Studio Mac", "Computer", Some(65))
        );
    }

    #[test]
    fn episode_shows_its_show_as_artist() {
        let p = playback(include_str!("../../tests/fixtures/player_episode.http"));
        let item = p.item.unwrap();
        assert_eq!(item.kind, ItemKind::Episode);
        assert_eq!(item.artists, ["Signal Path Radio"]);
        assert_eq!(item.album, "");
        assert_eq!(item.album_art_url.as_deref(), Some("https://i.scdn.co/image/episode640"));
        assert_eq!(item.album_art_url_small.as_deref(), Some("https://i.scdn.co/image/episode64"));
        // No 300 px image: the palette takes the smallest that is large enough.
        assert_eq!(item.palette_art_url.as_deref(), Some("https://i.scdn.co/image/episode640"));
        assert_eq!(p.device.unwrap().volume_percent, None);
    }

    #[test]
    fn local_file_has_no_id_and_no_images() {
        let p = playback(include_str!("../../tests/fixtures/player_local_file.http"));
        let item = p.item.unwrap();
        assert_eq!(item.kind, ItemKind::LocalFile);
        assert_eq!(item.id, None);
        assert_eq!(item.uri, "spotify:local:Mira+Sol:Bootlegs:Live+at+the+Harbour:181");
        assert_eq!((item.album_art_url, item.album_art_url_small), (None, None));
        assert_eq!(item.artists, ["Mira Sol"]);
        assert_eq!(p.context_uri, None);
        assert_eq!(p.repeat, Repeat::Track);
        assert!(!p.is_playing);
    }

    #[test]
    fn an_ad_is_something_playing() {
        let p = playback(include_str!("../../tests/fixtures/player_ad.http"));
        let item = p.item.as_ref().unwrap();
        assert_eq!(item.kind, ItemKind::Ad);
        assert_eq!(item.name, AD_NAME);
        assert_eq!(item.id, None);
        assert!(p.is_playing);
    }

    #[test]
    fn unknown_context_type_keeps_everything() {
        let p = playback(include_str!("../../tests/fixtures/player_unknown_context_type.http"));
        assert_eq!(p.context_uri.as_deref(), Some("spotify:user:loopback:collection:your-episodes"));
        let item = p.item.unwrap();
        assert_eq!(item.kind, ItemKind::Episode);
        assert_eq!(item.artists, ["Night Shift"]);
        // The episode has no images of its own, so the show's (unsized) one stands in for both.
        assert_eq!(item.album_art_url.as_deref(), Some("https://i.scdn.co/image/night"));
        assert_eq!(item.album_art_url_small.as_deref(), Some("https://i.scdn.co/image/night"));
    }

    #[test]
    fn rate_limit_and_forbidden_fixtures() {
        let e = fixture(include_str!("../../tests/fixtures/player_429_retry_after.http")).unwrap_err();
        assert!(matches!(e, ApiError::RateLimited { retry_after: Some(d) } if d.as_secs() == 3), "{e:?}");
        let e = fixture(include_str!("../../tests/fixtures/player_403_development_mode.http")).unwrap_err();
        assert!(matches!(e, ApiError::Forbidden { reason: ForbiddenReason::NotAllowed }), "{e:?}");
        let e = fixture(include_str!("../../tests/fixtures/player_403_premium_required.http")).unwrap_err();
        assert!(matches!(e, ApiError::Forbidden { reason: ForbiddenReason::PremiumRequired }), "{e:?}");
    }

    #[test]
    fn item_null_without_an_ad_is_nothing_playing() {
        let answer: CurrentPlayback = crate::api::lenient::from_str(
            r#"{"is_playing": true, "item": null, "currently_playing_type": "unknown"}"#,
        )
        .unwrap();
        let p = answer.to_playback(Instant::now());
        assert_eq!(p.item, None);
        assert!(!p.is_playing);
    }

    fn image(url: &str, size: Option<f64>) -> Image {
        Image { url: Some(url.into()), width: size, height: size }
    }

    #[test]
    fn images_by_area_then_by_order() {
        let sized = [image("m", Some(300.0)), image("l", Some(640.0)), image("s", Some(64.0))];
        assert_eq!(largest_and_smallest(&sized), (Some("l".into()), Some("s".into())));
        let unsized_images = [image("first", None), image("second", Some(64.0)), image("last", None)];
        assert_eq!(largest_and_smallest(&unsized_images), (Some("first".into()), Some("last".into())));
        assert_eq!(largest_and_smallest(&[]), (None, None));
        let blank = [Image { url: Some(String::new()), ..Image::default() }];
        assert_eq!(largest_and_smallest(&blank), (None, None));
    }

    #[test]
    fn palette_takes_the_smallest_image_of_300_px_or_more() {
        let sized = [image("l", Some(640.0)), image("m", Some(300.0)), image("s", Some(64.0))];
        assert_eq!(palette_sized(&sized).as_deref(), Some("m"));
        let small = [image("a", Some(64.0)), image("b", Some(160.0))];
        assert_eq!(palette_sized(&small).as_deref(), Some("b"));
        let unsized_images = [image("u", None), image("s", Some(64.0))];
        assert_eq!(palette_sized(&unsized_images).as_deref(), Some("u"));
        assert_eq!(palette_sized(&[]), None);
    }

    #[test]
    fn odd_numbers_are_tamed() {
        assert_eq!(to_ms(Some(-5.0)), 0);
        assert_eq!(to_ms(Some(1234.6)), 1235);
        assert_eq!(to_ms(Some(f64::NAN)), 0);
        assert_eq!(to_ms(None), 0);
    }
}
