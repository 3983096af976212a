//! The immutable picture of the engine's state that readers copy from.
//!
//! The engine builds a [`Snapshot`] whenever something changes and publishes it with an atomic
//! pointer swap. Readers (TouchDesigner cooks) pin one with a reference-count increment and
//! compute the time-dependent channels from it without locking or allocating.

use std::ffi::CString;
use std::sync::Arc;
use std::time::Instant;

use super::art::ArtView;
use super::tempo::audio::AudioTempo;
use super::tempo::{self, BeatReading, Cursor, LiveTempo, TempoFrame, TempoPreference};
use crate::model::playback::{ItemKind, Playback};
use crate::model::Stats;
use crate::schema::{Channel, Row, Status, StatusField, CHANNEL_COUNT, ROW_COUNT, STATUS_FIELDS};

/// Everything a reader needs for one cook.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub status: Status,
    pub connected: bool,
    pub playback: Playback,
    /// Increments when a new item starts; readers turn its changes into `track_changed`.
    pub track_seq: u64,
    /// Items started since the engine started or the counters were reset.
    pub track_count: u64,
    /// Values of the `Now playing` rows, in [`crate::schema::ROWS`] order.
    pub rows: Vec<CString>,
    /// Something the user should know about (yellow in TouchDesigner).
    pub warning: Option<CString>,
    /// Something the user must fix (red in TouchDesigner).
    pub error: Option<CString>,
    /// Name of the source, for the `source` row.
    pub source: &'static str,
    /// Request counters, for the Info CHOP/DAT.
    pub stats: Stats,
    /// When the engine built this snapshot.
    pub published_at: Instant,
    /// The multi-row tables (queue, recently played, devices).
    pub lists: Arc<Lists>,
    /// Values of the `Status` table, in [`STATUS_FIELDS`] order.
    pub status_rows: Vec<CString>,
    /// One line for the operator's info popup: status, item, source, requests.
    pub summary: CString,
    /// The cover's palette: target colours, since when, and the `Palette` table.
    pub art: ArtView,
    /// Every channel that stays put until the next snapshot, computed once by the engine (in
    /// [`Snapshot::build`] and [`Snapshot::set_art`]) so a cook copies it and fills in only what
    /// moves with time.
    base: [f32; CHANNEL_COUNT],
}

/// A table body: one `Vec` of cells per row, in the columns of its mode.
pub type Table = Vec<Vec<CString>>;

/// The DAT's multi-row tables. They change rarely, so snapshots share them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lists {
    /// Columns [`crate::schema::QUEUE_COLUMNS`].
    pub queue: Table,
    /// Columns [`crate::schema::RECENT_COLUMNS`].
    pub recent: Table,
    /// Columns [`crate::schema::DEVICE_COLUMNS`].
    pub devices: Table,
}

impl Lists {
    /// Turns rows of strings into a table (interior NULs dropped).
    pub fn table(rows: Vec<Vec<String>>) -> Table {
        rows.into_iter().map(|r| r.into_iter().map(to_cstring).collect()).collect()
    }
}

/// What the engine knows besides the playback itself.
#[derive(Debug, Clone, Default)]
pub struct EngineState {
    pub status_text: Option<String>,
    pub status: Option<Status>,
    pub connected: bool,
    pub warning: Option<String>,
    pub error: Option<String>,
    pub stats: Stats,
    /// What the `features` row says when it is not simply whether the item has features, e.g.
    /// `audio features unavailable for this Spotify app` after a 403.
    pub features_note: Option<String>,
    /// The login's rows (Spotify only).
    pub auth: Option<AuthRows>,
    pub lists: Arc<Lists>,
}

/// What the `auth_state`, `auth_url`, `user` and `error` rows show. Never a secret: the URL is
/// the loopback `/login` link, not the authorize URL with its state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthRows {
    pub state: String,
    pub url: String,
    pub user: String,
    pub error: String,
}

/// The `features` row when the item has them.
pub const FEATURES_AVAILABLE: &str = "available";
/// The `features` row when the item has a tempo but no beat analysis.
pub const FEATURES_WITHOUT_ANALYSIS: &str = "available (no beat analysis)";
/// The `features` row when nothing is known.
pub const FEATURES_NONE: &str = "none";

/// What one reader brings to a cook besides the time: its audio input, its `Temposource` and
/// where its analysis lookups left off.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub audio: Option<AudioTempo>,
    pub preference: TempoPreference,
    pub cursor: &'a Cursor,
}

