//! Parameters: one table (name, label, page, kind, default, range, menu, help) that the shim,
//! the settings, the docs and the tests all read.

use std::ffi::CStr;

use super::family;

/// The parameter table and its index enum from one list, so the two cannot drift: each variant
/// is the TouchDesigner name of its entry (checked at compile time).
macro_rules! params {
    (
        $(#[$enum_doc:meta])* enum $enum:ident;
        $(#[$table_doc:meta])* const $table:ident;
        $($variant:ident => $spec:expr;)*
    ) => {
        $(#[$enum_doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        pub enum $enum { $($variant),* }

        impl $enum {
            /// Every parameter, in table order.
            pub const ALL: &[$enum] = &[$($enum::$variant),*];

            /// The parameter TouchDesigner calls `name`.
            pub fn from_name(name: &[u8]) -> Option<$enum> {
                param_index(name).map(|i| $enum::ALL[i])
            }

            /// Its entry in the table.
            pub fn spec(self) -> &'static ParamSpec {
                &$table[self as usize]
            }
        }

        $(#[$table_doc])*
        pub const $table: &[ParamSpec] = &[$($spec),*];

        const _: () = {
            $(assert!(
                same_bytes($table[$enum::$variant as usize].name.to_bytes(), stringify!($variant).as_bytes()),
                concat!("parameter ", stringify!($variant), " is not named after its variant"),
            );)*
        };
    };
}

/// `a == b` for byte strings, in a const context.
const fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// How a parameter is shown in TouchDesigner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ParamKind {
    Toggle = 0,
    Int = 1,
    Float = 2,
    Menu = 3,
    String = 4,
    Pulse = 5,
    Folder = 6,
}

/// One entry of a menu parameter: the token saved in the `.toe` and the label shown.
#[derive(Debug)]
pub struct MenuItem {
    pub name: &'static CStr,
    pub label: &'static CStr,
}

/// One custom parameter, as it appears on the operator's `Spotify` page.
#[derive(Debug)]
pub struct ParamSpec {
    pub name: &'static CStr,
    pub label: &'static CStr,
    pub page: &'static CStr,
    pub kind: ParamKind,
    /// Which families show it ([`family`] bits).
    pub families: u32,
    pub default: f64,
    pub min: f64,
    pub max: f64,
    pub clamp: bool,
    /// Default of a String or Menu parameter.
    pub default_str: &'static CStr,
    pub menu: &'static [MenuItem],
    pub help: &'static CStr,
    /// When a cook asks TouchDesigner for its value.
    pub read_when: ReadWhen,
}

/// When a cook reads a parameter: only while its value can change what the operator does, so
/// a page not in use (the simulator's while following Spotify, the Juke-V-Box page while it is
/// off) costs nothing per frame. The conditions depend only on parameters read
/// [`ReadWhen::Always`], which a cook reads first: a parameter that comes into use is read in the
/// same cook. Bits, so a condition can hold in more than one mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ReadWhen {
    Always = 0,
    /// `Source` is Simulator.
    Simulator = 1,
    /// `Source` is Spotify.
    Spotify = 2,
    /// `Jukebox` is on.
    Jukebox = 4,
    /// `Source` is Spotify or `Jukebox` is on (the token and queue folder).
    SpotifyOrJukebox = 2 | 4,
    /// `Temposource` can fall back to the manual clock (Auto or Manual).
    ManualTempo = 8,
}

impl ParamSpec {
    /// The parameter's name as UTF-8.
    pub fn name_str(&self) -> &'static str {
        self.name.to_str().unwrap_or("")
    }

    /// The item index of menu token `token` (as TouchDesigner's getParInt gives it), if the menu
    /// has it.
    pub fn menu_index(&self, token: &[u8]) -> Option<usize> {
        self.menu.iter().position(|m| m.name.to_bytes() == token)
    }
}

/// Page every parameter lives on.
pub const PAGE: &CStr = c"Spotify";
/// Page of the simulator's settings.
pub const SIM_PAGE: &CStr = c"Simulator";
/// Page of the Juke-V-Box settings.
pub const JUKEBOX_PAGE: &CStr = c"Jukebox";

const SOURCE_MENU: &[MenuItem] =
    &[MenuItem { name: c"Simulator", label: c"Simulator" }, MenuItem { name: c"Spotify", label: c"Spotify" }];

const fn param(name: &'static CStr, label: &'static CStr, kind: ParamKind) -> ParamSpec {
    ParamSpec {
        name,
        label,
        page: PAGE,
        kind,
        families: family::BOTH,
        default: 0.0,
        min: 0.0,
        max: 1.0,
        clamp: false,
        default_str: c"",
        menu: &[],
        help: c"",
        read_when: ReadWhen::Always,
    }
}

