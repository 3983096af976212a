//! TouchDesigner parameter values, raw and validated.
//!
//! The shim pushes raw values ([`ParamValues`]) every cook; when one changes they are validated
//! once into [`Settings`], which is all the rest of the plugin sees.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{SourceConfig, SpotifyConfig, DEFAULT_PORT};
use crate::engine::tempo::tap::{MAX_BPM, MIN_BPM};
use crate::engine::tempo::TempoPreference;
use crate::jukebox::backend::RedisConfig;
use crate::jukebox::queue::{Rules, TurnMode};
use crate::jukebox::server::Bind;
use crate::jukebox::JukeboxConfig;
use crate::model::SimConfig;
use crate::schema::{DatMode, Param, ParamKind, ReadWhen, MIN_POLL_INTERVAL_S, PARAMS};

/// The raw value of every parameter, in [`PARAMS`] order.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamValues {
    numbers: Vec<f64>,
    strings: Vec<String>,
}

impl Default for ParamValues {
    fn default() -> Self {
        ParamValues {
            // A menu's number is its item index, as TouchDesigner's getParInt gives it.
            numbers: PARAMS
                .iter()
                .map(|p| p.menu_index(p.default_str.to_bytes()).map_or(p.default, |i| i as f64))
                .collect(),
            strings: PARAMS.iter().map(|p| p.default_str.to_string_lossy().into_owned()).collect(),
        }
    }
}

impl ParamValues {
    /// Sets a numeric value (a menu's item index sets its token too); returns whether it
    /// changed. Allocates only when a menu's token did.
    pub fn set_number(&mut self, index: usize, value: f64) -> bool {
        match self.numbers.get_mut(index) {
            Some(slot) if *slot != value && !(slot.is_nan() && value.is_nan()) => {
                *slot = value;
                let menu = PARAMS[index].menu;
                if let Some(item) = (value >= 0.0).then(|| menu.get(value as usize)).flatten() {
                    item.name.to_str().unwrap_or_default().clone_into(&mut self.strings[index]);
                }
                true
            }
            _ => false,
        }
    }

    /// Sets a string value (a menu's token sets its item index too, -1 for a token it does not
    /// have); returns whether it changed. Allocates only when it did.
    pub fn set_string(&mut self, index: usize, value: &str) -> bool {
        match self.strings.get_mut(index) {
            Some(slot) if slot != value => {
                value.clone_into(slot);
                let spec = &PARAMS[index];
                if !spec.menu.is_empty() {
                    self.numbers[index] = spec.menu_index(value.as_bytes()).map_or(-1.0, |i| i as f64);
                }
                true
            }
            _ => false,
        }
    }

    /// The [`ReadWhen`] conditions these values meet, as bits.
    pub fn read_conditions(&self) -> u8 {
        let tempo = TempoPreference::from_token(self.menu(Param::Temposource));
        let spotify = self.menu(Param::Source) == "Spotify";
        let bits = [
            (!spotify, ReadWhen::Simulator),
            (spotify, ReadWhen::Spotify),
            (self.number(Param::Jukebox) >= 0.5, ReadWhen::Jukebox),
            (matches!(tempo, TempoPreference::Auto | TempoPreference::Manual), ReadWhen::ManualTempo),
        ];
        bits.iter().filter(|(holds, _)| *holds).fold(0, |all, (_, when)| all | *when as u8)
    }

    pub fn number(&self, param: Param) -> f64 {
        self.numbers[param as usize]
    }

    pub fn string(&self, param: Param) -> &str {
        &self.strings[param as usize]
    }

    /// A menu's token: TouchDesigner hands over the token as a string.
    fn menu(&self, param: Param) -> &str {
        debug_assert_eq!(PARAMS[param as usize].kind, ParamKind::Menu);
        self.string(param)
    }
}