impl Snapshot {
    /// The snapshot a reader sees before the engine has published anything.
    pub fn empty(source: &'static str, status: Status) -> Self {
        let now = Instant::now();
        Self::build(
            source,
            Playback::idle(now),
            &EngineState { status: Some(status), ..EngineState::default() },
            0,
            0,
        )
    }

    /// Builds a snapshot, formatting every row once so readers only copy.
    pub fn build(
        source: &'static str,
        playback: Playback,
        state: &EngineState,
        track_seq: u64,
        track_count: u64,
    ) -> Self {
        let status = state.status.unwrap_or(match (&playback.item, playback.is_playing) {
            (None, _) => Status::Waiting,
            (Some(_), true) => Status::Playing,
            (Some(_), false) => Status::Paused,
        });
        let status_text = state.status_text.clone().unwrap_or_else(|| status.text().to_owned());
        let status_rows = status_rows(&status_text, source, state);
        let rows = now_playing_rows(status_text, source, &playback, state);
        let summary = match &playback.item {
            Some(item) => format!(
                "{} · {} — {} · {} · {} requests",
                rows[Row::Status as usize],
                item.name,
                rows[Row::Artists as usize],
                source,
                state.stats.requests
            ),
            None => {
                format!("{} · {} · {} requests", rows[Row::Status as usize], source, state.stats.requests)
            }
        };
        Snapshot {
            status,
            connected: state.connected,
            summary: to_cstring(summary),
            playback,
            track_seq,
            track_count,
            rows: rows.into_iter().map(to_cstring).collect(),
            warning: state.warning.clone().map(to_cstring),
            error: state.error.clone().map(to_cstring),
            source,
            stats: state.stats,
            published_at: Instant::now(),
            lists: Arc::clone(&state.lists),
            status_rows: status_rows.into_iter().map(to_cstring).collect(),
            art: ArtView::default(),
            base: [0.0; CHANNEL_COUNT],
        }
        .with_base()
    }

    fn with_base(mut self) -> Self {
        let p = &self.playback;
        let item = p.item.as_ref();
        let features = item.and_then(|i| i.features.as_ref());
        let b = &mut self.base;
        let mut set = |c: Channel, v: f64| b[c as usize] = v as f32;
        set(Channel::Connected, f64::from(u8::from(self.connected)));
        set(Channel::Playing, f64::from(u8::from(p.is_playing && item.is_some())));
        set(Channel::Duration, item.map_or(0.0, |i| i.duration_ms as f64 / 1000.0));
        set(Channel::TrackCount, self.track_count as f64);
        set(Channel::Energy, features.map_or(0.0, |f| f.energy));
        set(Channel::Valence, features.map_or(0.0, |f| f.valence));
        set(Channel::Status, f64::from(self.status as u8));
        set(Channel::FeaturesAvailable, f64::from(u8::from(features.is_some())));
        set(Channel::Danceability, features.map_or(0.0, |f| f.danceability));
        let volume = p.device.as_ref().and_then(|d| d.volume_percent).map_or(0.0, |v| f64::from(v) / 100.0);
        set(Channel::Volume, volume);
        set(Channel::Shuffle, f64::from(u8::from(p.shuffle)));
        set(Channel::Repeat, f64::from(p.repeat.code()));
        set(Channel::IsEpisode, f64::from(u8::from(item.is_some_and(|i| i.kind == ItemKind::Episode))));
        self.set_base_art();
        self
    }

    /// The art targets; readers glide to them (see `art::Glide`).
    fn set_base_art(&mut self) {
        let art = Channel::ArtR as usize;
        self.base[art..art + self.art.values.len()].copy_from_slice(&self.art.values);
    }

    /// Attaches the engine's palette, with its `art` rows.
    pub fn set_art(&mut self, art: &ArtView) {
        self.art = art.clone();
        self.set_base_art();
        self.rows[Row::Art as usize].clone_from(&art.state);
        self.status_rows[StatusField::Art as usize].clone_from(&art.state);
    }

    /// Fills `out` with every channel's value at `now`, with no audio input and no manual tempo.
    /// Never allocates.
    ///
    /// `track_changed` and `beat` are left at 0: they depend on what each reader saw last.
    pub fn channels(&self, now: Instant, out: &mut [f32; CHANNEL_COUNT]) {
        self.channels_with(now, &LiveTempo::default(), out);
    }

    /// Fills `out` with every channel's value at `now`, choosing the tempo source among this
    /// snapshot's features and the reader's `live` audio and manual clock. Returns the tempo
    /// frame so the reader can derive `beat`. Never allocates.
    pub fn channels_with(
        &self,
        now: Instant,
        live: &LiveTempo,
        out: &mut [f32; CHANNEL_COUNT],
    ) -> TempoFrame {
        let reader = Reader { audio: live.audio, preference: live.preference, cursor: &Cursor::default() };
        self.channels_for(now, &reader, || live.manual, out)
    }

