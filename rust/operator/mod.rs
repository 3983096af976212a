//! One operator's view of the engine: its parameters, its pinned snapshot, its edges.
//!
//! Host-independent safe Rust: [`crate::ffi`] wraps it for C, and the tests drive it directly.
//! Everything called per cook ([`Operator::cook`] and the readers) must not allocate or lock,
//! except when a parameter actually changed.

#![deny(unsafe_code)]

mod apply;
mod messages;
mod pulses;
pub mod read;
pub mod settings;
mod table;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::art::Glide;
use crate::engine::snapshot::{Reader, Snapshot};
use crate::engine::tempo::audio::{AudioError, AudioInput};
use crate::engine::tempo::tap::ManualClock;
use crate::engine::tempo::{BeatEdge, BeatReading, Cursor, TempoFrame};
use crate::engine::Engine;
use crate::jukebox::{Jukebox, View};
use crate::schema::{Channel, Status, CHANNEL_COUNT};
use settings::{ParamValues, Settings};

/// How long a pulse's note (e.g. "ignored: not active") stays on the operator.
pub const PULSE_NOTE_FOR: Duration = Duration::from_secs(5);

/// How long after a failed start the jukebox is tried again.
const JUKEBOX_RETRY: Duration = Duration::from_secs(1);

/// Static snapshot shown while the operator is inactive.
fn inactive_snapshot() -> Arc<Snapshot> {
    Arc::new(Snapshot::empty("none", Status::Inactive))
}

/// Per-operator state behind a C handle.
pub struct Operator {
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
    /// Which parameters a cook reads.
    reads: read::Reads,
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

impl Operator {
    pub fn new(family: u32) -> Self {
        let params = ParamValues::default();
        let settings = Settings::from_params(&params);
        Operator {
            family,
            manual: ManualClock::new(settings.bpm, Instant::now()),
            cursor: Cursor::default(),
            reads: read::Reads::new(family),
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
            jukebox: None,
            view: None,
            jukebox_idle: None,
            jukebox_retry: None,
        }
    }

    /// Sets a parameter by hand (not read from the host): the next cook's reading still wins.
    pub fn set_number(&mut self, index: usize, value: f64) {
        self.reads.forget();
        self.params_dirty |= self.params.set_number(index, value);
    }

    /// Sets a text parameter by hand, as [`Operator::set_number`].
    pub fn set_string(&mut self, index: usize, value: &str) {
        self.reads.forget();
        self.params_dirty |= self.params.set_string(index, value);
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
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

    /// Takes audio from the CHOP's input (e.g. an Audio Device In CHOP) for beat tracking.
    /// `channels[c][s]` holds the samples that arrived since the last cook (a time-sliced input);
    /// called once per cook before [`Operator::cook`].
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
}

#[cfg(test)]
mod tests;
