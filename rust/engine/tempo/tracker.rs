//! Real-time beat tracker: onset strength → tempo (autocorrelation + comb filter) → phase lock.
//!
//! Every 10 ms hop adds one onset-strength value to a 6-second history. Four times a second:
//!
//! 1. **Tempo**: the autocorrelation of the history is summed at the first few multiples of each
//!    candidate beat period (a comb filter, so a period whose multiples also line up wins over its
//!    half or double) and weighted by a broad prior around 120 BPM. A new tempo must win several
//!    updates in a row before it replaces the old one, so the output does not flicker.
//! 2. **Phase**: a comb of pulses one period apart is slid over the last 4 seconds of onsets (recent
//!    beats weigh more); the best offset is where the last beat was.
//! 3. **Lock**: a phase-locked loop pulls the published beat grid towards that measurement by a
//!    fraction each update, so beat numbers stay continuous and the phase glides instead of
//!    jumping; a large, persistent disagreement snaps it.
//!
//! The tracker is plain single-threaded code with no clock of its own: time is the count of
//! samples fed ("the clock", offset by an origin), so tests can drive it with synthetic audio
//! faster than real time and get the same answer every run. Buffers are allocated in
//! [`Tracker::new`]; [`Tracker::process`] allocates nothing.

mod bars;
mod estimate;
mod lock;
#[cfg(test)]
mod tests;

use super::onset::{OnsetDetector, OnsetFrame};
use crate::model::phase::{point_from_beats, GridPoint};
use bars::BarTracker;