    /// [`Snapshot::channels_with`] for a reader that keeps a [`Cursor`] from cook to cook and
    /// reads its manual clock (`manual`) only when that is the tempo in use.
    pub fn channels_for(
        &self,
        now: Instant,
        reader: &Reader,
        manual: impl FnOnce() -> Option<BeatReading>,
        out: &mut [f32; CHANNEL_COUNT],
    ) -> TempoFrame {
        if self.status == Status::Inactive {
            // Off means zeros, whatever else is wired in.
            out.fill(0.0);
            return TempoFrame::default();
        }
        *out = self.base;
        let p = &self.playback;
        let position = p.position_at(now);
        let item = p.item.as_ref();
        let api = tempo::api_tempo_from(
            position,
            item.and_then(|i| i.features.as_ref()),
            item.and_then(|i| i.analysis.as_deref()),
            self.track_seq,
            reader.cursor,
        );
        let frame = tempo::select_with(&api, reader.audio, reader.preference, manual);
        let point = frame.point.unwrap_or_default();
        let duration = item.map_or(0.0, |i| i.duration_ms as f64 / 1000.0);
        let mut set = |c: Channel, v: f64| out[c as usize] = v as f32;
        set(Channel::Position, position);
        set(Channel::Progress, if duration > 0.0 { position / duration } else { 0.0 });
        set(Channel::Remaining, (duration - position).max(0.0));
        set(Channel::Tempo, frame.tempo);
        set(Channel::BeatPhase, point.beat_phase);
        set(Channel::BarPhase, point.bar_phase);
        set(Channel::Section, f64::from(point.section));
        set(Channel::Onset, frame.onset);
        set(Channel::Loudness, frame.loudness);
        set(Channel::TempoSource, f64::from(frame.source as u8));
        frame
    }

    /// The value of one row.
    pub fn row(&self, row: Row) -> &str {
        self.rows[row as usize].to_str().unwrap_or("")
    }
}

/// Name of a pitch class, as musicians write it.
fn key_name(pitch_class: u8) -> &'static str {
    const NAMES: [&str; 12] =
        ["C", "C♯/D♭", "D", "D♯/E♭", "E", "F", "F♯/G♭", "G", "G♯/A♭", "A", "A♯/B♭", "B"];
    NAMES.get(usize::from(pitch_class)).copied().unwrap_or("")
}

/// Row values come from the network: an interior NUL must not lose the rest of the text.
fn to_cstring(s: String) -> CString {
    CString::new(s).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|&b| b != 0);
        CString::new(bytes).unwrap_or_default()
    })
}

/// The `Status` table's values.
fn status_rows(status_text: &str, source: &str, state: &EngineState) -> Vec<String> {
    let mut status_rows = vec![String::new(); STATUS_FIELDS.len()];
    status_rows[StatusField::Status as usize] = status_text.to_owned();
    status_rows[StatusField::Source as usize] = source.to_owned();
    status_rows[StatusField::Connected as usize] = u8::from(state.connected).to_string();
    status_rows[StatusField::AuthState as usize] =
        state.auth.as_ref().map(|a| a.state.clone()).unwrap_or_default();
    status_rows[StatusField::LastError as usize] = state.error.clone().unwrap_or_default();
    status_rows[StatusField::Warning as usize] = state.warning.clone().unwrap_or_default();
    status_rows[StatusField::Requests as usize] = state.stats.requests.to_string();
    status_rows[StatusField::Errors as usize] = state.stats.errors.to_string();
    status_rows[StatusField::RateLimited as usize] = state.stats.rate_limited.to_string();
    status_rows[StatusField::LastLatencyMs as usize] = format!("{:.1}", state.stats.last_latency_ms);
    status_rows
}

