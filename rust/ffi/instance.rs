//! One operator's view of the engine: its parameters, its pinned snapshot, its edges.
//!
//! Safe Rust; `super` wraps it for C. Everything called per cook ([`Instance::cook`] and the
//! readers) must not allocate or lock, except when a parameter actually changed.

#![deny(unsafe_code)]

use std::ffi::{c_char, CStr, CString};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::art::Glide;
use crate::engine::snapshot::{Reader, Snapshot};
use crate::engine::tempo::audio::{AudioError, AudioInput};
use crate::engine::tempo::tap::ManualClock;
use crate::engine::tempo::{BeatEdge, BeatReading, Cursor, TempoFrame};
use crate::engine::{self, Engine};
use crate::jukebox::{self, Control, Jukebox, View};
use crate::model::Pulse;
use crate::schema::{
    Channel, DatMode, Info, Param, Status, CHANNEL_COUNT, DEVICE_COLUMNS, PALETTE_COLUMNS, QUEUE_COLUMNS,
    RECENT_COLUMNS, ROWS, STATUS_FIELDS, VISITOR_COLUMNS,
};
use crate::settings::{ParamValues, Settings};

/// How long a pulse's note (e.g. "ignored: not active") stays on the operator.
pub const PULSE_NOTE_FOR: Duration = Duration::from_secs(5);

/// How long after a failed start the jukebox is tried again.
const JUKEBOX_RETRY: Duration = Duration::from_secs(1);

/// Static snapshot shown while the operator is inactive.
fn inactive_snapshot() -> Arc<Snapshot> {
    Arc::new(Snapshot::empty("none", Status::Inactive))
}

/// Per-operator state behind a C handle.
pub struct Instance {
    /// Which operator family this instance serves ([`crate::schema::family`] bits).
    pub family: u32,
    params: ParamValues,
    params_dirty: bool,
    settings: Settings,
    engine: Option<Arc<Engine>>,
    /// The snapshot this cook reads; replaced at the start of the next cook.
    pinned: Arc<Snapshot>,
    channels: [f32; CHANNEL_COUNT],
    last_track_seq: Option<u64>,
    /// The item and section of the last cook, for `section_changed`.
    last_section: Option<(u64, f32)>,
    /// The `beat` pulse's memory of the last beat this reader saw.
    beat_edge: BeatEdge,
    /// The tempo channels of the last cook.
    tempo: TempoFrame,
    /// `Bpm` and `Tap`.
    manual: ManualClock,
    /// Where this reader's lookups in the current item's analysis left off.
    cursor: Cursor,
    /// The numeric values the host handed over last cook, bit for bit: an unchanged cook
    /// compares them in one pass (see [`Instance::same_numbers`]).
    seen_numbers: Vec<u64>,
    /// The palette channels' glide towards the snapshot's colours.
    glide: Glide,
    /// The CHOP's audio input and its beat tracker, from the first audio on.
    audio: Option<AudioInput>,
    /// Why the audio input is not used (start failed); cleared when the sample rate changes.
    audio_error: Option<(f64, String)>,
    /// A problem of this operator (not of the engine), e.g. the engine could not start.
    local_error: Option<String>,
    /// A short-lived note (e.g. a pulse that was dropped).
    local_warning: Option<(Instant, String)>,
    /// Set when a call panicked: the operator shows an error and stops cooking.
    pub poisoned: Option<String>,
    /// Juke-V-Box mode: the jukebox whose active visitor this operator follows (no `engine`).
    jukebox: Option<Arc<Jukebox>>,
    /// The jukebox view this cook reads.
    view: Option<Arc<View>>,
    /// What a jukebox operator shows while nobody plays (made once, not per cook).
    jukebox_idle: Option<Arc<Snapshot>>,
    /// When to try starting the jukebox again after it failed (e.g. its port was still held by
    /// the jukebox it replaces, whose thread lets go of it a few milliseconds later).
    jukebox_retry: Option<Instant>,
}

impl Instance {
    pub fn new(family: u32) -> Self {
        let params = ParamValues::default();
        let settings = Settings::from_params(&params);
        Instance {
            family,
            manual: ManualClock::new(settings.bpm, Instant::now()),
            cursor: Cursor::default(),
            seen_numbers: Vec::new(),
            settings,
            params,
            params_dirty: true,
            engine: None,
            pinned: inactive_snapshot(),
            channels: [0.0; CHANNEL_COUNT],
            last_track_seq: None,
            last_section: None,
            beat_edge: BeatEdge::default(),
            tempo: TempoFrame::default(),
            glide: Glide::default(),
            audio: None,
            audio_error: None,
            local_error: None,
            local_warning: None,
            poisoned: None,
            jukebox: None,
            view: None,
            jukebox_idle: None,
            jukebox_retry: None,
        }
    }

    pub fn set_number(&mut self, index: usize, value: f64) {
        // A value set one by one is not in the block `same_numbers` compares with.
        self.seen_numbers.clear();
        self.params_dirty |= self.params.set_number(index, value);
    }

    pub fn set_string(&mut self, index: usize, value: &str) {
        self.params_dirty |= self.params.set_string(index, value);
    }