/// Slowest and fastest tempo the tracker reports.
pub(crate) const MIN_TRACKED_BPM: f64 = 60.0;
pub(crate) const MAX_TRACKED_BPM: f64 = 240.0;
/// Seconds of onset history the tempo is estimated from.
const HISTORY_S: f64 = 6.0;
/// Seconds of onsets the phase is measured over.
const PHASE_WINDOW_S: f64 = 4.0;
/// History needed before the first estimate.
const MIN_HISTORY_S: f64 = 3.0;
/// How often the tempo and phase are re-estimated.
const UPDATE_S: f64 = 0.25;
/// Harmonics of the comb filter.
const HARMONICS: usize = 4;
/// Resolution of the tempo search, in onset frames of period.
const PERIOD_STEP: f64 = 0.1;
/// Resolution of the phase search, in onset frames.
const PHASE_STEP: f64 = 0.25;
/// Weight of each older beat in the phase comb.
const PHASE_DECAY: f64 = 0.8;
/// How far (fraction of a beat) around a phase, and around the phase half a beat away, the loud
/// onsets are compared: wide enough that a slow attack peaking late still counts for its beat.
const HALF_BEAT_REACH: f64 = 0.15;
/// Centre and width (octaves) of the tempo prior.
const PRIOR_BPM: f64 = 120.0;
const PRIOR_OCTAVES: f64 = 1.4;
/// Music without drums is felt slower (a solo piano's eighth-note arpeggio is not its beat): the
/// prior's centre moves down by up to this many octaves as the share of the onset strength above
/// 5 kHz (hats, cymbals, snares) falls from [`PERCUSSIVE_SHARE`] to 0, measured over
/// [`TIMBRE_S`]. Drummed music measures 0.75 or more, clicks with a noisy attack about 0.43, a
/// piano about 0.25.
const DRUMLESS_OCTAVES: f64 = 1.5;
const PERCUSSIVE_SHARE: f64 = 0.35;
const TIMBRE_S: f64 = 8.0;
/// Periods closer than this (relative) are the same tempo.
const SAME_TEMPO: f64 = 0.04;
/// Updates a new tempo must win in a row to replace the current one (double for an octave jump).
const SWITCH_VOTES: u32 = 4;
/// How much of a new measurement is blended into the current period.
const PERIOD_GAIN: f64 = 0.3;
/// Phase-locked loop gain per update, and the error (fraction of a beat) beyond which a
/// measurement counts as a miss; this many misses in a row snap the grid.
const PLL_GAIN: f64 = 0.25;
const PLL_CAPTURE: f64 = 0.2;
const PLL_SNAP_MISSES: u32 = 3;
/// Comb peak relative to the zero-lag autocorrelation needed to trust a tempo.
const MIN_CONFIDENCE: f64 = 0.1;
/// Updates of a stable tempo before the tracker calls itself locked.
const LOCK_UPDATES: u32 = 4;
/// Below this level the input counts as silence.
const SILENCE_DB: f64 = -55.0;
/// Silence longer than this loses the lock.
const SILENCE_UNLOCK_S: f64 = 2.0;
/// The music stopped (only reverb rings on) when no onset above this share of the recent peak
/// came for this many beats: the lock is lost until one comes. Rests in a groove are shorter.
const REST_ONSET: f64 = 0.1;
const REST_UNLOCK_BEATS: f64 = 1.0;
/// Time constants of the flux baseline, the loudness meter, the onset pulse and its normaliser.
const BASELINE_S: f64 = 0.3;
const LOUDNESS_S: f64 = 0.3;
const ONSET_PULSE_S: f64 = 0.1;
const ONSET_PEAK_S: f64 = 3.0;
/// Floor of the `loudness` output in dBFS.
pub(crate) const FLOOR_DB: f64 = -60.0;
/// The meters told apart (beats per bar); the first is assumed until the accents say otherwise.
const METERS: [u8; 2] = [4, 3];
/// A meter's accent contrast must beat the current one's by this factor to replace it.
const METER_SWITCH: f32 = 1.08;
/// How the accent of each beat position fades, per beat.
const ACCENT_DECAY: f32 = 0.97;
/// Frames around a beat start whose strongest low-band onset is that beat's accent (from 3
/// before to 3 after).
const ACCENT_FRAMES: usize = 7;
/// Weight of the spectral change into a beat (a new chord, an instrument entering) against the
/// low-band accent at its start, in the downbeat evidence.
const CHANGE_WEIGHT: f32 = 1.5;
/// Weight of the harmonic change into a beat (the cosine distance of its mean chroma from the
/// previous beat's): chords and bass notes change at bar lines in most music. The floor is the
/// change below which the harmony counts as steady.
const CHROMA_WEIGHT: f32 = 3.0;
const CHROMA_FLOOR: f32 = 0.01;
/// The spectral change into a beat is measured between these frequencies: where chords and bass
/// harmonics sound, above the kick and below the hats, so a kick after a snare is not a change.
const HARMONY_LOW_HZ: f64 = 150.0;
const HARMONY_HIGH_HZ: f64 = 2_500.0;
/// Weight of the level accent (the squared loudest hop at the beat's start).
const LEVEL_WEIGHT: f32 = 4.0;
/// Time constant, in beats, of the running means that make both kinds of accent unitless.
const ACCENT_NORM_BEATS: f32 = 16.0;
/// Sections: the sound just after each downbeat (this long, at most 0.8 beat) is compared with the
/// running mean of the same moment in the previous bars; a distance this many times the usual
/// one, above a floor, after at least this many bars of the section, starts a new section.
const SECTION_WINDOW_S: f64 = 0.25;
const SECTION_RATIO: f32 = 2.5;
const SECTION_FLOOR: f32 = 0.12;
const SECTION_MIN_BARS: u32 = 4;
/// How much of each bar's window the reference and the usual distance take in.
const SECTION_GAIN: f32 = 0.3;
/// How far the flux peak of an onset trails the onset, as a fraction of the analysis window
/// (calibrated on click tracks so the beats come out unbiased: `synthetic_set_is_tracked` checks
/// the mean signed phase error, and `cargo bench --bench tempo` prints it per track).
const FLUX_DELAY_FRACTION: f64 = 0.36;

/// What the tracker knows, published to readers. Times are on the audio clock (samples).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TrackerReading {
    /// Beats per minute; 0 before the first estimate.
    pub tempo: f64,
    /// How periodic the onsets are (0–1).
    pub confidence: f64,
    /// Tempo stable, phase agreeing, and sound present: good enough to drive visuals.
    pub locked: bool,
    /// A beat started at this clock; beat number `anchor_beat`. Period 0 means no grid yet.
    pub anchor: f64,
    pub period: f64,
    pub anchor_beat: i64,
    /// Which beat number modulo `beats_per_bar` is the downbeat (the most accented).
    pub bar_offset: u8,
    /// Beats per bar, 3 or 4, from which period the accents repeat with (0 reads as 4).
    pub beats_per_bar: u8,
    /// Structural sections counted since the tracker (re)started: a new one when the sound at
    /// the downbeat changes far more than it usually does from bar to bar.
    pub section: u32,
    /// Onset pulse, 0–1: jumps at each onset and fades over about 0.1 s.
    pub onset: f64,
    /// Short-term level in dBFS (≥ `FLOOR_DB`).
    pub loudness_db: f64,
    /// Changes whenever the tracker restarts: beat numbers of different epochs are unrelated.
    pub epoch: u64,
}