/// The `Now playing` table's values.
fn now_playing_rows(
    status_text: String,
    source: &str,
    playback: &Playback,
    state: &EngineState,
) -> Vec<String> {
    let mut rows = vec![String::new(); ROW_COUNT];
    rows[Row::Status as usize] = status_text;
    rows[Row::Source as usize] = source.to_owned();
    rows[Row::IsPlaying as usize] = u8::from(playback.is_playing).to_string();
    rows[Row::ProgressMs as usize] = playback.progress_ms.to_string();
    rows[Row::Timestamp as usize] = playback.timestamp_ms.to_string();
    if let Some(auth) = &state.auth {
        rows[Row::AuthState as usize].clone_from(&auth.state);
        rows[Row::AuthUrl as usize].clone_from(&auth.url);
        rows[Row::User as usize].clone_from(&auth.user);
        rows[Row::Error as usize].clone_from(&auth.error);
    }
    if let Some(error) = &state.error {
        rows[Row::Error as usize].clone_from(error);
    }
    if let Some(device) = &playback.device {
        rows[Row::Device as usize] = device.name.clone();
        rows[Row::DeviceType as usize] = device.kind.clone();
    }
    rows[Row::ContextUri as usize] = playback.context_uri.clone().unwrap_or_default();
    item_rows(&mut rows, playback);
    rows[Row::Features as usize] = match (&state.features_note, &playback.item) {
        (Some(note), _) => note.clone(),
        (None, Some(item)) => match (&item.features, &item.analysis) {
            (Some(_), Some(a)) if a.has_beats() => FEATURES_AVAILABLE.to_owned(),
            (Some(_), _) => FEATURES_WITHOUT_ANALYSIS.to_owned(),
            (None, _) => FEATURES_NONE.to_owned(),
        },
        (None, None) => FEATURES_NONE.to_owned(),
    };
    rows
}

