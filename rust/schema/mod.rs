//! The names TouchDesigner users see: channels, rows and parameters.
//!
//! These tables are the single source of truth. The C++ shim reads them through the C ABI, the CLI
//! prints them, `TouchDesigner/README.md` is generated from them and the tests compare against
//! them. A name, once shipped, never changes: it is saved in `.toe` files and typed into artists'
//! expressions. New entries go at the end of their group.

use std::ffi::CStr;

mod operators;
mod params;

pub use operators::*;
pub use params::*;

/// Turns a string literal into a `&'static CStr` at compile time.
macro_rules! cstr {
    ($s:expr) => {
        match CStr::from_bytes_with_nul(concat!($s, "\0").as_bytes()) {
            Ok(c) => c,
            Err(_) => panic!("name contains a NUL byte"),
        }
    };
}

/// One CHOP channel: its name, unit and what it means.
#[derive(Debug)]
pub struct ChannelSpec {
    pub name: &'static str,
    pub c_name: &'static CStr,
    pub unit: &'static str,
    pub range: &'static str,
    pub help: &'static str,
}

macro_rules! channels {
    ($($variant:ident => $name:literal, $unit:literal, $range:literal, $help:literal;)*) => {
        /// Index of each channel in [`CHANNELS`] and in the CHOP's output.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        pub enum Channel { $($variant),* }

        /// Every CHOP channel, in output order.
        pub const CHANNELS: &[ChannelSpec] = &[
            $(ChannelSpec { name: $name, c_name: cstr!($name), unit: $unit, range: $range, help: $help }),*
        ];
    };
}

