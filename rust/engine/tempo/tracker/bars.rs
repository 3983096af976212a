//! Downbeats, beats per bar and sections, from the beats the tracker has found.
//!
//! Three kinds of evidence mark a downbeat, and each beat adds them to a score per position in
//! the bar, for 3 and for 4 beats per bar at once:
//! - the **low-band accent** at the beat's start: kicks and new bass notes fall on downbeats more
//!   than elsewhere;
//! - the **level accent**: the loudest hop around the beat's start (a louder hit);
//! - the **spectral change** into the beat: how much its mean band spectrum rose over the
//!   previous beat's (chords and arrangements change at bar lines; this is what finds the
//!   downbeat when the kick plays every beat, as in house). Only rises count, so the beat after
//!   an accent does not score as well.
//!
//! Each is divided by its running mean, so neither depends on the level. The meter is the one
//! whose scores repeat with more contrast (max over mean): a 4/4 pattern scored in 3s averages
//! out, and a 3/4 pattern in 4s too. The downbeat is its strongest position.
//!
//! Sections: the band spectrum of a short window after each beat starts is compared with the
//! running mean of the same window at the same beat of the bars before (the same moment of the
//! bar, so the bar's own rhythm does not count as change). A distance far above the usual
//! bar-to-bar one starts a new section, and the new sound becomes the reference. Every beat is
//! tested, not only the downbeat, so a wrong downbeat does not delay the change by a beat.
//! Detection is causal and lags the boundary by the window (a quarter second), so the `section`
//! channel changes within half a second of it.
//!
//! Everything is fixed-size: no allocation after [`BarTracker::new`].

use super::{
    ACCENT_DECAY, ACCENT_NORM_BEATS, CHANGE_WEIGHT, CHROMA_FLOOR, CHROMA_WEIGHT, LEVEL_WEIGHT, METERS,
    METER_SWITCH, SECTION_FLOOR, SECTION_GAIN, SECTION_MIN_BARS, SECTION_RATIO,
};
use crate::engine::tempo::chroma::{self, PITCH_CLASSES};
use crate::engine::tempo::onset::BANDS;

#[derive(Debug)]
pub(super) struct BarTracker {
    bands: usize,
    /// The bands the spectral change into a beat is measured over.
    harmony: std::ops::Range<usize>,
    /// Accent score per position, one row per entry of [`METERS`].
    scores: [[f32; 4]; 2],
    pub(super) beats_per_bar: u8,
    pub(super) offset: u8,
    low_mean: RunningMean,
    level_mean: RunningMean,
    change_mean: RunningMean,
    chroma_mean: RunningMean,
    /// Sum of the chroma of the current beat's frames, and the previous beat's.
    chroma_sum: [f32; PITCH_CLASSES],
    previous_chroma: Option<[f32; PITCH_CLASSES]>,
    /// Sum of the band spectra of the current beat, and its frame count.
    beat_sum: [f32; BANDS],
    beat_frames: u32,
    previous_beat: Option<[f32; BANDS]>,
    /// The section window after the current beat: its position in the bar, frames still to
    /// add, sum, count.
    window_position: usize,
    window_left: u32,
    window_sum: [f32; BANDS],
    window_frames: u32,
    /// Per position in the bar: the section's usual window, how many bars it has seen, and the
    /// usual distance of a bar's window from it.
    reference: [[f32; BANDS]; 4],
    reference_bars: [u32; 4],
    usual_distance: [f32; 4],
    beats_in_section: u32,
    pub(super) section: u32,
}