impl TrackerReading {
    /// Continuous beat count at audio clock `clock`, when there is a grid.
    pub fn beats_at(&self, clock: f64) -> Option<f64> {
        (self.period > 0.0).then(|| self.anchor_beat as f64 + (clock - self.anchor) / self.period)
    }

    /// The grid point at audio clock `clock`, when there is a grid. Bars start on the accented beat.
    pub fn at(&self, clock: f64) -> Option<GridPoint> {
        let beats = self.beats_at(clock)?;
        let per_bar = if self.beats_per_bar == 0 { 4 } else { u32::from(self.beats_per_bar) };
        let mut point = point_from_beats(beats - f64::from(self.bar_offset), per_bar, self.section);
        point.beat = beats.floor() as i64;
        Some(point)
    }
}

/// The beat grid the phase-locked loop maintains.
#[derive(Debug, Clone, Copy)]
struct Grid {
    anchor: f64,
    period: f64,
    anchor_beat: i64,
}

impl Grid {
    fn beats_at(&self, clock: f64) -> f64 {
        self.anchor_beat as f64 + (clock - self.anchor) / self.period
    }
}

/// The beat tracker for one audio stream.
#[derive(Debug)]
pub struct Tracker {
    onset: OnsetDetector,
    core: Core,
}

impl Tracker {
    /// A tracker for mono audio at `sample_rate` Hz whose first sample has clock 0.
    pub fn new(sample_rate: f64) -> Self {
        let onset = OnsetDetector::new(sample_rate);
        let core = Core::new(&onset, 0.0, 0);
        Tracker { onset, core }
    }

    /// Forgets everything (the audio was interrupted); the next sample has clock `origin`.
    /// Allocates (a fresh history), which is fine: it runs on the tracker's own thread, rarely.
    pub fn restart(&mut self, origin: f64) {
        self.onset.reset();
        self.core = Core::new(&self.onset, origin, self.core.epoch + 1);
    }

    /// Feeds mono samples that follow the previous ones without a gap. Never allocates.
    pub fn process(&mut self, samples: &[f32]) {
        let core = &mut self.core;
        self.onset.push(samples, |frame| core.on_frame(frame));
    }

    /// What the tracker knows now.
    pub fn reading(&self) -> TrackerReading {
        self.core.reading()
    }
}

/// Everything after onset detection.
#[derive(Debug)]
struct Core {
    hop: f64,
    frame_rate: f64,
    /// Samples between the end of a hop and the onset its flux peak stands for.
    flux_delay: f64,
    /// Audio clock of the first sample since the last restart.
    origin: f64,
    /// Onset frames since the last restart.
    frames: u64,
    /// Rectified, baseline-free onset strength; a ring of the last [`HISTORY_S`].
    history: Vec<f32>,
    /// The same for the loud flux (same head and length), which picks between half-beat phases.
    loud_history: Vec<f32>,
    head: usize,
    len: usize,
    baseline: f32,
    low_baseline: f32,
    loud_baseline: f32,
    /// Running means of the high-band and whole flux (see [`DRUMLESS_OCTAVES`]).
    high_mean: f64,
    flux_mean: f64,
    /// Scratch for the analysis (allocated once).
    series: Vec<f32>,
    acf: Vec<f32>,
    scores: Vec<f64>,
    phase_scores: Vec<f64>,
    loud_scores: Vec<f64>,
    /// Candidate periods, in frames.
    min_period: f64,
    max_period: f64,
    period_frames: Option<f64>,
    challenger: Option<(f64, u32)>,
    stable_updates: u32,
    confidence: f64,
    grid: Option<Grid>,
    misses: u32,
    last_error: f64,
    locked: bool,
    bar: BarTracker,
    /// Low-band onset strength and RMS of the last few hops, for the accents.
    recent_low: [f32; ACCENT_FRAMES],
    recent_rms: [f32; ACCENT_FRAMES],
    last_beat: Option<i64>,
    pending_accent: Option<(i64, u64)>,
    power: f64,
    onset_pulse: f64,
    onset_peak: f64,
    quiet_frames: u64,
    /// Onset frames since the last onset above [`REST_ONSET`].
    frames_since_onset: u64,
    epoch: u64,
}