channels! {
    Connected => "connected", "bool", "0/1", "1 while the source is reachable and, for Spotify, logged in.";
    Playing => "playing", "bool", "0/1", "1 while a track is playing (0 when paused or idle).";
    Position => "position", "s", "0 – duration", "Playback position, extrapolated every frame between updates.";
    Duration => "duration", "s", "≥ 0", "Length of the current item; 0 when nothing plays.";
    Progress => "progress", "ratio", "0 – 1", "position / duration: wire it to a bar.";
    Remaining => "remaining", "s", "≥ 0", "duration − position.";
    TrackChanged => "track_changed", "pulse", "0/1", "1 for exactly one cook after a new item starts.";
    TrackCount => "track_count", "count", "≥ 0", "Items started since the engine started (or Resetcounters).";
    Tempo => "tempo", "BPM", "0 – 300", "Beats per minute of the current item; 0 when unknown.";
    BeatPhase => "beat_phase", "ratio", "0 – 1", "Where in the current beat we are: ramps 0→1 once per beat.";
    BarPhase => "bar_phase", "ratio", "0 – 1", "Where in the current bar we are: ramps 0→1 once per bar.";
    Energy => "energy", "ratio", "0 – 1", "Perceived intensity of the current item; 0 when unknown.";
    Valence => "valence", "ratio", "0 – 1", "Musical positiveness of the current item; 0 when unknown.";
    Status => "status", "code", "0 – 7", "Engine state as a number; see the status codes table.";
    Beat => "beat", "pulse", "0/1", "1 for exactly one cook when a beat starts (of whichever tempo_source is in use).";
    Section => "section", "index", "≥ 0", "Section of the track, counting from 0: from Spotify's audio analysis, or counted from the audio input while it drives tempo; 0 when unknown.";
    Onset => "onset", "ratio", "0 – 1", "Jumps when a new sound starts and fades in about 0.1 s: from the audio input when wired, else from the analysis.";
    Loudness => "loudness", "dB", "-60 – 0", "Short-term level of the audio input when wired, else Spotify's loudness; -60 when unknown.";
    TempoSource => "tempo_source", "code", "0 – 3", "Where tempo and beat_phase come from: 0 none, 1 Spotify (or the simulator), 2 audio input, 3 Bpm/Tap.";
    FeaturesAvailable => "features_available", "bool", "0/1", "1 when Spotify's audio features are known for the current item (0 after a 403).";
    Danceability => "danceability", "ratio", "0 – 1", "How suitable the current item is for dancing; 0 when unknown.";
    Volume => "volume", "ratio", "0 – 1", "Volume of the playing device (its percent / 100); 0 when unknown.";
    Shuffle => "shuffle", "bool", "0/1", "1 while shuffle is on.";
    Repeat => "repeat", "code", "0 – 2", "Repeat mode: 0 off, 1 context (the playlist or album), 2 track.";
    IsEpisode => "is_episode", "bool", "0/1", "1 while the item is a podcast episode.";
    ArtR => "art_r", "ratio", "0 – 1", "Red of the cover's dominant colour (sRGB); glides over Colorfade when the item changes.";
    ArtG => "art_g", "ratio", "0 – 1", "Green of the cover's dominant colour (sRGB).";
    ArtB => "art_b", "ratio", "0 – 1", "Blue of the cover's dominant colour (sRGB).";
    ArtBrightness => "art_brightness", "ratio", "0 – 1", "Mean perceived lightness of the cover (Oklab L): 0 black, 1 white.";
    ArtSaturation => "art_saturation", "ratio", "0 – 1", "Mean colourfulness of the cover (Oklab chroma; 1 ≈ a pure primary).";
    Palette1R => "palette1_r", "ratio", "0 – 1", "Red of the cover's most common colour.";
    Palette1G => "palette1_g", "ratio", "0 – 1", "Green of the cover's most common colour.";
    Palette1B => "palette1_b", "ratio", "0 – 1", "Blue of the cover's most common colour.";
    Palette2R => "palette2_r", "ratio", "0 – 1", "Red of swatch 2 of the cover's palette (by share, largest first).";
    Palette2G => "palette2_g", "ratio", "0 – 1", "Green of swatch 2 of the cover's palette (by share, largest first).";
    Palette2B => "palette2_b", "ratio", "0 – 1", "Blue of swatch 2 of the cover's palette (by share, largest first).";
    Palette3R => "palette3_r", "ratio", "0 – 1", "Red of swatch 3 of the cover's palette (by share, largest first).";
    Palette3G => "palette3_g", "ratio", "0 – 1", "Green of swatch 3 of the cover's palette (by share, largest first).";
    Palette3B => "palette3_b", "ratio", "0 – 1", "Blue of swatch 3 of the cover's palette (by share, largest first).";
    Palette4R => "palette4_r", "ratio", "0 – 1", "Red of swatch 4 of the cover's palette (by share, largest first).";
    Palette4G => "palette4_g", "ratio", "0 – 1", "Green of swatch 4 of the cover's palette (by share, largest first).";
    Palette4B => "palette4_b", "ratio", "0 – 1", "Blue of swatch 4 of the cover's palette (by share, largest first).";
    Palette5R => "palette5_r", "ratio", "0 – 1", "Red of swatch 5 of the cover's palette (by share, largest first).";
    Palette5G => "palette5_g", "ratio", "0 – 1", "Green of swatch 5 of the cover's palette (by share, largest first).";
    Palette5B => "palette5_b", "ratio", "0 – 1", "Blue of swatch 5 of the cover's palette (by share, largest first).";
    SectionChanged => "section_changed", "pulse", "0/1", "1 for exactly one cook when `section` changes within an item.";
    QueueLength => "queue_length", "count", "≥ 0", "Juke-V-Box: visitors in line, the active one included; 0 when Jukebox is off.";
    TurnRemaining => "turn_remaining", "s", "≥ 0", "Juke-V-Box: seconds left in the active visitor's turn (0 with Turnmode Track, or nobody in line).";
    TurnIndex => "turn_index", "count", "≥ 0", "Juke-V-Box: turns started since the queue was created; changes when the turn passes.";
}

/// Number of CHOP channels.
pub const CHANNEL_COUNT: usize = CHANNELS.len();