/// The `Jukebox` page's values; out-of-range numbers are clamped to the table's range.
fn jukebox_settings(values: &ParamValues) -> JukeboxSettings {
    let clamped = |param: Param| {
        let spec = &PARAMS[param as usize];
        let v = values.number(param);
        if v.is_finite() {
            v.clamp(spec.min, spec.max)
        } else {
            spec.default
        }
    };
    let redis = values.string(Param::Redisurl).trim();
    JukeboxSettings {
        rules: Rules {
            turn_length_s: clamped(Param::Turnlength),
            turn_mode: values.menu(Param::Turnmode).parse().unwrap_or(TurnMode::Time),
            idle_timeout_s: clamped(Param::Idletimeout),
        },
        bind: values.menu(Param::Pagebind).parse().unwrap_or_default(),
        port: clamped(Param::Pageport).round() as u16,
        redis: (!redis.is_empty()).then(|| RedisConfig::new(redis)),
    }
}

/// Which data source the operator follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Simulator,
    Spotify,
}

/// Validated settings of one operator.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub active: bool,
    pub source: SourceKind,
    pub sim: SimConfig,
    pub spotify: SpotifyConfig,
    /// What a DAT lists.
    pub dat_mode: DatMode,
    /// Manual tempo (the `Bpm` parameter), within `MIN_BPM`–`MAX_BPM`.
    pub bpm: f64,
    /// Seconds the palette channels glide over (`Colorfade`), 0 – 10.
    pub color_fade: f64,
    /// Where tempo comes from (`Temposource`).
    pub tempo_preference: TempoPreference,
    /// Juke-V-Box mode (`Jukebox` on), with its page and rules.
    pub jukebox: Option<JukeboxSettings>,
}

/// The `Jukebox` page.
#[derive(Debug, Clone, PartialEq)]
pub struct JukeboxSettings {
    pub rules: Rules,
    pub bind: Bind,
    pub port: u16,
    pub redis: Option<RedisConfig>,
}

impl Settings {
    /// Validates raw values; out-of-range numbers are clamped rather than refused, as TD would.
    pub fn from_params(values: &ParamValues) -> Settings {
        let source = match values.menu(Param::Source) {
            "Spotify" => SourceKind::Spotify,
            _ => SourceKind::Simulator,
        };
        let speed = values.number(Param::Simspeed);
        let port = values.number(Param::Port);
        let cache = values.string(Param::Tokencache).trim();
        let bpm = values.number(Param::Bpm);
        Settings {
            active: values.number(Param::Active) >= 0.5,
            source,
            sim: SimConfig {
                seed: values.number(Param::Simseed).max(0.0) as u64,
                speed: if speed.is_finite() && speed > 0.0 { speed.min(1000.0) } else { 1.0 },
            },
            spotify: SpotifyConfig {
                client_id: values.string(Param::Clientid).trim().to_owned(),
                port: if port.is_finite() { port.round().clamp(0.0, 65535.0) as u16 } else { DEFAULT_PORT },
                cache_dir: (!cache.is_empty()).then(|| PathBuf::from(cache)),
                poll_interval: poll_interval(values.number(Param::Pollinterval)),
                // Read when a parameter changes, never per cook.
                ..SpotifyConfig::from_env()
            },
            dat_mode: DatMode::from_token(values.menu(Param::Mode)),
            bpm: if bpm.is_finite() { bpm.clamp(MIN_BPM, MAX_BPM) } else { 120.0 },
            color_fade: {
                let fade = values.number(Param::Colorfade);
                let spec = &PARAMS[Param::Colorfade as usize];
                if fade.is_finite() {
                    fade.clamp(spec.min, spec.max)
                } else {
                    spec.default
                }
            },
            tempo_preference: TempoPreference::from_token(values.menu(Param::Temposource)),
            jukebox: (values.number(Param::Jukebox) >= 0.5).then(|| jukebox_settings(values)),
        }
    }

    /// The jukebox this operator needs, or `None` when inactive or not in Juke-V-Box mode.
    pub fn jukebox_config(&self) -> Option<JukeboxConfig> {
        let jukebox = self.jukebox.as_ref().filter(|_| self.active)?;
        Some(JukeboxConfig {
            rules: jukebox.rules,
            bind: jukebox.bind,
            port: jukebox.port,
            store_dir: self.spotify.cache_dir.clone(),
            sim: self.sim,
            redis: jukebox.redis.clone(),
            spotify: (self.source == SourceKind::Spotify).then(|| self.spotify.clone()),
        })
    }