    /// Whether `numbers` are, bit for bit, what [`Instance::remember_numbers`] last kept: then
    /// none of them needs setting.
    pub fn same_numbers(&self, numbers: &[f64]) -> bool {
        numbers.len() == self.seen_numbers.len()
            && numbers.iter().zip(&self.seen_numbers).all(|(n, seen)| n.to_bits() == *seen)
    }

    /// Keeps the numeric values of this cook for the next [`Instance::same_numbers`]. Allocates
    /// only when their count changes (the first cook).
    pub fn remember_numbers(&mut self, numbers: &[f64]) {
        self.seen_numbers.clear();
        self.seen_numbers.extend(numbers.iter().map(|n| n.to_bits()));
    }

    /// The value of string or menu parameter `index` as last set.
    pub fn string_param(&self, index: usize) -> Option<&str> {
        self.params.string_at(index)
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Applies changed parameters: may start, share or release an engine.
    fn apply_params(&mut self, now: Instant) {
        self.params_dirty = false;
        let settings = Settings::from_params(&self.params);
        if settings.bpm != self.settings.bpm {
            self.manual.set_bpm(settings.bpm, now);
        }
        if !settings.active {
            // Off releases everything, the beat tracker's thread included (joined here).
            self.audio = None;
        }
        if settings.jukebox_config().is_some() || self.jukebox.is_some() {
            self.apply_jukebox(settings, now);
            return;
        }
        let engine_dead = self.engine.as_ref().is_some_and(|e| e.is_dead());
        if settings == self.settings && (self.engine.is_some() || !settings.active) && !engine_dead {
            return;
        }
        self.settings = settings;
        let wanted = self.settings.source_config();
        if let (Some(engine), Some(config)) = (&self.engine, &wanted) {
            if !engine_dead && engine.config().shares_engine_with(config) {
                // Same account or simulation: Port, Pollinterval… go to the running engine, which
                // restarts what they affect; operators sharing it keep sharing it.
                if let Err(e) = engine.configure(config) {
                    self.local_warning = Some((now + PULSE_NOTE_FOR, e.to_string()));
                }
                return;
            }
        }
        self.local_error = None;
        // Dropping the old engine never waits on the network (see `engine`).
        self.engine = match wanted {
            None => None,
            Some(config) => match engine::acquire(&config) {
                Ok(e) => Some(e),
                Err(e) => {
                    self.local_error = Some(e.to_string());
                    None
                }
            },
        };
        self.last_track_seq = None;
    }

    /// Juke-V-Box mode on, off or changed: the jukebox (shared by the operators of one page)
    /// runs the visitors' players on its own threads; this operator only reads its view.
    fn apply_jukebox(&mut self, settings: Settings, now: Instant) {
        let wanted = settings.jukebox_config();
        self.settings = settings;
        self.local_error = None;
        self.last_track_seq = None;
        self.jukebox_retry = None;
        let Some(config) = wanted else {
            // Back to a single account: the next `apply_params` starts its engine.
            self.jukebox = None;
            self.view = None;
            self.params_dirty = true;
            return;
        };
        self.engine = None;
        let source = if config.spotify.is_some() { "spotify" } else { "simulator" };
        if self.jukebox_idle.as_ref().is_none_or(|idle| idle.row(crate::schema::Row::Source) != source) {
            self.jukebox_idle = Some(Arc::new(Snapshot::empty(source, Status::Waiting)));
        }
        if self.jukebox.as_ref().is_some_and(|j| !j.config().shares_jukebox_with(&config)) {
            // Another page port, queue folder or Redis: the old jukebox goes first, so that its
            // port is free for the new one.
            self.jukebox = None;
            self.view = None;
        }
        match jukebox::acquire(&config) {
            Ok(j) => self.jukebox = Some(j),
            Err(e) => {
                self.jukebox = None;
                self.view = None;
                self.local_error = Some(format!("Juke-V-Box: {e}"));
                self.jukebox_retry = Some(now + JUKEBOX_RETRY);
            }
        }
    }

    /// Pins the jukebox's view and its active visitor's snapshot (or the idle one).
    fn pin_jukebox(&mut self) {
        let Some(jukebox) = &self.jukebox else { return };
        if let Some(view) = jukebox.try_view() {
            self.view = Some(view);
        }
        match self.view.as_ref().and_then(|v| v.player.as_ref()) {
            Some(player) => {
                if let Some(latest) = player.try_snapshot() {
                    self.pinned = latest;
                }
            }
            None => {
                if let Some(idle) = &self.jukebox_idle {
                    if !Arc::ptr_eq(&self.pinned, idle) {
                        self.pinned = Arc::clone(idle);
                    }
                }
            }
        }
    }

    /// The view pinned by the last cook, in Juke-V-Box mode.
    pub fn jukebox_view(&self) -> Option<&View> {
        self.view.as_deref().filter(|_| self.jukebox.is_some())
    }

    /// Starts a cook: applies parameter changes, pins the current snapshot and computes the
    /// channels once, so the CHOP, the DAT and the info outputs of this cook agree.
    pub fn cook(&mut self, now: Instant) {
        if self.jukebox_retry.is_some_and(|at| now >= at) {
            self.jukebox_retry = None;
            self.params_dirty = true;
        }
        if self.params_dirty {
            self.apply_params(now);
        }
        match &self.engine {
            Some(engine) => {
                // Replacing the pin never frees: the engine's graveyard still holds old snapshots.
                // While the engine swaps (nanoseconds, rarely hit) the last pin serves again.
                if let Some(latest) = engine.try_snapshot() {
                    self.pinned = latest;
                }
            }
            None if self.jukebox.is_some() => self.pin_jukebox(),
            None if self.pinned.status != Status::Inactive => self.pinned = inactive_snapshot(),
            None => {}
        }
        if self.family & crate::schema::family::CHOP == 0 {
            // A DAT shows rows and messages only: the channels would be work nobody reads.
            return;
        }
        let reader = Reader {
            audio: self.audio.as_mut().filter(|a| a.connected(now)).map(|a| a.reading(now)),
            preference: self.settings.tempo_preference,
            cursor: &self.cursor,
        };
        let manual = &self.manual;
        let manual = || Some(BeatReading { tempo: manual.tempo(), point: manual.at(now), key: 0 });
        self.tempo = self.pinned.channels_for(now, &reader, manual, &mut self.channels);
        if self.pinned.status != Status::Inactive {
            // Landed: the snapshot's own colours are already in the channels.
            if let Some(shown) = self.glide.moving(&self.pinned.art, now, self.settings.color_fade) {
                let art = Channel::ArtR as usize;
                self.channels[art..art + shown.len()].copy_from_slice(shown);
            }
        }
        let seq = self.pinned.track_seq;
        let changed = self.last_track_seq.is_some_and(|last| last != seq);
        self.last_track_seq = Some(seq);
        self.channels[Channel::TrackChanged as usize] = f32::from(u8::from(changed));
        // A new item starting at another section is a track change, not a section change.
        let section = (seq, self.channels[Channel::Section as usize]);
        let section_changed = self.last_section.is_some_and(|(s, v)| s == seq && v != section.1);
        self.last_section = Some(section);
        self.channels[Channel::SectionChanged as usize] = f32::from(u8::from(section_changed));
        let beat = self.beat_edge.update(self.tempo.key, self.tempo.point.map(|p| p.beat));
        self.channels[Channel::Beat as usize] = f32::from(u8::from(beat));
        let (length, remaining, turn) = self.jukebox_view().map_or((0.0, 0.0, 0.0), |v| {
            (v.queue_length as f32, v.turn_remaining_s as f32, v.turn_index as f32)
        });
        self.channels[Channel::QueueLength as usize] = length;
        self.channels[Channel::TurnRemaining as usize] = remaining;
        self.channels[Channel::TurnIndex as usize] = turn;
    }

    /// Audio samples the beat tracker's ring had to drop because its thread fell behind.
    pub fn audio_dropped(&self) -> u64 {
        self.audio.as_ref().map_or(0, AudioInput::dropped)
    }

    /// The tempo channels of the last cook (source, grid point…).
    pub fn tempo(&self) -> &TempoFrame {
        &self.tempo
    }

    /// The channel values of the last cook.
    pub fn channels(&self) -> &[f32; CHANNEL_COUNT] {
        &self.channels
    }

    /// The snapshot pinned by the last cook.
    pub fn snapshot(&self) -> &Snapshot {
        &self.pinned
    }

    /// Handles a pulse parameter by name.
    pub fn pulse(&mut self, name: &str) -> bool {
        self.pulse_at(name, Instant::now())
    }

    /// Handles a pulse parameter by name, pressed at `now`.
    pub fn pulse_at(&mut self, name: &str, now: Instant) -> bool {
        let pulse = match name {
            "Login" => Pulse::Login,
            "Logout" => Pulse::Logout,
            "Playpause" => Pulse::PlayPause,
            "Next" => Pulse::Next,
            "Previous" => Pulse::Previous,
            "Resetcounters" => Pulse::ResetCounters,
            "Tap" => {
                // Local to this operator: the manual clock lives here, not in the shared engine.
                self.manual.tap(now);
                return true;
            }
            "Skip" | "Removevisitor" | "Clearqueue" => {
                let control = match name {
                    "Skip" => Control::Skip,
                    "Clearqueue" => Control::Clear,
                    _ => Control::Remove { who: self.params.string(Param::Visitor).to_owned() },
                };
                let note = match &self.jukebox {
                    Some(jukebox) => jukebox.control(control).err().map(|e| e.to_string()),
                    None => Some(format!("{name} ignored: Jukebox is off (or the operator is not active)")),
                };
                self.local_warning = note.map(|n| (now + PULSE_NOTE_FOR, n));
                return true;
            }
            _ => return false,
        };
        let engine = self.engine.as_ref().or_else(|| self.view.as_ref()?.player.as_ref());
        let note = match engine {
            Some(engine) => engine.pulse(pulse).err().map(|e| e.to_string()),
            None => Some(format!("{name} ignored: the operator is not active")),
        };
        // Kept until it expires (not freed then: that would be heap work in a cook).
        self.local_warning = note.map(|n| (now + PULSE_NOTE_FOR, n));
        true
    }

    /// Number of table rows and columns of the DAT output (header row included).
    pub fn table_size(&self) -> (usize, usize) {
        match self.settings.dat_mode {
            DatMode::NowPlaying => (ROWS.len() + 1, 2),
            DatMode::Status => (STATUS_FIELDS.len() + 1, 2),
            mode => {
                let (columns, body) = self.list(mode);
                (body.len() + 1, columns.len())
            }
        }
    }

    /// The header and body of a multi-row mode.
    fn list(&self, mode: DatMode) -> (&'static [&'static CStr], &[Vec<CString>]) {
        let lists = &self.pinned.lists;
        match mode {
            DatMode::Queue => (QUEUE_COLUMNS, &lists.queue),
            DatMode::Recent => (RECENT_COLUMNS, &lists.recent),
            DatMode::Palette => (PALETTE_COLUMNS, &self.pinned.art.table),
            DatMode::Visitors => (VISITOR_COLUMNS, self.jukebox_view().map_or(&[][..], |v| &v.visitors)),
            _ => (DEVICE_COLUMNS, &lists.devices),
        }
    }