params! {
    /// Index of each parameter in [`PARAMS`]; the variant is the name TouchDesigner saves.
    enum Param;
    /// Every custom parameter, in the order they are appended.
    const PARAMS;
    Active => ParamSpec {
        default: 1.0,
        help: c"Off releases the engine and outputs zeros.",
        ..param(c"Active", c"Active", ParamKind::Toggle)
    };
    Source => ParamSpec {
        default_str: c"Simulator",
        menu: SOURCE_MENU,
        help: c"Simulator plays made-up tracks (no account needed); Spotify follows your account.",
        ..param(c"Source", c"Source", ParamKind::Menu)
    };
    Simseed => ParamSpec {
        read_when: ReadWhen::Simulator,
        page: SIM_PAGE,
        default: 1.0,
        min: 0.0,
        max: 1000.0,
        clamp: true,
        help: c"Seed of the simulated playlist: the same seed plays the same tracks.",
        ..param(c"Simseed", c"Simulator Seed", ParamKind::Int)
    };
    Simspeed => ParamSpec {
        read_when: ReadWhen::Simulator,
        page: SIM_PAGE,
        default: 1.0,
        min: 0.01,
        max: 100.0,
        clamp: true,
        help: c"How fast simulated time runs (1 = real time).",
        ..param(c"Simspeed", c"Simulator Speed", ParamKind::Float)
    };
    Clientid => ParamSpec {
        read_when: ReadWhen::Spotify,
        help: c"Client ID of your Spotify app (developer.spotify.com → Dashboard → your app → Settings). \
A Development Mode app needs an owner with Premium, and each user (at most 5) added under User Management.",
        ..param(c"Clientid", c"Client ID", ParamKind::String)
    };
    Port => ParamSpec {
        read_when: ReadWhen::Spotify,
        default: crate::config::DEFAULT_PORT as f64,
        min: 0.0,
        max: 65535.0,
        clamp: true,
        help: c"Port of the login callback. 0 = Auto (a free port): register http://127.0.0.1/callback, without a \
port, as a Redirect URI in your Spotify app. A fixed port needs http://127.0.0.1:PORT/callback registered.",
        ..param(c"Port", c"Callback Port", ParamKind::Int)
    };
    Login => ParamSpec {
        help:
            c"Opens your browser at Spotify's login page; the auth_url row has a link for any other browser.",
        ..param(c"Login", c"Login", ParamKind::Pulse)
    };
    Logout => ParamSpec {
        help: c"Forgets the saved Spotify login on this computer.",
        ..param(c"Logout", c"Logout", ParamKind::Pulse)
    };
    Tokencache => ParamSpec {
        read_when: ReadWhen::SpotifyOrJukebox,
        help: c"Folder of the saved login (one file per client ID); empty = your user config folder.",
        ..param(c"Tokencache", c"Token Cache Folder", ParamKind::Folder)
    };
    Mode => ParamSpec {
        families: family::DAT,
        default_str: c"nowplaying",
        menu: MODE_MENU,
        help:
            c"What the DAT lists: the current item, the queue, recent tracks, devices, the engine's status, the cover's palette \
or the Juke-V-Box visitors.",
        ..param(c"Mode", c"Mode", ParamKind::Menu)
    };
    Playpause => ParamSpec {
        help: c"Toggles playback on the active device (Spotify Premium).",
        ..param(c"Playpause", c"Play / Pause", ParamKind::Pulse)
    };
    Next => ParamSpec {
        help: c"Skips to the next item (Spotify Premium).",
        ..param(c"Next", c"Next", ParamKind::Pulse)
    };
    Previous => ParamSpec {
        help: c"Goes back to the previous item (Spotify Premium).",
        ..param(c"Previous", c"Previous", ParamKind::Pulse)
    };
    Resetcounters => ParamSpec {
        help: c"Sets track_count and the request counters back to 0.",
        ..param(c"Resetcounters", c"Reset Counters", ParamKind::Pulse)
    };
    Bpm => ParamSpec {
        read_when: ReadWhen::ManualTempo,
        families: family::CHOP,
        default: 120.0,
        min: 20.0,
        max: 300.0,
        clamp: true,
        help: c"Manual tempo in beats per minute, used when neither Spotify nor the audio input gives one.",
        ..param(c"Bpm", c"BPM", ParamKind::Float)
    };
    Tap => ParamSpec {
        families: family::CHOP,
        help: c"Tap on the beat: the manual tempo follows your recent taps and a beat starts on each.",
        ..param(c"Tap", c"Tap Tempo", ParamKind::Pulse)
    };
    Pollinterval => ParamSpec {
        read_when: ReadWhen::Spotify,
        default: 1.0,
        min: MIN_POLL_INTERVAL_S,
        max: 60.0,
        clamp: true,
        help: c"Seconds between requests to Spotify at the fastest. The engine polls every 3.5 intervals \
while playing, every 4 to 5 while paused or idle, and just after each track's predicted end.",
        ..param(c"Pollinterval", c"Poll Interval", ParamKind::Float)
    };
    Colorfade => ParamSpec {
        families: family::CHOP,
        default: 2.0,
        min: 0.0,
        max: 10.0,
        clamp: true,
        help: c"Seconds the art and palette channels take to glide to a new cover's colours (0 = cut).",
        ..param(c"Colorfade", c"Color Fade", ParamKind::Float)
    };
    Temposource => ParamSpec {
        families: family::CHOP,
        default_str: c"auto",
        menu: TEMPO_SOURCE_MENU,
        help: c"Where tempo and beats come from. Auto: the audio input when wired and locked, else Spotify, \
else Bpm/Tap. The others use only that source (tempo_source 0 while it has nothing).",
        ..param(c"Temposource", c"Tempo Source", ParamKind::Menu)
    };
    Jukebox => ParamSpec {
        page: JUKEBOX_PAGE,
        help: c"Juke-V-Box mode: visitors join from the page, take turns, and the active visitor's playback drives \
every channel and row (Source picks simulated or Spotify visitors). The page is served while this is on.",
        ..param(c"Jukebox", c"Jukebox", ParamKind::Toggle)
    };
    Turnlength => ParamSpec {
        read_when: ReadWhen::Jukebox,
        page: JUKEBOX_PAGE,
        default: 120.0,
        min: 5.0,
        max: 3600.0,
        clamp: true,
        help: c"Seconds a turn lasts when Turnmode is Time.",
        ..param(c"Turnlength", c"Turn Length", ParamKind::Float)
    };
    Turnmode => ParamSpec {
        read_when: ReadWhen::Jukebox,
        page: JUKEBOX_PAGE,
        default_str: c"time",
        menu: TURN_MODE_MENU,
        help: c"How a turn ends: after Turnlength seconds (Time) or when the visitor's track changes (Track).",
        ..param(c"Turnmode", c"Turn Mode", ParamKind::Menu)
    };
    Idletimeout => ParamSpec {
        read_when: ReadWhen::Jukebox,
        page: JUKEBOX_PAGE,
        default: 30.0,
        min: 5.0,
        max: 600.0,
        clamp: true,
        help: c"Seconds the active visitor may play nothing before the turn passes on (they leave with a note).",
        ..param(c"Idletimeout", c"Idle Timeout", ParamKind::Float)
    };
    Pagebind => ParamSpec {
        read_when: ReadWhen::Jukebox,
        page: JUKEBOX_PAGE,
        default_str: c"loopback",
        menu: PAGE_BIND_MENU,
        help: c"Who can open the page: this computer only (Loopback), or phones on the same network too (Network). \
The page never shows a token either way.",
        ..param(c"Pagebind", c"Page Bind", ParamKind::Menu)
    };
    Pageport => ParamSpec {
        read_when: ReadWhen::Jukebox,
        page: JUKEBOX_PAGE,
        default: 8890.0,
        min: 0.0,
        max: 65535.0,
        clamp: true,
        help: c"Port of the page, http://127.0.0.1:PORT/ (0 = a free one).",
        ..param(c"Pageport", c"Page Port", ParamKind::Int)
    };
    Redisurl => ParamSpec {
        read_when: ReadWhen::Jukebox,
        page: JUKEBOX_PAGE,
        help: c"redis://HOST:PORT/ of a Redis shared by several machines: one queue, one active visitor (the machine \
holding a 5 s lease runs the turns; another takes over when it stops). Empty = the queue file beside the token cache.",
        ..param(c"Redisurl", c"Redis URL", ParamKind::String)
    };
    Skip => ParamSpec {
        page: JUKEBOX_PAGE,
        help: c"Ends the active visitor's turn: they go to the back of the line.",
        ..param(c"Skip", c"Skip", ParamKind::Pulse)
    };
    Removevisitor => ParamSpec {
        page: JUKEBOX_PAGE,
        help: c"Takes the visitor named in Visitor out of the line (the active one when Visitor is empty).",
        ..param(c"Removevisitor", c"Remove Visitor", ParamKind::Pulse)
    };
    Visitor => ParamSpec {
        read_when: ReadWhen::Jukebox,
        page: JUKEBOX_PAGE,
        help: c"Who Removevisitor takes out: a display name or a position (1 = the active visitor); empty = the active one.",
        ..param(c"Visitor", c"Visitor", ParamKind::String)
    };
    Clearqueue => ParamSpec {
        page: JUKEBOX_PAGE,
        help: c"Empties the line; every visitor sees that the operator cleared it.",
        ..param(c"Clearqueue", c"Clear Queue", ParamKind::Pulse)
    };
}