impl BarTracker {
    pub(super) fn new(bands: usize, harmony: std::ops::Range<usize>) -> Self {
        let bands = bands.clamp(1, BANDS);
        let harmony = if harmony.is_empty() || harmony.end > bands { 0..bands } else { harmony };
        BarTracker {
            bands,
            harmony,
            scores: [[0.0; 4]; 2],
            beats_per_bar: METERS[0],
            offset: 0,
            low_mean: RunningMean::default(),
            level_mean: RunningMean::default(),
            change_mean: RunningMean::default(),
            chroma_mean: RunningMean::default(),
            chroma_sum: [0.0; PITCH_CLASSES],
            previous_chroma: None,
            beat_sum: [0.0; BANDS],
            beat_frames: 0,
            previous_beat: None,
            window_position: 0,
            window_left: 0,
            window_sum: [0.0; BANDS],
            window_frames: 0,
            reference: [[0.0; BANDS]; 4],
            reference_bars: [0; 4],
            usual_distance: [0.0; 4],
            beats_in_section: 0,
            section: 0,
        }
    }

    /// Beat numbers slipped against the bars (the grid snapped): the accents learnt so far no
    /// longer line up. The meter and the sections stay.
    pub(super) fn forget_accents(&mut self) {
        self.scores = [[0.0; 4]; 2];
    }

    /// Beat `beat` starts and opens its section window of `window` frames.
    pub(super) fn start_beat(&mut self, beat: i64, window: u32) {
        self.beat_sum = [0.0; BANDS];
        self.chroma_sum = [0.0; PITCH_CLASSES];
        self.beat_frames = 0;
        self.window_position = beat.rem_euclid(i64::from(self.beats_per_bar)) as usize;
        self.window_left = window;
        self.window_sum = [0.0; BANDS];
        self.window_frames = 0;
    }

    /// One onset frame's band spectrum and chroma.
    pub(super) fn add_frame(&mut self, bands: &[f32; BANDS], chroma: &[f32; PITCH_CLASSES]) {
        for (s, b) in self.beat_sum.iter_mut().zip(bands) {
            *s += b;
        }
        for (s, c) in self.chroma_sum.iter_mut().zip(chroma) {
            *s += c;
        }
        self.beat_frames += 1;
        if self.window_left > 0 {
            for (s, b) in self.window_sum.iter_mut().zip(bands) {
                *s += b;
            }
            self.window_frames += 1;
            self.window_left -= 1;
            if self.window_left == 0 {
                self.close_window();
            }
        }
    }

    /// Beat `ended` is over; `next_follows` says the next beat is `ended + 1` (no jump), so its
    /// spectrum can be compared with the one before it.
    pub(super) fn end_beat(&mut self, ended: i64, next_follows: bool) {
        if self.beat_frames == 0 {
            return;
        }
        let n = self.bands;
        let scale = 1.0 / self.beat_frames as f32;
        let mut mean = [0.0; BANDS];
        for (m, s) in mean[..n].iter_mut().zip(&self.beat_sum[..n]) {
            *m = s * scale;
        }
        if let Some(previous) = &self.previous_beat {
            let h = self.harmony.clone();
            let change = rise(&mean[h.clone()], &previous[h]);
            if let Some(x) = self.change_mean.normalise(change) {
                self.add(ended, CHANGE_WEIGHT * x);
            }
        }
        self.previous_beat = next_follows.then_some(mean);
        if let Some(previous) = &self.previous_chroma {
            // A floor under the mean: where the harmony never changes (a click track), chroma
            // jitter must not pass for an accent.
            let change = chroma::distance(&self.chroma_sum, previous);
            if let Some(x) = self.chroma_mean.normalise_floored(change, CHROMA_FLOOR) {
                self.add(ended, CHROMA_WEIGHT * x);
            }
        }
        self.previous_chroma = next_follows.then_some(self.chroma_sum);
    }

    /// The low-band and level (RMS) accents at the start of `beat`.
    pub(super) fn accent(&mut self, beat: i64, low: f32, level: f32) {
        for row in &mut self.scores {
            for s in row.iter_mut() {
                *s *= ACCENT_DECAY;
            }
        }
        if let Some(x) = self.low_mean.normalise(low) {
            self.add(beat, x);
        }
        // Squared: a hit 1.4 times louder (a click track's downbeat) scores twice.
        if let Some(x) = self.level_mean.normalise(level * level) {
            self.add(beat, LEVEL_WEIGHT * x);
        }
        self.choose();
    }

