//! The immutable picture of the engine's state that readers copy from.
//!
//! The engine builds a [`Snapshot`] whenever something changes and publishes it with an atomic
//! pointer swap. Readers (TouchDesigner cooks) pin one with a reference-count increment and
//! compute the time-dependent channels from it without locking or allocating.

use std::ffi::CString;
use std::sync::Arc;
use std::time::Instant;

use super::playback::{ItemKind, Playback};
use super::tempo;
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

/// Counters of the engine's work, shown by the Info CHOP and DAT.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// Requests made to the source since the engine started.
    pub requests: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Times the source answered 429.
    pub rate_limited: u64,
    /// Round trip of the last request, in milliseconds.
    pub last_latency_ms: f64,
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
        let mut status_rows = vec![String::new(); STATUS_FIELDS.len()];
        status_rows[StatusField::Status as usize] = status_text.clone();
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
        if let Some(item) = &playback.item {
            rows[Row::Name as usize] = item.name.clone();
            rows[Row::Artists as usize] = item.artists.join(", ");
            rows[Row::Album as usize] = item.album.clone();
            rows[Row::AlbumArtUrl as usize] = item.album_art_url.clone().unwrap_or_default();
            rows[Row::AlbumArtUrlSmall as usize] = item.album_art_url_small.clone().unwrap_or_default();
            rows[Row::TrackId as usize] = item.id.clone().unwrap_or_default();
            rows[Row::Uri as usize] = item.uri.clone();
            rows[Row::DurationMs as usize] = item.duration_ms.to_string();
            rows[Row::CurrentlyPlayingType as usize] = item.kind.as_str().to_owned();
        }
        Snapshot {
            status,
            connected: state.connected,
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
        }
    }

    /// Fills `out` with every channel's value at `now`. Never allocates.
    ///
    /// `track_changed` is left at 0: it depends on what each reader saw last.
    pub fn channels(&self, now: Instant, out: &mut [f32; CHANNEL_COUNT]) {
        let p = &self.playback;
        let position = p.position_at(now);
        let duration = p.item.as_ref().map_or(0.0, |i| i.duration_ms as f64 / 1000.0);
        let features = p.item.as_ref().and_then(|i| i.features).unwrap_or_default();
        let (beat_phase, bar_phase) = tempo::phases(position, &features);
        let mut set = |c: Channel, v: f64| out[c as usize] = v as f32;
        set(Channel::Connected, f64::from(u8::from(self.connected)));
        set(Channel::Playing, f64::from(u8::from(p.is_playing && p.item.is_some())));
        set(Channel::Position, position);
        set(Channel::Duration, duration);
        set(Channel::Progress, if duration > 0.0 { position / duration } else { 0.0 });
        set(Channel::Remaining, (duration - position).max(0.0));
        set(Channel::TrackChanged, 0.0);
        set(Channel::TrackCount, self.track_count as f64);
        set(Channel::Tempo, features.tempo);
        set(Channel::BeatPhase, beat_phase);
        set(Channel::BarPhase, bar_phase);
        set(Channel::Energy, features.energy);
        set(Channel::Valence, features.valence);
        set(Channel::Status, f64::from(self.status as u8));
        let volume = p.device.as_ref().and_then(|d| d.volume_percent).map_or(0.0, |v| f64::from(v) / 100.0);
        set(Channel::Volume, volume);
        set(Channel::Shuffle, f64::from(u8::from(p.shuffle)));
        set(Channel::Repeat, f64::from(p.repeat.code()));
        let episode = p.item.as_ref().is_some_and(|i| i.kind == ItemKind::Episode);
        set(Channel::IsEpisode, f64::from(u8::from(episode)));
    }

    /// The value of one row.
    pub fn row(&self, row: Row) -> &str {
        self.rows[row as usize].to_str().unwrap_or("")
    }
}

/// Row values come from the network: an interior NUL must not lose the rest of the text.
fn to_cstring(s: String) -> CString {
    CString::new(s).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|&b| b != 0);
        CString::new(bytes).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_snapshot_waits_for_signal() {
        let s = Snapshot::build("simulator", Playback::idle(Instant::now()), &EngineState::default(), 0, 0);
        assert_eq!(s.row(Row::Status), "Waiting for signal…");
        assert_eq!(s.status, Status::Waiting);
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
    fn playback_details_reach_channels_and_rows() {
        use crate::engine::playback::{Device, Item, Repeat};
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