impl Core {
    fn new(onset: &OnsetDetector, origin: f64, epoch: u64) -> Self {
        let frame_rate = onset.frame_rate();
        let capacity = (HISTORY_S * frame_rate).ceil() as usize;
        let min_period = frame_rate * 60.0 / MAX_TRACKED_BPM;
        let max_period = frame_rate * 60.0 / MIN_TRACKED_BPM;
        let candidates = ((max_period - min_period) / PERIOD_STEP).ceil() as usize + 1;
        let max_lag = (HARMONICS as f64 * max_period).ceil() as usize + 2;
        Core {
            hop: onset.hop() as f64,
            flux_delay: onset.window_len() as f64 * FLUX_DELAY_FRACTION,
            frame_rate,
            origin,
            frames: 0,
            history: vec![0.0; capacity],
            loud_history: vec![0.0; capacity],
            head: 0,
            len: 0,
            baseline: 0.0,
            low_baseline: 0.0,
            loud_baseline: 0.0,
            high_mean: 0.0,
            flux_mean: 0.0,
            series: vec![0.0; capacity],
            acf: vec![0.0; max_lag.min(capacity)],
            scores: vec![0.0; candidates],
            phase_scores: vec![0.0; (max_period / PHASE_STEP).ceil() as usize + 1],
            loud_scores: vec![0.0; (max_period / PHASE_STEP).ceil() as usize + 1],
            min_period,
            max_period,
            period_frames: None,
            challenger: None,
            stable_updates: 0,
            confidence: 0.0,
            grid: None,
            misses: 0,
            last_error: 0.0,
            locked: false,
            bar: BarTracker::new(onset.band_count(), onset.bands_between(HARMONY_LOW_HZ, HARMONY_HIGH_HZ)),
            recent_low: [0.0; ACCENT_FRAMES],
            recent_rms: [0.0; ACCENT_FRAMES],
            last_beat: None,
            pending_accent: None,
            power: 0.0,
            onset_pulse: 0.0,
            onset_peak: 0.0,
            quiet_frames: 0,
            frames_since_onset: 0,
            epoch,
        }
    }

    fn reading(&self) -> TrackerReading {
        let grid = self.grid.unwrap_or(Grid { anchor: 0.0, period: 0.0, anchor_beat: 0 });
        let loud = 10.0 * self.power.max(1e-12).log10();
        TrackerReading {
            tempo: self.period_frames.map_or(0.0, |p| 60.0 * self.frame_rate / p),
            confidence: self.confidence.clamp(0.0, 1.0),
            locked: self.is_locked(),
            anchor: grid.anchor,
            period: grid.period,
            anchor_beat: grid.anchor_beat,
            bar_offset: self.bar.offset,
            beats_per_bar: self.bar.beats_per_bar,
            section: self.bar.section,
            onset: self.onset_pulse.clamp(0.0, 1.0),
            loudness_db: loud.clamp(FLOOR_DB, 0.0),
            epoch: self.epoch,
        }
    }

    fn is_locked(&self) -> bool {
        let rest = self.period_frames.map_or(f64::INFINITY, |p| REST_UNLOCK_BEATS * p);
        self.locked
            && (self.quiet_frames as f64) < SILENCE_UNLOCK_S * self.frame_rate
            && (self.frames_since_onset as f64) < rest
    }

    /// Audio clock that onset frame `t` (fractional, counted since the restart) stands for.
    fn frame_clock(&self, t: f64) -> f64 {
        self.origin + (t + 1.0) * self.hop - self.flux_delay
    }

    fn on_frame(&mut self, frame: OnsetFrame) {
        let dt = 1.0 / self.frame_rate;
        // Onset strength: flux above its recent baseline, so steady noise counts for little.
        let strength = (frame.flux - self.baseline).max(0.0);
        self.baseline += (frame.flux - self.baseline) * (dt / BASELINE_S) as f32;
        let low = (frame.low_flux - self.low_baseline).max(0.0);
        self.low_baseline += (frame.low_flux - self.low_baseline) * (dt / BASELINE_S) as f32;
        self.recent_low.rotate_left(1);
        self.recent_low[ACCENT_FRAMES - 1] = low;
        self.recent_rms.rotate_left(1);
        self.recent_rms[ACCENT_FRAMES - 1] = frame.rms;
        let loud = (frame.loud_flux - self.loud_baseline).max(0.0);
        self.loud_baseline += (frame.loud_flux - self.loud_baseline) * (dt / BASELINE_S) as f32;
        // Even weights over the first frames, then a fade over TIMBRE_S.
        let gain = (dt / TIMBRE_S).max(1.0 / (self.frames + 1) as f64);
        self.high_mean += (f64::from(frame.high_flux) - self.high_mean) * gain;
        self.flux_mean += (f64::from(frame.flux) - self.flux_mean) * gain;
        self.history[self.head] = strength;
        self.loud_history[self.head] = loud;
        self.head = (self.head + 1) % self.history.len();
        self.len = (self.len + 1).min(self.history.len());
        self.frames += 1;

        // Levels for the `loudness` and `onset` outputs.
        let rms = f64::from(frame.rms);
        self.power += (rms * rms - self.power) * (dt / LOUDNESS_S).min(1.0);
        if 10.0 * self.power.max(1e-12).log10() < SILENCE_DB {
            self.quiet_frames += 1;
        } else {
            self.quiet_frames = 0;
        }
        let s = f64::from(strength);
        self.onset_peak = (self.onset_peak * (-dt / ONSET_PEAK_S).exp()).max(s).max(1e-3);
        self.onset_pulse = (self.onset_pulse * (-dt / ONSET_PULSE_S).exp()).max(s / self.onset_peak);
        self.frames_since_onset =
            if s > REST_ONSET * self.onset_peak { 0 } else { self.frames_since_onset + 1 };

        self.track_accents(&frame);
        let update_every = (UPDATE_S * self.frame_rate).round().max(1.0) as u64;
        if self.frames % update_every == 0 && self.len as f64 >= MIN_HISTORY_S * self.frame_rate {
            self.update();
        }
    }