    fn add(&mut self, beat: i64, value: f32) {
        for (row, &meter) in self.scores.iter_mut().zip(&METERS) {
            row[beat.rem_euclid(i64::from(meter)) as usize] += value;
        }
    }

    /// Picks the meter whose accents repeat with the most contrast, then its strongest position.
    fn choose(&mut self) {
        let contrast = |i: usize| {
            let row = &self.scores[i][..usize::from(METERS[i])];
            let mean = row.iter().sum::<f32>() / row.len() as f32;
            let top = row.iter().copied().fold(0.0, f32::max);
            if mean > 1e-6 {
                top / mean
            } else {
                1.0
            }
        };
        let current = METERS.iter().position(|&m| m == self.beats_per_bar).unwrap_or(0);
        let other = 1 - current;
        let chosen = if contrast(other) > contrast(current) * METER_SWITCH { other } else { current };
        let row = &self.scores[chosen][..usize::from(METERS[chosen])];
        let (best, &top) = row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap_or((0, &0.0));
        if chosen != current {
            self.beats_per_bar = METERS[chosen];
            self.offset = best as u8;
            return;
        }
        let held = row.get(usize::from(self.offset)).copied().unwrap_or(0.0);
        if top > held * 1.2 {
            self.offset = best as u8;
        }
    }

    /// The window after a beat is complete: compare it with the same beat of the bars before.
    fn close_window(&mut self) {
        if self.window_frames == 0 {
            return;
        }
        let n = self.bands;
        let p = self.window_position.min(3);
        let scale = 1.0 / self.window_frames as f32;
        let mut mean = [0.0; BANDS];
        for (m, s) in mean[..n].iter_mut().zip(&self.window_sum[..n]) {
            *m = s * scale;
        }
        self.beats_in_section += 1;
        if self.reference_bars[p] == 0 {
            self.reference[p] = mean;
            self.reference_bars[p] = 1;
            return;
        }
        let d = distance(&mean[..n], &self.reference[p][..n]);
        let settled = self.reference_bars[p] >= SECTION_MIN_BARS
            && self.beats_in_section >= SECTION_MIN_BARS * u32::from(self.beats_per_bar);
        if settled && d > SECTION_FLOOR && d > SECTION_RATIO * self.usual_distance[p] {
            self.section += 1;
            self.beats_in_section = 1;
            // Every position learns the new section's sound afresh, starting with this one.
            self.reference_bars = [0; 4];
            self.reference[p] = mean;
            self.reference_bars[p] = 1;
            return;
        }
        self.usual_distance[p] = if self.reference_bars[p] == 1 {
            d
        } else {
            self.usual_distance[p] + (d - self.usual_distance[p]) * SECTION_GAIN
        };
        for (r, m) in self.reference[p][..n].iter_mut().zip(&mean[..n]) {
            *r += (m - *r) * SECTION_GAIN;
        }
        self.reference_bars[p] += 1;
    }
}

/// A running mean that averages its first values evenly, then fades them over
/// [`ACCENT_NORM_BEATS`], so the first beats are not divided by a mean still near 0.
#[derive(Debug, Default)]
struct RunningMean {
    mean: f32,
    count: f32,
}

impl RunningMean {
    /// Takes in `x`; returns it over the mean, when the mean is usable.
    fn normalise(&mut self, x: f32) -> Option<f32> {
        self.count = (self.count + 1.0).min(ACCENT_NORM_BEATS);
        self.mean += (x - self.mean) / self.count;
        (self.mean > 1e-6).then(|| x / self.mean)
    }

    /// [`RunningMean::normalise`] by at least `floor`.
    fn normalise_floored(&mut self, x: f32, floor: f32) -> Option<f32> {
        self.normalise(x).map(|_| x / self.mean.max(floor))
    }
}

/// Mean rise of log band spectrum `a` over `b` (falls count 0).
fn rise(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).max(0.0)).sum::<f32>() / a.len().max(1) as f32
}

/// Mean absolute difference of two log band spectra.
fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len().max(1) as f32
}