const TURN_MODE_MENU: &[MenuItem] =
    &[MenuItem { name: c"time", label: c"Time" }, MenuItem { name: c"track", label: c"Track" }];

const PAGE_BIND_MENU: &[MenuItem] =
    &[MenuItem { name: c"loopback", label: c"Loopback" }, MenuItem { name: c"network", label: c"Network" }];

const TEMPO_SOURCE_MENU: &[MenuItem] = &[
    MenuItem { name: c"auto", label: c"Auto" },
    MenuItem { name: c"spotify", label: c"Spotify" },
    MenuItem { name: c"audio", label: c"Audio" },
    MenuItem { name: c"manual", label: c"Manual" },
];

/// What a CPlusPlus DAT outputs (its `Mode` menu).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DatMode {
    /// `field | value` rows of [`ROWS`](super::ROWS).
    #[default]
    NowPlaying,
    /// Upcoming items, one per row, columns [`QUEUE_COLUMNS`](super::QUEUE_COLUMNS).
    Queue,
    /// Recently played tracks, columns [`RECENT_COLUMNS`](super::RECENT_COLUMNS).
    Recent,
    /// Spotify Connect devices, columns [`DEVICE_COLUMNS`](super::DEVICE_COLUMNS).
    Devices,
    /// `field | value` rows of [`STATUS_FIELDS`](super::STATUS_FIELDS).
    Status,
    /// The cover's five swatches, columns [`PALETTE_COLUMNS`](super::PALETTE_COLUMNS).
    Palette,
    /// The Juke-V-Box line, columns [`VISITOR_COLUMNS`](super::VISITOR_COLUMNS).
    Visitors,
}