/// The rows that describe the item playing.
fn item_rows(rows: &mut [String], playback: &Playback) {
    if let Some(item) = &playback.item {
        rows[Row::Name as usize] = item.name.clone();
        rows[Row::Artists as usize] = item.artists.join(", ");
        rows[Row::Album as usize] = item.album.clone();
        rows[Row::AlbumArtUrl as usize] = item.album_art_url.clone().unwrap_or_default();
        rows[Row::AlbumArtUrlSmall as usize] = item.album_art_url_small.clone().unwrap_or_default();
        rows[Row::TrackId as usize] = item.id.clone().unwrap_or_default();
        rows[Row::Uri as usize] = item.uri.clone();
        rows[Row::DurationMs as usize] = item.duration_ms.to_string();
        if let Some(f) = &item.features {
            rows[Row::Key as usize] = f.key.map(key_name).unwrap_or_default().to_owned();
            rows[Row::Mode as usize] = match f.mode {
                Some(1) => "major".to_owned(),
                Some(0) => "minor".to_owned(),
                _ => String::new(),
            };
            if f.time_signature > 0 {
                rows[Row::TimeSignature as usize] = f.time_signature.to_string();
            }
        }
        rows[Row::CurrentlyPlayingType as usize] = item.kind.as_str().to_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_snapshot_waits_for_signal() {
        let s = Snapshot::build("simulator", Playback::idle(Instant::now()), &EngineState::default(), 0, 0);
        assert_eq!(s.row(Row::Status), "Waiting for signal…");
        assert_eq!(s.status, Status::Waiting);
        assert_eq!(s.summary.to_str().unwrap(), "Waiting for signal… · simulator · 0 requests");
    }

    #[test]
    fn features_blocked_for_the_app_show_in_the_row_and_the_channel() {
        use crate::api::features::{UNAVAILABLE, UNAVAILABLE_WARNING};
        use crate::model::playback::Item;
        let t0 = Instant::now();
        let item =
            Item { uri: "spotify:track:06AKEBrKUckW0KREUWRnvT".into(), duration_ms: 1000, ..Item::default() };
        let state = EngineState {
            features_note: Some(UNAVAILABLE.to_owned()),
            warning: Some(UNAVAILABLE_WARNING.to_owned()),
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

    #[test]
    fn auth_rows_fill_and_errors_win() {
        let auth = AuthRows {
            state: "logged in".into(),
            url: String::new(),
            user: "Ada".into(),
            error: "Spotify is rate limiting".into(),
        };
        let state = EngineState { auth: Some(auth), connected: true, ..EngineState::default() };
        let s = Snapshot::build("spotify", Playback::idle(Instant::now()), &state, 0, 0);
        assert_eq!(s.row(Row::AuthState), "logged in");
        assert_eq!(s.row(Row::User), "Ada");
        assert_eq!(s.row(Row::Error), "Spotify is rate limiting");
        let state = EngineState { error: Some("Set Clientid".into()), ..state };
        let s = Snapshot::build("spotify", Playback::idle(Instant::now()), &state, 0, 0);
        assert_eq!(s.row(Row::Error), "Set Clientid");
    }

    #[test]
    fn features_rows_and_channels() {
        use crate::model::playback::{Features, Item};
        use std::sync::Arc;
        let now = Instant::now();
        let features = Features {
            tempo: 120.0,
            time_signature: 4,
            danceability: 0.8,
            key: Some(1),
            mode: Some(0),
            ..Features::default()
        };
        let item = Item {
            uri: "spotify:track:x".into(),
            duration_ms: 200_000,
            features: Some(features),
            analysis: Some(Arc::new(crate::engine::tempo::Analysis::new(
                vec![0.0, 0.5, 1.0, 1.5],
                vec![],
                vec![0.0, 1.0],
                vec![],
            ))),
            ..Item::default()
        };
        let playback = Playback {
            item: Some(item.clone()),
            is_playing: false,
            progress_ms: 1250,
            ..Playback::idle(now)
        };
        let s = Snapshot::build("spotify", playback.clone(), &EngineState::default(), 1, 1);
        assert_eq!(s.row(Row::Features), FEATURES_AVAILABLE);
        assert_eq!((s.row(Row::Key), s.row(Row::Mode), s.row(Row::TimeSignature)), ("C♯/D♭", "minor", "4"));
        let mut out = [0.0; CHANNEL_COUNT];
        let frame = s.channels_with(now, &LiveTempo::default(), &mut out);
        assert_eq!(frame.source, tempo::TempoSource::Api);
        assert_eq!(out[Channel::FeaturesAvailable as usize], 1.0);
        assert_eq!(out[Channel::TempoSource as usize], 1.0);
        assert_eq!(out[Channel::Section as usize], 1.0);
        assert!((out[Channel::BeatPhase as usize] - 0.5).abs() < 1e-6);
        assert!((out[Channel::Danceability as usize] - 0.8).abs() < 1e-6);

        // A 403: no features, the note in the row, nothing from the API in the channels.
        let blocked = Item { features: None, analysis: None, ..item };
        let state = EngineState {
            features_note: Some("audio features unavailable for this Spotify app".into()),
            ..EngineState::default()
        };
        let s = Snapshot::build("spotify", Playback { item: Some(blocked), ..playback }, &state, 1, 1);
        assert_eq!(s.row(Row::Features), "audio features unavailable for this Spotify app");
        s.channels(now, &mut out);
        assert_eq!(out[Channel::FeaturesAvailable as usize], 0.0);
        assert_eq!(out[Channel::TempoSource as usize], 0.0);
        assert_eq!(out[Channel::Tempo as usize], 0.0);
    }

    #[test]
    fn inactive_is_all_zeros() {
        let s = Snapshot::empty("none", Status::Inactive);
        let mut out = [1.0; CHANNEL_COUNT];
        let live = LiveTempo {
            manual: Some(tempo::BeatReading { tempo: 120.0, point: Default::default(), key: 0 }),
            ..LiveTempo::default()
        };
        s.channels_with(Instant::now(), &live, &mut out);
        assert!(out.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn playback_details_reach_channels_and_rows() {
        use crate::model::playback::{Device, Item, Repeat};
        let now = Instant::now();
        let playback = Playback {
            item: Some(Item {
                kind: ItemKind::Episode,
                uri: "spotify:episode:1".into(),
                name: "Ep".into(),
                album_art_url: Some("big".into()),
                album_art_url_small: Some("small".into()),
                duration_ms: 1000,
                ..Item::default()
            }),
            is_playing: true,
            device: Some(Device { name: "Desk".into(), kind: "Computer".into(), volume_percent: Some(40) }),
            shuffle: true,
            repeat: Repeat::Track,
            context_uri: Some("spotify:show:2".into()),
            ..Playback::idle(now)
        };
        let s = Snapshot::build("spotify", playback, &EngineState::default(), 1, 1);
        let mut out = [0.0; CHANNEL_COUNT];
        s.channels(now, &mut out);
        assert_eq!(out[Channel::Volume as usize], 0.4);
        assert_eq!(out[Channel::Shuffle as usize], 1.0);
        assert_eq!(out[Channel::Repeat as usize], 2.0);
        assert_eq!(out[Channel::IsEpisode as usize], 1.0);
        assert_eq!(s.row(Row::DeviceType), "Computer");
        assert_eq!(s.row(Row::ContextUri), "spotify:show:2");
        assert_eq!(s.row(Row::CurrentlyPlayingType), "episode");
        assert_eq!(s.row(Row::AlbumArtUrl), "big");
        assert_eq!(s.row(Row::AlbumArtUrlSmall), "small");
    }

    #[test]
    fn nul_bytes_are_dropped_not_the_text() {
        assert_eq!(to_cstring("a\0b".into()).to_str().unwrap(), "ab");
    }
}