    /// One cell of the DAT output (row 0 is the header).
    pub fn table_cell(&self, row: usize, col: usize) -> Option<&CStr> {
        match self.settings.dat_mode {
            DatMode::NowPlaying => {
                field_value(row, col, |r| ROWS.get(r).map(|r| r.c_name), &self.pinned.rows)
            }
            DatMode::Status => {
                field_value(row, col, |r| STATUS_FIELDS.get(r).copied(), &self.pinned.status_rows)
            }
            mode => {
                let (columns, body) = self.list(mode);
                match row {
                    0 => columns.get(col).copied(),
                    r => body.get(r - 1).and_then(|cells| cells.get(col)).map(|c| c.as_c_str()),
                }
            }
        }
    }

    /// Points `out` at the table's cells from cell `first` on (row-major, header included);
    /// returns how many it set. Missing cells are empty strings. The pointers live as long as
    /// the pinned snapshot: until the next cook.
    pub fn table_cells(&self, first: usize, out: &mut [*const c_char]) -> usize {
        let (rows, cols) = self.table_size();
        let end = (rows * cols).min(first.saturating_add(out.len()));
        if first >= end {
            return 0;
        }
        let two_columns = match self.settings.dat_mode {
            DatMode::NowPlaying => Some((&self.pinned.rows, false)),
            DatMode::Status => Some((&self.pinned.status_rows, true)),
            _ => None,
        };
        match two_columns {
            // The whole `Now playing` table at once (what a cook asks for): a straight walk.
            Some((values, false)) if first == 0 && values.len() == ROWS.len() && out.len() >= end => {
                out[0] = c"field".as_ptr();
                out[1] = c"value".as_ptr();
                for ((pair, spec), value) in out[2..].chunks_exact_mut(2).zip(ROWS).zip(values.iter()) {
                    pair[0] = spec.c_name.as_ptr();
                    pair[1] = value.as_ptr();
                }
            }
            // The other `field | value` cells: no lookup per cell either.
            Some((values, status)) => {
                for (slot, cell) in out.iter_mut().zip(first..end) {
                    let (row, col) = (cell / 2, cell % 2);
                    let text = match (row, col) {
                        (0, 0) => c"field",
                        (0, _) => c"value",
                        (r, 0) if status => STATUS_FIELDS.get(r - 1).copied().unwrap_or(c""),
                        (r, 0) => ROWS.get(r - 1).map_or(c"", |spec| spec.c_name),
                        (r, _) => values.get(r - 1).map_or(c"", |v| v.as_c_str()),
                    };
                    *slot = text.as_ptr();
                }
            }
            None => {
                for (slot, cell) in out.iter_mut().zip(first..end) {
                    *slot = self.table_cell(cell / cols, cell % cols).unwrap_or(c"").as_ptr();
                }
            }
        }
        end - first
    }