impl DatMode {
    /// The mode for a `Mode` menu token; unknown tokens (e.g. from a newer `.toe`) fall back.
    pub fn from_token(token: &str) -> DatMode {
        match token {
            "queue" => DatMode::Queue,
            "recent" => DatMode::Recent,
            "devices" => DatMode::Devices,
            "status" => DatMode::Status,
            "palette" => DatMode::Palette,
            "visitors" => DatMode::Visitors,
            _ => DatMode::NowPlaying,
        }
    }
}

const MODE_MENU: &[MenuItem] = &[
    MenuItem { name: c"nowplaying", label: c"Now playing" },
    MenuItem { name: c"queue", label: c"Queue" },
    MenuItem { name: c"recent", label: c"Recently played" },
    MenuItem { name: c"devices", label: c"Devices" },
    MenuItem { name: c"status", label: c"Status" },
    MenuItem { name: c"palette", label: c"Palette" },
    MenuItem { name: c"visitors", label: c"Visitors" },
];

/// The shortest `Pollinterval` accepted, in seconds: faster would only earn 429s from Spotify.
pub(crate) const MIN_POLL_INTERVAL_S: f64 = 0.5;

/// Looks a parameter up by its TouchDesigner name.
pub fn param_index(name: &[u8]) -> Option<usize> {
    PARAMS.iter().position(|p| p.name.to_bytes() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TouchDesigner rejects parameter names that are not `Capitalised` then lowercase/digits.
    #[test]
    fn parameter_names_follow_touchdesigner_rules() {
        let mut seen = std::collections::HashSet::new();
        for (i, p) in PARAMS.iter().enumerate() {
            let name = p.name_str();
            let mut bytes = name.bytes();
            assert!(bytes.next().is_some_and(|b| b.is_ascii_uppercase()), "{name}");
            assert!(bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{name}");
            assert!(seen.insert(name), "duplicate parameter {name}");
            assert_eq!(param_index(name.as_bytes()), Some(i));
            if p.kind == ParamKind::Menu {
                assert!(p.menu.iter().any(|m| m.name == p.default_str), "{name} default");
            }
        }
    }

    #[test]
    fn read_conditions_depend_only_on_parameters_read_every_cook() {
        // A cook reads these first, so a parameter that comes into use is read in the same cook.
        for p in [Param::Source, Param::Jukebox, Param::Temposource] {
            assert_eq!(p.spec().read_when, ReadWhen::Always, "{p:?}");
        }
    }

    #[test]
    fn every_variant_finds_its_entry_by_name() {
        for &p in Param::ALL {
            assert_eq!(Param::from_name(p.spec().name.to_bytes()), Some(p));
        }
        assert_eq!(Param::from_name(b"Nope"), None);
    }
}