    /// The centre of the tempo prior for the music heard lately (see [`DRUMLESS_OCTAVES`]).
    fn prior_bpm(&self) -> f64 {
        let share = if self.flux_mean > 1e-9 { self.high_mean / self.flux_mean } else { 1.0 };
        PRIOR_BPM * (-DRUMLESS_OCTAVES * (1.0 - (share / PERCUSSIVE_SHARE).min(1.0))).exp2()
    }

    /// Onset strength `back` frames before the newest (fractional, linearly interpolated).
    fn history_back(&self, back: f64) -> f64 {
        ring_back(&self.history, self.head, self.len, back)
    }

    /// Follows the beats for the bar tracker: the spectrum of each beat as it ends, and a few
    /// frames after each beat starts, the strongest low-band onset (the kick, a new bass note)
    /// and the loudest hop around it.
    fn track_accents(&mut self, frame: &OnsetFrame) {
        let Some(grid) = self.grid else { return };
        let newest = (self.frames - 1) as f64;
        let beat = grid.beats_at(self.frame_clock(newest)).floor() as i64;
        if self.last_beat != Some(beat) {
            if let Some(ended) = self.last_beat {
                self.bar.end_beat(ended, beat == ended + 1);
                self.pending_accent = Some((beat, self.frames + (ACCENT_FRAMES / 2) as u64));
            }
            self.last_beat = Some(beat);
            let window = (SECTION_WINDOW_S * self.frame_rate).min(0.8 * grid.period / self.hop);
            self.bar.start_beat(beat, window.max(1.0) as u32);
        }
        self.bar.add_frame(&frame.bands, &frame.chroma);
        if let Some((beat, due)) = self.pending_accent {
            if self.frames >= due {
                self.pending_accent = None;
                let low = self.recent_low.iter().copied().fold(0.0, f32::max);
                let level = self.recent_rms.iter().copied().fold(0.0, f32::max);
                self.bar.accent(beat, low, level);
            }
        }
    }

    /// Re-estimates tempo and phase from the history, then the lock.
    fn update(&mut self) {
        self.update_grid();
        self.refresh_lock();
    }

    fn update_grid(&mut self) {
        let Some((period, confidence)) = self.estimate_period() else {
            self.confidence = 0.0;
            return;
        };
        self.confidence = confidence;
        if confidence < MIN_CONFIDENCE {
            return;
        }
        let snap = self.choose_period(period);
        let Some(period) = self.period_frames else { return };
        let Some(beat_back) = self.estimate_phase(period) else { return };
        let measured = self.frame_clock((self.frames - 1) as f64 - beat_back);
        self.lock(measured, period * self.hop, snap);
    }
}

/// Value `back` frames before the newest of a ring whose next slot is `head` and that holds
/// `len` values (fractional, linearly interpolated; 0 outside).
fn ring_back(ring: &[f32], head: usize, len: usize, back: f64) -> f64 {
    if back < 0.0 || back > len as f64 - 1.0 {
        return 0.0;
    }
    let i = back.floor() as usize;
    let frac = back - i as f64;
    let n = ring.len();
    let at = |k: usize| if k >= len { 0.0 } else { f64::from(ring[(head + n - 1 - k) % n]) };
    at(i) * (1.0 - frac) + at(i + 1) * frac
}