/// A named output without units: a row of the `Now playing` table or an Info CHOP channel.
#[derive(Debug)]
pub struct NamedSpec {
    pub name: &'static str,
    pub c_name: &'static CStr,
    pub help: &'static str,
}

/// Declares an index enum and the table of [`NamedSpec`]s it indexes, in one order.
macro_rules! named_table {
    (
        $(#[$enum_doc:meta])* enum $enum:ident;
        $(#[$table_doc:meta])* const $table:ident;
        $($variant:ident => $name:literal, $help:literal;)*
    ) => {
        $(#[$enum_doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        pub enum $enum { $($variant),* }

        $(#[$table_doc])*
        pub const $table: &[NamedSpec] = &[
            $(NamedSpec { name: $name, c_name: cstr!($name), help: $help }),*
        ];
    };
}

named_table! {
    /// Index of each row in [`ROWS`] (row 0 of the table is the `field | value` header).
    enum Row;
    /// Every row of the `Now playing` table, in order.
    const ROWS;
    Status => "status", "Human-readable state, e.g. `Playing`, `Paused`, `Waiting for signal…`.";
    Name => "name", "Title of the track or episode.";
    Artists => "artists", "Artists joined with `, ` (the show's name for a podcast episode).";
    Album => "album", "Album name (empty for episodes).";
    AlbumArtUrl => "album_art_url", "URL of the largest cover image; empty when there is none.";
    TrackId => "track_id", "Spotify id (empty for local files and ads).";
    Uri => "uri", "Spotify URI, e.g. `spotify:track:…`.";
    DurationMs => "duration_ms", "Length in milliseconds.";
    ProgressMs => "progress_ms", "Position in milliseconds at the last update (the `position` channel is smooth).";
    Timestamp => "timestamp", "Unix time in milliseconds of the last update from the source.";
    IsPlaying => "is_playing", "`1` while playing, `0` otherwise.";
    Device => "device", "Name of the playing device.";
    Source => "source", "Where the data comes from: `simulator` or `spotify`.";
    AuthState => "auth_state", "Spotify login: `logged out`, `waiting for browser`, `logged in` or `login required`.";
    AuthUrl => "auth_url", "While logging in: a link that starts the login in any browser on this computer.";
    User => "user", "Display name of the logged-in Spotify user.";
    Error => "error", "The last problem, with what to do about it; empty when all is well.";
    Features => "features", "Spotify audio features: `available`, `none`, or why not (e.g. `audio features unavailable for this Spotify app`).";
    Key => "key", "Key of the track, e.g. `C♯/D♭` (empty when unknown).";
    Mode => "mode", "`major` or `minor` (empty when unknown).";
    TimeSignature => "time_signature", "Beats per bar (empty when unknown).";
    DeviceType => "device_type", "Kind of the playing device, e.g. `Computer`, `Smartphone`, `Speaker`.";
    ContextUri => "context_uri", "URI of the playlist, album, artist or show being played; empty when none.";
    CurrentlyPlayingType => "currently_playing_type", "`track`, `episode`, `ad` or `unknown`; empty when nothing plays.";
    AlbumArtUrlSmall => "album_art_url_small", "URL of the smallest cover image; empty when there is none.";
    Art => "art", "The cover palette: `ok`, `loading`, `no art` (local files, ads), or why the cover failed (the last colours stay).";
}

/// Number of rows in the `Now playing` table, header excluded.
pub const ROW_COUNT: usize = ROWS.len();

/// What the numeric `status` channel means. The text is the `status` row's default wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Status {
    /// The operator's `Active` toggle is off.
    #[default]
    Inactive = 0,
    /// Connected, but nothing is playing.
    Waiting = 1,
    Playing = 2,
    Paused = 3,
    /// Spotify needs a (new) login.
    LoginRequired = 4,
    /// The source cannot be reached; the engine retries by itself.
    Offline = 5,
    /// A problem the user must fix (bad settings, app not allowed…).
    Error = 6,
    /// Starting up or logging in.
    Connecting = 7,
}

impl Status {
    /// Every status, in code order (for docs and tests).
    pub fn all() -> [Status; 8] {
        [
            Status::Inactive,
            Status::Waiting,
            Status::Playing,
            Status::Paused,
            Status::LoginRequired,
            Status::Offline,
            Status::Error,
            Status::Connecting,
        ]
    }

    /// The default wording of the `status` row.
    pub fn text(self) -> &'static str {
        match self {
            Status::Inactive => "Inactive",
            Status::Waiting => "Waiting for signal…",
            Status::Playing => "Playing",
            Status::Paused => "Paused",
            Status::LoginRequired => "Login required",
            Status::Offline => "Offline",
            Status::Error => "Error",
            Status::Connecting => "Connecting…",
        }
    }
}

named_table! {
    /// Index of each value in [`INFOS`].
    enum Info;
    /// Every Info CHOP channel (and row of the Info DAT), in order.
    const INFOS;
    Requests => "requests", "Requests the engine made to the source.";
    Errors => "errors", "Requests that failed.";
    RateLimited => "rate_limited", "Times Spotify answered 429 (too many requests).";
    LastLatencyMs => "last_latency_ms", "Round trip of the last request, in milliseconds.";
    SnapshotAgeMs => "snapshot_age_ms", "Time since the engine last published, in milliseconds.";
    EngineThreads => "engine_threads", "Engine threads running in this process.";
}

/// Which TouchDesigner operator family a parameter belongs to (bit mask).
pub mod family {
    pub const CHOP: u32 = 1;
    pub const DAT: u32 = 2;
    pub const BOTH: u32 = CHOP | DAT;
}

/// Columns of the `Queue` table (row 0 is this header).
pub const QUEUE_COLUMNS: &[&CStr] =
    &[c"position", c"name", c"artists", c"album", c"duration_ms", c"uri", c"track_id", c"type"];
/// Columns of the `Recently played` table.
pub const RECENT_COLUMNS: &[&CStr] =
    &[c"played_at", c"name", c"artists", c"album", c"duration_ms", c"uri", c"track_id", c"context_uri"];
/// Columns of the `Devices` table.
pub const DEVICE_COLUMNS: &[&CStr] = &[c"name", c"type", c"is_active", c"volume_percent", c"id"];
/// Columns of the `Palette` table: rank 1 is the dominant swatch; r, g, b are sRGB 0–1.
pub const PALETTE_COLUMNS: &[&CStr] = &[c"rank", c"hex", c"r", c"g", c"b", c"share"];
/// Columns of the `Visitors` table: those in line (position 1 plays), then those who left
/// recently (empty position, state `left`), with the note they were shown. Never a token.
pub const VISITOR_COLUMNS: &[&CStr] = &[c"position", c"name", c"state", c"note"];

/// Rows of the `Status` table (`field | value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum StatusField {
    Status,
    Source,
    Connected,
    AuthState,
    LastError,
    Warning,
    Requests,
    Errors,
    RateLimited,
    LastLatencyMs,
    Art,
}

/// Names of the `Status` table's rows, in [`StatusField`] order.
pub const STATUS_FIELDS: &[&CStr] = &[
    c"status",
    c"source",
    c"connected",
    c"auth_state",
    c"last_error",
    c"warning",
    c"requests",
    c"errors",
    c"rate_limited",
    c"last_latency_ms",
    c"art",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_are_lowercase_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in CHANNELS {
            assert!(
                c.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                c.name
            );
            assert!(seen.insert(c.name), "duplicate channel {}", c.name);
            assert_eq!(c.c_name.to_str().unwrap(), c.name);
        }
        assert_eq!(CHANNELS[Channel::Status as usize].name, "status");
    }

    #[test]
    fn row_names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in ROWS {
            assert!(seen.insert(r.name), "duplicate row {}", r.name);
        }
        assert_eq!(ROWS[Row::Source as usize].name, "source");
    }
}