    /// The text TouchDesigner shows in red, if any.
    pub fn error(&self) -> Option<&str> {
        self.poisoned
            .as_deref()
            .or(self.local_error.as_deref())
            .or_else(|| self.pinned.error.as_deref().and_then(|e| e.to_str().ok()))
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

    /// Takes audio from the CHOP's input (e.g. an Audio Device In CHOP) for beat tracking.
    /// `channels[c][s]` holds the samples that arrived since the last cook (a time-sliced input);
    /// called once per cook before [`Instance::cook`].
    ///
    /// Never locks, and allocates only once: the first audio (or a new sample rate) starts the
    /// tracker's ring and thread; after that the samples are only copied into the ring.
    pub fn push_audio(&mut self, channels: &[&[f32]], sample_rate: f64) {
        let now = Instant::now();
        if !self.settings.active || channels.iter().all(|c| c.is_empty()) {
            return;
        }
        if self.audio.as_ref().is_none_or(|a| a.sample_rate() != sample_rate) {
            // Compared bit for bit, so a NaN rate is also refused once, not on every cook.
            if self.audio_error.as_ref().is_some_and(|(rate, _)| rate.to_bits() == sample_rate.to_bits()) {
                return;
            }
            // Dropping the old input joins its thread; only when the rate changes.
            self.audio = None;
            match AudioInput::start(sample_rate) {
                Ok(input) => {
                    self.audio = Some(input);
                    self.audio_error = None;
                }
                Err(e) => {
                    self.audio_error = Some((sample_rate, AudioError::user_message(&e)));
                    return;
                }
            }
        }
        if let Some(audio) = &mut self.audio {
            audio.push(channels, now);
        }
    }

    /// One line for the node's info popup.
    pub fn info_popup(&self) -> &str {
        self.pinned.summary.to_str().unwrap_or("")
    }
}

/// A cell of a two-column `field | value` table with a header row; `name(i)` is row `i`'s field
/// (indexed, not walked: a cook asks for every cell).
fn field_value(
    row: usize,
    col: usize,
    name: impl Fn(usize) -> Option<&'static CStr>,
    values: &[CString],
) -> Option<&CStr> {
    match (row, col) {
        (0, 0) => Some(c"field"),
        (0, 1) => Some(c"value"),
        (r, 0) => name(r - 1),
        (r, 1) => values.get(r - 1).map(|v| v.as_c_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tempo::TempoSource;
    use crate::schema::{family, Param, Row};

    #[test]
    fn inactive_instance_outputs_zeros_without_an_engine() {
        let mut i = Instance::new(family::CHOP);
        i.set_number(Param::Active as usize, 0.0);
        i.cook(Instant::now());
        assert!(i.engine.is_none());
        assert_eq!(i.snapshot().status, Status::Inactive);
        assert!(i.channels().iter().all(|&v| v == 0.0));
    }

    #[test]
    fn a_pulse_note_appears_and_clears_itself() {
        let mut i = Instance::new(family::CHOP);
        i.set_number(Param::Active as usize, 0.0);
        let t0 = Instant::now();
        i.cook(t0);
        assert_eq!(i.warning_at(t0), None);
        assert!(i.pulse_at("Next", t0));
        assert!(i.warning_at(t0).is_some_and(|w| w.contains("not active")));
        assert_eq!(i.warning_at(t0 + PULSE_NOTE_FOR), None);
    }

    #[test]
    fn every_dat_mode_has_a_header_and_rows() {
        let mut i = Instance::new(family::DAT);
        i.set_number(Param::Simseed as usize, 5.0);
        let deadline = Instant::now() + Duration::from_secs(5);
        while i.snapshot().status != Status::Playing {
            assert!(Instant::now() < deadline, "the simulator never played");
            i.cook(Instant::now());
            std::thread::sleep(Duration::from_millis(5));
        }
        let cell = |i: &Instance, r, c| i.table_cell(r, c).map(|s| s.to_str().unwrap().to_owned());
        // The batch a cook uses points at exactly the cells `table_cell` returns, whole or in parts.
        let same_cells = |i: &Instance| {
            let (rows, cols) = i.table_size();
            let mut all = vec![std::ptr::null(); rows * cols + 3];
            assert_eq!(i.table_cells(0, &mut all), rows * cols);
            let mut part = [std::ptr::null(); 3];
            assert_eq!(i.table_cells(1, &mut part), 3.min(rows * cols - 1));
            for (k, &ptr) in all[..rows * cols].iter().enumerate() {
                assert_eq!(ptr, i.table_cell(k / cols, k % cols).unwrap_or(c"").as_ptr(), "cell {k}");
            }
            assert_eq!(&part[..], &all[1..4]);
        };
        same_cells(&i);
        assert_eq!(i.table_size(), (ROWS.len() + 1, 2));
        assert_eq!(cell(&i, 1, 0).as_deref(), Some("status"));
        assert_eq!(cell(&i, 1, 1).as_deref(), Some("Playing"));
        for (token, columns, rows) in
            [("queue", QUEUE_COLUMNS, 6), ("recent", RECENT_COLUMNS, 1), ("devices", DEVICE_COLUMNS, 2)]
        {
            i.set_string(Param::Mode as usize, token);
            i.cook(Instant::now());
            assert_eq!(i.table_size(), (rows, columns.len()), "{token}");
            assert_eq!(cell(&i, 0, 0).as_deref(), columns[0].to_str().ok(), "{token}");
            same_cells(&i);
        }
        i.set_string(Param::Mode as usize, "status");
        i.cook(Instant::now());
        assert_eq!(i.table_size(), (STATUS_FIELDS.len() + 1, 2));
        assert_eq!(cell(&i, 2, 1).as_deref(), Some("simulator"));
        same_cells(&i);
        assert_eq!(i.table_cell(99, 0), None);
    }

    #[test]
    fn jukebox_mode_follows_the_active_visitor_and_lists_the_line() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("td-spotify-instance-jukebox-{}", std::process::id()));
        let mut chop = Instance::new(family::CHOP);
        let mut dat = Instance::new(family::DAT);
        for i in [&mut chop, &mut dat] {
            i.set_number(Param::Jukebox as usize, 1.0);
            i.set_number(Param::Pageport as usize, 0.0);
            i.set_string(Param::Tokencache as usize, dir.to_str().unwrap());
            i.set_string(Param::Mode as usize, "visitors");
            i.cook(Instant::now());
            assert_eq!(i.error(), None);
        }
        let jukebox = Arc::clone(chop.jukebox.as_ref().expect("a jukebox"));
        assert!(Arc::ptr_eq(&jukebox, dat.jukebox.as_ref().unwrap()), "one jukebox for one page");
        assert!(chop.engine.is_none(), "no engine of its own in Juke-V-Box mode");
        let cook_until = |i: &mut Instance, what: &str, f: &dyn Fn(&Instance) -> bool| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !f(i) {
                assert!(Instant::now() < deadline, "{what}");
                std::thread::sleep(Duration::from_millis(10));
                i.cook(Instant::now());
            }
        };
        cook_until(&mut chop, "the empty jukebox shows", &|i| i.jukebox_view().is_some());
        assert_eq!(chop.snapshot().status, Status::Waiting);
        assert_eq!(value(&chop, Channel::QueueLength), 0.0);
        let port = jukebox.url().trim_end_matches('/').rsplit(':').next().unwrap().parse::<u16>().unwrap();
        for viewer in ["one", "two"] {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(s, "POST /join HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: jukebox_viewer={viewer}\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
        }
        cook_until(&mut chop, "two visitors, the first one playing", &|i| {
            value(i, Channel::QueueLength) == 2.0 && i.snapshot().status == Status::Playing
        });
        assert_eq!(value(&chop, Channel::TurnIndex), 1.0);
        assert!(value(&chop, Channel::TurnRemaining) > 100.0, "Turnlength 120 s by default");
        assert!(value(&chop, Channel::Position) >= 0.0);
        cook_until(&mut dat, "the Visitors table", &|i| i.table_size() == (3, VISITOR_COLUMNS.len()));
        let cell = |i: &Instance, r, c| i.table_cell(r, c).unwrap().to_str().unwrap().to_owned();
        assert_eq!(cell(&dat, 0, 0), "position");
        assert_eq!([cell(&dat, 1, 1), cell(&dat, 1, 2)], ["Visitor 1", "playing"]);
        assert_eq!([cell(&dat, 2, 0), cell(&dat, 2, 1), cell(&dat, 2, 2)], ["2", "Visitor 2", "waiting"]);

        // The operator's pulses: Skip passes the turn, Removevisitor takes the active one out.
        let first_track = chop.snapshot().row(Row::Name).to_owned();
        assert!(chop.pulse("Skip"));
        cook_until(&mut chop, "Skip passes the turn", &|i| value(i, Channel::TurnIndex) == 2.0);
        cook_until(&mut dat, "Visitor 2 plays", &|i| cell(i, 1, 1) == "Visitor 2");
        cook_until(&mut chop, "the channels follow Visitor 2's player", &|i| {
            i.snapshot().status == Status::Playing && i.snapshot().row(Row::Name) != first_track
        });
        chop.set_string(Param::Visitor as usize, "visitor 1");
        assert!(chop.pulse("Removevisitor"));
        cook_until(&mut dat, "Visitor 1 left", &|i| i.table_size().0 == 3 && cell(i, 2, 2) == "left");
        assert_eq!(cell(&dat, 2, 3), "removed by the operator");
        assert!(dat.pulse("Clearqueue"));
        cook_until(&mut chop, "the line is empty", &|i| {
            value(i, Channel::QueueLength) == 0.0 && i.snapshot().status == Status::Waiting
        });

        // Jukebox off: back to the operator's own engine; the jukebox stops with its last operator.
        for i in [&mut chop, &mut dat] {
            i.set_number(Param::Jukebox as usize, 0.0);
            i.cook(Instant::now());
            i.cook(Instant::now());
            assert!(i.jukebox.is_none() && i.engine.is_some());
        }
        assert_eq!(value(&chop, Channel::QueueLength), 0.0);
        assert!(chop.pulse("Skip"));
        assert!(chop.warning().is_some_and(|w| w.contains("Jukebox is off")), "{:?}", chop.warning());
        assert_eq!(Arc::strong_count(&jukebox), 1, "operators let the jukebox go");
        drop(jukebox);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_busy_page_port_is_an_error_until_it_frees_up() {
        let dir =
            std::env::temp_dir().join(format!("td-spotify-instance-jukebox-port-{}", std::process::id()));
        let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = busy.local_addr().unwrap().port();
        let mut i = Instance::new(family::CHOP);
        i.set_number(Param::Jukebox as usize, 1.0);
        i.set_number(Param::Pageport as usize, f64::from(port));
        i.set_string(Param::Tokencache as usize, dir.to_str().unwrap());
        let t0 = Instant::now();
        i.cook(t0);
        assert!(
            i.error().is_some_and(|e| e.contains("already in use") && e.contains("Pageport")),
            "{:?}",
            i.error()
        );
        i.cook(t0 + Duration::from_millis(500));
        assert!(i.jukebox.is_none(), "not retried before a second has passed");
        drop(busy);
        i.cook(t0 + JUKEBOX_RETRY);
        assert_eq!(i.error(), None);
        let jukebox = i.jukebox.as_ref().expect("started once the port was free");
        assert!(jukebox.url().ends_with(&format!(":{port}/")));
        // Another port: the old jukebox lets go first, and the new one starts at once.
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        i.set_number(Param::Pageport as usize, f64::from(other));
        i.cook(t0 + JUKEBOX_RETRY);
        assert!(
            i.jukebox.as_ref().is_some_and(|j| j.url().ends_with(&format!(":{other}/"))),
            "{:?}",
            i.error()
        );
        drop(i);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn track_changed_is_one_cook_wide() {
        let mut i = Instance::new(family::CHOP);
        i.set_number(Param::Simseed as usize, 99.0);
        i.set_number(Param::Simspeed as usize, 100.0);
        let mut pulses = 0;
        let start = Instant::now();
        let mut last = 0.0;
        let (mut sections, mut last_section, mut section_value) = (0, 0.0, 0.0);
        while start.elapsed() < Duration::from_secs(6) {
            i.cook(Instant::now());
            let v = i.channels()[Channel::TrackChanged as usize];
            assert!(v == 0.0 || last == 0.0, "track_changed held for two cooks");
            if v == 1.0 {
                pulses += 1;
            }
            last = v;
            let s = i.channels()[Channel::SectionChanged as usize];
            let section = i.channels()[Channel::Section as usize];
            assert!(s == 0.0 || last_section == 0.0, "section_changed held for two cooks");
            assert!(
                s == 0.0 || (section != section_value && v == 0.0),
                "section_changed without a new section"
            );
            sections += usize::from(s == 1.0);
            (last_section, section_value) = (s, section);
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(pulses >= 1, "no track change in 600 simulated seconds");
        assert!(sections >= 1, "no section change in 600 simulated seconds");
        assert!(!i.snapshot().row(Row::Source).is_empty());
    }

    fn value(i: &Instance, c: Channel) -> f32 {
        i.channels()[c as usize]
    }

    /// An instance whose engine has no features (the Spotify stand-in), cooked once.
    fn without_features() -> (Instance, Instant) {
        let mut i = Instance::new(family::CHOP);
        i.set_string(Param::Source as usize, "Spotify");
        let t0 = Instant::now();
        i.cook(t0);
        (i, t0)
    }

    #[test]
    fn bpm_and_tap_drive_tempo_when_nothing_else_does() {
        let (mut i, t0) = without_features();
        assert_eq!(value(&i, Channel::TempoSource), TempoSource::Manual as u8 as f32);
        assert_eq!(value(&i, Channel::Tempo), 120.0);
        assert_eq!(value(&i, Channel::FeaturesAvailable), 0.0);
        i.set_number(Param::Bpm as usize, 90.0);
        i.cook(t0);
        assert_eq!(value(&i, Channel::Tempo), 90.0);
        // Four taps 0.4 s apart: 150 BPM, a beat on each tap, the first a downbeat.
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut beats = 0;
        for k in 0..4u64 {
            assert!(i.pulse_at("Tap", ms(1000 + 400 * k)));
            i.cook(ms(1000 + 400 * k));
            beats += value(&i, Channel::Beat) as u32;
            assert_eq!(value(&i, Channel::BeatPhase), 0.0);
        }
        assert_eq!(value(&i, Channel::Tempo), 150.0);
        assert!(beats >= 3, "a beat on the taps ({beats})");
        i.cook(ms(2200 + 200));
        assert!((value(&i, Channel::BeatPhase) - 0.5).abs() < 1e-3);
        assert!((value(&i, Channel::BarPhase) - (3.5 / 4.0)).abs() < 1e-3);
    }

    #[test]
    fn simulator_drives_every_tempo_channel() {
        let mut i = Instance::new(family::CHOP);
        i.set_number(Param::Simseed as usize, 4242.0);
        let deadline = Instant::now() + Duration::from_secs(5);
        while i.snapshot().status != Status::Playing {
            assert!(Instant::now() < deadline, "simulator never played");
            std::thread::sleep(Duration::from_millis(5));
            i.cook(Instant::now());
        }
        let t0 = Instant::now();
        let (mut beats, mut last_beat) = (0, 0.0);
        let (mut onsets, mut loudness, mut sections) = (Vec::new(), Vec::new(), Vec::new());
        for frame in 0..600u32 {
            i.cook(t0 + Duration::from_secs_f64(f64::from(frame) / 60.0));
            let b = value(&i, Channel::Beat);
            assert!(b == 0.0 || last_beat == 0.0, "beat held for two frames");
            beats += b as u32;
            last_beat = b;
            onsets.push(value(&i, Channel::Onset));
            loudness.push(value(&i, Channel::Loudness));
            sections.push(value(&i, Channel::Section));
            assert_eq!(value(&i, Channel::TempoSource), TempoSource::Api as u8 as f32);
        }
        let tempo = f64::from(value(&i, Channel::Tempo));
        let expected = tempo / 6.0; // beats in 10 s
        assert!((f64::from(beats) - expected).abs() <= 1.0, "{beats} beats at {tempo} BPM");
        assert_eq!(value(&i, Channel::FeaturesAvailable), 1.0);
        assert!(value(&i, Channel::Danceability) > 0.0);
        let spread = |v: &[f32]| {
            v.iter().copied().fold(f32::MIN, f32::max) - v.iter().copied().fold(f32::MAX, f32::min)
        };
        assert!(spread(&onsets) > 0.2, "onset moves");
        assert!(spread(&loudness) > 3.0, "loudness moves");
        assert!(sections.iter().all(|&s| s >= 0.0));
        assert!(!i.snapshot().row(Row::Features).is_empty());
    }

    #[test]
    fn audio_takes_over_without_features_and_its_thread_ends_with_the_instance() {
        use crate::engine::tempo::synth::ClickTrack;
        let (mut i, _) = without_features();
        let (left, right) = ClickTrack::steady(128.0, 12.0).render();
        let mut probe = None;
        for (l, r) in left.chunks(800).zip(right.chunks(800)) {
            i.push_audio(&[l, r], 48_000.0);
            let audio = i.audio.as_ref().expect("audio input started");
            probe.get_or_insert_with(|| audio.worker_probe());
            audio.wait_until_drained(Duration::from_secs(5));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            i.cook(Instant::now());
            if value(&i, Channel::TempoSource) == TempoSource::Audio as u8 as f32 || Instant::now() > deadline
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(value(&i, Channel::TempoSource), TempoSource::Audio as u8 as f32);
        assert!((value(&i, Channel::Tempo) - 128.0).abs() < 128.0 * 0.02);
        assert!(value(&i, Channel::Loudness) > -40.0);
        let probe = probe.expect("probe");
        assert!(probe.running());
        drop(i);
        assert!(!probe.running(), "the tracker thread outlived its operator");
    }

    #[test]
    fn turning_active_off_stops_the_tracker() {
        let (mut i, t0) = without_features();
        let samples = [0.0f32; 800];
        i.push_audio(&[&samples], 48_000.0);
        let probe = i.audio.as_ref().map(AudioInput::worker_probe).expect("audio input started");
        i.set_number(Param::Active as usize, 0.0);
        i.cook(t0);
        assert!(!probe.running());
        i.push_audio(&[&samples], 48_000.0);
        assert!(i.audio.is_none(), "an inactive operator does not track");
    }

    #[test]
    fn a_bad_sample_rate_is_a_warning_once() {
        let (mut i, _) = without_features();
        let samples = [0.0f32; 64];
        i.push_audio(&[&samples], 0.0);
        i.push_audio(&[&samples], 0.0);
        assert!(i.audio.is_none());
        i.push_audio(&[&samples], f64::NAN);
        let first = i.warning().map(str::as_ptr);
        i.push_audio(&[&samples], f64::NAN);
        assert_eq!(i.warning().map(str::as_ptr), first, "the warning is made once, not per cook");
        assert!(i.warning().is_some_and(|w| w.contains("sample rate")), "{:?}", i.warning());
        i.push_audio(&[&samples], 48_000.0);
        assert!(i.audio.is_some());
        assert_eq!(i.warning(), None);
    }

    #[test]
    fn port_pollinterval_and_tokencache_take_effect_on_the_next_cook() {
        use crate::config::SourceConfig;
        let dir = std::env::temp_dir().join(format!("td-spotify-live-params-{}", std::process::id()));
        let spotify = |i: &Instance| match i.engine.as_ref().map(|e| e.config()) {
            Some(SourceConfig::Spotify(c)) => c,
            other => panic!("not a Spotify engine: {other:?}"),
        };
        let mut a = Instance::new(family::CHOP);
        let mut b = Instance::new(family::DAT);
        for i in [&mut a, &mut b] {
            i.set_string(Param::Source as usize, "Spotify");
            i.set_string(Param::Clientid as usize, "liveparams");
            i.set_string(Param::Tokencache as usize, dir.to_str().unwrap());
            i.cook(Instant::now());
        }
        let shared = Arc::clone(a.engine.as_ref().unwrap());
        assert!(Arc::ptr_eq(&shared, b.engine.as_ref().unwrap()));

        a.set_number(Param::Pollinterval as usize, 2.0);
        a.set_number(Param::Port as usize, 45_678.0);
        a.cook(Instant::now());
        assert!(Arc::ptr_eq(&shared, a.engine.as_ref().unwrap()), "Pollinterval and Port keep the engine");
        assert_eq!(spotify(&a).poll_interval, Duration::from_secs(2));
        assert_eq!(spotify(&a).port, 45_678);
        assert!(Arc::ptr_eq(&shared, b.engine.as_ref().unwrap()), "both operators still share one poll loop");

        let other = dir.join("other");
        a.set_string(Param::Tokencache as usize, other.to_str().unwrap());
        a.cook(Instant::now());
        assert!(!Arc::ptr_eq(&shared, a.engine.as_ref().unwrap()), "another token cache is another account");
        assert_eq!(spotify(&a).cache_dir.as_deref(), Some(other.as_path()));
        drop((a, b, shared));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