    /// The engine this operator needs, or `None` when inactive.
    pub fn source_config(&self) -> Option<SourceConfig> {
        if !self.active {
            return None;
        }
        Some(match self.source {
            SourceKind::Simulator => SourceConfig::Simulator(self.sim),
            SourceKind::Spotify => SourceConfig::Spotify(self.spotify.clone()),
        })
    }
}

/// `Pollinterval` in seconds → the fastest the engine may poll. Out of range is clamped, not
/// refused: TouchDesigner lets expressions exceed a parameter's range.
fn poll_interval(seconds: f64) -> Duration {
    let max = PARAMS[Param::Pollinterval as usize].max;
    let seconds = if seconds.is_finite() { seconds.clamp(MIN_POLL_INTERVAL_S, max) } else { 1.0 };
    Duration::from_secs_f64(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_the_simulator() {
        let s = Settings::from_params(&ParamValues::default());
        assert!(s.active);
        assert_eq!(s.source, SourceKind::Simulator);
        assert_eq!(s.sim, SimConfig { seed: 1, speed: 1.0 });
        assert_eq!(s.bpm, 120.0);
    }

    #[test]
    fn bpm_is_clamped() {
        let mut v = ParamValues::default();
        v.set_number(Param::Bpm as usize, 1000.0);
        assert_eq!(Settings::from_params(&v).bpm, MAX_BPM);
        v.set_number(Param::Bpm as usize, f64::NAN);
        assert_eq!(Settings::from_params(&v).bpm, 120.0);
    }

    #[test]
    fn default_poll_interval_is_one_second() {
        let s = Settings::from_params(&ParamValues::default());
        assert_eq!(s.spotify.poll_interval, Duration::from_secs(1));
    }

    #[test]
    fn poll_interval_is_bounded() {
        let mut v = ParamValues::default();
        let index = Param::Pollinterval as usize;
        v.set_number(index, 2.5);
        assert_eq!(Settings::from_params(&v).spotify.poll_interval, Duration::from_millis(2500));
        v.set_number(index, 0.01);
        assert_eq!(Settings::from_params(&v).spotify.poll_interval, Duration::from_millis(500));
        v.set_number(index, f64::NAN);
        assert_eq!(Settings::from_params(&v).spotify.poll_interval, Duration::from_secs(1));
        v.set_number(index, 1e9);
        assert_eq!(Settings::from_params(&v).spotify.poll_interval, Duration::from_secs(60));
    }

    #[test]
    fn changes_are_detected() {
        let mut v = ParamValues::default();
        assert!(!v.set_number(Param::Active as usize, 1.0));
        assert!(v.set_number(Param::Active as usize, 0.0));
        assert!(v.set_string(Param::Source as usize, "Spotify"));
        assert!(!v.set_string(Param::Source as usize, "Spotify"));
        assert!(!v.set_number(999, 1.0));
        let s = Settings::from_params(&v);
        assert!(!s.active);
        assert_eq!(s.source_config(), None);
    }

    #[test]
    fn spotify_parameters_map_into_the_config() {
        let mut v = ParamValues::default();
        let s = Settings::from_params(&v);
        assert_eq!(s.spotify.port, DEFAULT_PORT);
        assert_eq!(s.spotify.cache_dir, None);
        v.set_string(Param::Source as usize, "Spotify");
        v.set_string(Param::Clientid as usize, "  abc123 ");
        v.set_number(Param::Port as usize, 70000.0);
        v.set_string(Param::Tokencache as usize, "/tmp/tokens");
        let s = Settings::from_params(&v);
        assert_eq!(s.spotify.client_id, "abc123");
        assert_eq!(s.spotify.port, 65535);
        assert_eq!(s.spotify.cache_dir, Some(PathBuf::from("/tmp/tokens")));
        assert!(matches!(s.source_config(), Some(SourceConfig::Spotify(c)) if c.client_id == "abc123"));
        v.set_number(Param::Port as usize, f64::NAN);
        assert_eq!(Settings::from_params(&v).spotify.port, DEFAULT_PORT);
        v.set_number(Param::Port as usize, -3.0);
        assert_eq!(Settings::from_params(&v).spotify.port, 0, "Auto");
    }
}
