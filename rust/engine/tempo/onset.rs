//! Onset strength from audio: log-compressed band spectral flux, one value per 10 ms hop.
//!
//! Why this shape: beat trackers need a signal that spikes when something new sounds (a kick, a
//! chord) and stays low through sustained sound. Summing magnitudes into a few dozen log-spaced
//! bands first (like a mel filterbank) averages out the frame-to-frame jitter of noise, and log
//! compression lets a quiet hi-hat count next to a loud kick. All buffers are allocated in
//! [`OnsetDetector::new`]; processing allocates nothing.

use super::chroma::{Chroma, PITCH_CLASSES};
use super::spectrum::WindowedFft;

/// Onset frames per second (the hop is the sample rate divided by this, rounded).
const FRAMES_PER_SECOND: f64 = 100.0;
/// Number of log-spaced bands the flux is summed over.
pub(crate) const BANDS: usize = 32;
/// Bands whose upper edge is at or below this carry the kick (and the lowest bass notes): their
/// accents mark downbeats. (Weighting them in the phase comb was measured and did not help: house
/// bass lines play the off-beats; [`OnsetFrame::loud_flux`] is what tells a kick from them.)
const LOW_HZ: f64 = 100.0;
/// Bands starting at or above this carry cymbals, hats and snare noise, which most drummed music
/// has and music without drums (a piano, strings) barely has.
const HIGH_HZ: f64 = 5_000.0;
/// Lowest and highest band edge in Hz.
const BAND_LOW_HZ: f64 = 30.0;
const BAND_HIGH_HZ: f64 = 16_000.0;
/// The chroma is recomputed every this many hops.
const CHROMA_EVERY: u64 = 4;
/// Log compression: `ln(1 + LOG_GAIN · magnitude)`, so −60 dBFS maps to about ln 2.
const LOG_GAIN: f32 = 1000.0;
/// The same for [`OnsetFrame::loud_flux`]: gain 1 is nearly linear below full scale, so an onset
/// counts by how loud it is, not by how many bands it touches.
const LOUD_GAIN: f32 = 1.0;

/// What one hop of audio produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnsetFrame {
    /// Spectral flux: how much louder the bands got than in the previous hop (≥ 0).
    pub flux: f32,
    /// The same over the bands below [`LOW_HZ`] only (kick and bass).
    pub low_flux: f32,
    /// The same over the bands above [`HIGH_HZ`] (the whole flux when there are none, at low
    /// sample rates): how much of the onset strength is percussion.
    pub high_flux: f32,
    /// Spectral flux of the barely compressed magnitudes: loud onsets (a kick) far outweigh quiet
    /// ones (hats), which the log-compressed `flux` counts alike. It settles which of two
    /// half-a-beat-apart phases carries the beat.
    pub loud_flux: f32,
    /// RMS level of the hop's samples.
    pub rms: f32,
    /// Log-compressed magnitude of each band (the first `band_count()`; the rest 0): the
    /// timbre and rough harmony of the hop, for downbeats and sections.
    pub bands: [f32; BANDS],
    /// Pitch-class profile of the last ~90 ms (updated every few hops), for downbeats.
    pub chroma: [f32; PITCH_CLASSES],
}

impl Default for OnsetFrame {
    fn default() -> Self {
        OnsetFrame {
            flux: 0.0,
            low_flux: 0.0,
            high_flux: 0.0,
            loud_flux: 0.0,
            rms: 0.0,
            bands: [0.0; BANDS],
            chroma: [0.0; PITCH_CLASSES],
        }
    }
}

/// Streaming onset-strength detector for one mono signal.
pub struct OnsetDetector {
    hop: usize,
    frame_rate: f64,
    /// The most recent `window.len()` samples; new samples are written from `filled`.
    frame: Vec<f32>,
    filled: usize,
    fft: WindowedFft,
    /// Bin ranges `[start, end)` of each band.
    bands: Vec<(usize, usize)>,
    /// How many of the first bands lie below [`LOW_HZ`].
    low_bands: usize,
    /// The first band above [`HIGH_HZ`].
    high_from: usize,
    previous: Vec<f32>,
    current: Vec<f32>,
    /// The bands compressed by [`LOUD_GAIN`], this hop and the previous one.
    loud_previous: Vec<f32>,
    loud_current: Vec<f32>,
    has_previous: bool,
    sum_squares: f64,
    chroma: Chroma,
    hops: u64,
}

impl std::fmt::Debug for OnsetDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnsetDetector").field("hop", &self.hop).field("window", &self.fft.len()).finish()
    }
}

impl OnsetDetector {
    /// A detector for audio at `sample_rate` Hz (clamped to 8 kHz–384 kHz).
    pub fn new(sample_rate: f64) -> Self {
        let sample_rate = sample_rate.clamp(8_000.0, 384_000.0);
        let hop = (sample_rate / FRAMES_PER_SECOND).round().max(1.0) as usize;
        // Two hops of context, to a power of two: 1024 samples (21 ms) at 44.1 or 48 kHz.
        let size = (2 * hop).next_power_of_two();
        let bands = band_bins(size, sample_rate);
        let bin_hz = sample_rate / size as f64;
        let low_bands = bands.iter().filter(|&&(_, end)| end as f64 * bin_hz <= LOW_HZ).count().max(1);
        let high_from = bands.iter().position(|&(start, _)| start as f64 * bin_hz >= HIGH_HZ).unwrap_or(0);
        OnsetDetector {
            hop,
            frame_rate: sample_rate / hop as f64,
            frame: vec![0.0; size],
            filled: size - hop,
            fft: WindowedFft::new(size),
            previous: vec![0.0; bands.len()],
            current: vec![0.0; bands.len()],
            loud_previous: vec![0.0; bands.len()],
            loud_current: vec![0.0; bands.len()],
            bands,
            low_bands,
            high_from,
            has_previous: false,
            sum_squares: 0.0,
            chroma: Chroma::new(sample_rate),
            hops: 0,
        }
    }

    /// Samples per onset frame.
    pub fn hop(&self) -> usize {
        self.hop
    }

    /// Onset frames per second (close to `FRAMES_PER_SECOND`).
    pub fn frame_rate(&self) -> f64 {
        self.frame_rate
    }

    /// Length of the analysis window in samples.
    pub fn window_len(&self) -> usize {
        self.fft.len()
    }

    /// Bands in use (bands narrower than a bin are merged, so fewer than [`BANDS`] at low rates).
    pub fn band_count(&self) -> usize {
        self.bands.len()
    }

    /// The bands (as `start..end` indices) whose centre lies between `low_hz` and `high_hz`.
    pub fn bands_between(&self, low_hz: f64, high_hz: f64) -> std::ops::Range<usize> {
        let bin_hz = self.frame_rate * self.hop as f64 / self.fft.len() as f64;
        let centre = |&(start, end): &(usize, usize)| (start + end) as f64 * 0.5 * bin_hz;
        let start = self.bands.iter().position(|b| centre(b) >= low_hz).unwrap_or(self.bands.len());
        let end = self.bands.iter().rposition(|b| centre(b) <= high_hz).map_or(start, |i| (i + 1).max(start));
        start..end
    }

    /// Forgets all past audio.
    pub fn reset(&mut self) {
        self.frame.fill(0.0);
        self.filled = self.frame.len() - self.hop;
        self.has_previous = false;
        self.sum_squares = 0.0;
        self.chroma.reset();
    }

    /// Feeds mono samples; calls `on_frame` once per completed hop, in order.
    pub fn push(&mut self, mut samples: &[f32], mut on_frame: impl FnMut(OnsetFrame)) {
        while !samples.is_empty() {
            let room = self.frame.len() - self.filled;
            let n = room.min(samples.len());
            for (slot, &s) in self.frame[self.filled..self.filled + n].iter_mut().zip(&samples[..n]) {
                *slot = s;
                self.sum_squares += f64::from(s) * f64::from(s);
            }
            self.filled += n;
            self.chroma.feed(&samples[..n]);
            samples = &samples[n..];
            if self.filled == self.frame.len() {
                on_frame(self.analyse());
                self.frame.copy_within(self.hop.., 0);
                self.filled -= self.hop;
            }
        }
    }

    fn analyse(&mut self) -> OnsetFrame {
        let norm = self.fft.norm();
        let spectrum = self.fft.transform(&self.frame);
        let bands_in = self.current.iter_mut().zip(self.loud_current.iter_mut()).zip(&self.bands);
        for ((value, loud), &(start, end)) in bands_in {
            let magnitude = norm * spectrum[start..end].iter().map(|c| c.norm()).sum::<f32>();
            *value = (LOG_GAIN * magnitude).ln_1p();
            *loud = (LOUD_GAIN * magnitude).ln_1p();
        }
        let n = self.current.len();
        let (flux, low_flux, high_flux, loud_flux) = if self.has_previous {
            let (current, previous, high) = (&self.current, &self.previous, self.high_from);
            (
                rise(current, previous),
                rise(&current[..self.low_bands], previous),
                rise(&current[high..], &previous[high..]),
                rise(&self.loud_current, &self.loud_previous),
            )
        } else {
            (0.0, 0.0, 0.0, 0.0)
        };
        let mut bands = [0.0; BANDS];
        bands[..n].copy_from_slice(&self.current);
        std::mem::swap(&mut self.current, &mut self.previous);
        std::mem::swap(&mut self.loud_current, &mut self.loud_previous);
        self.has_previous = true;
        let rms = (self.sum_squares / self.hop as f64).sqrt() as f32;
        self.sum_squares = 0.0;
        if self.hops % CHROMA_EVERY == 0 {
            self.chroma.update();
        }
        self.hops += 1;
        OnsetFrame { flux, low_flux, high_flux, loud_flux, rms, bands, chroma: self.chroma.value() }
    }
}

/// Mean rise of `current` over `previous`, band by band (falls count 0).
fn rise(current: &[f32], previous: &[f32]) -> f32 {
    let sum: f32 = current.iter().zip(previous).map(|(c, p)| (c - p).max(0.0)).sum();
    sum / current.len().max(1) as f32
}

/// Log-spaced bands between [`BAND_LOW_HZ`] and [`BAND_HIGH_HZ`] (or Nyquist), as FFT bin ranges;
/// bands narrower than a bin are merged with the next.
fn band_bins(size: usize, sample_rate: f64) -> Vec<(usize, usize)> {
    let bin_hz = sample_rate / size as f64;
    let high = BAND_HIGH_HZ.min(sample_rate * 0.45);
    let to_bin = |hz: f64| ((hz / bin_hz).round() as usize).clamp(1, size / 2);
    let mut bands = Vec::with_capacity(BANDS);
    let mut start = to_bin(BAND_LOW_HZ);
    for b in 1..=BANDS {
        let edge = BAND_LOW_HZ * (high / BAND_LOW_HZ).powf(b as f64 / BANDS as f64);
        let end = to_bin(edge).max(start + 1).min(size / 2 + 1);
        if end > start {
            bands.push((start, end));
            start = end;
        }
    }
    bands
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_and_window_follow_the_sample_rate() {
        let d = OnsetDetector::new(48_000.0);
        assert_eq!((d.hop(), d.window_len()), (480, 1024));
        assert!((d.frame_rate() - 100.0).abs() < 1e-9);
        let d = OnsetDetector::new(44_100.0);
        assert_eq!((d.hop(), d.window_len()), (441, 1024));
        let bands = band_bins(1024, 48_000.0);
        assert!(bands.windows(2).all(|w| w[0].1 == w[1].0), "bands tile the spectrum");
        assert!(bands.len() > 16);
    }

    #[test]
    fn a_click_spikes_and_silence_does_not() {
        let mut d = OnsetDetector::new(48_000.0);
        let mut frames = Vec::new();
        let mut audio = vec![0.0f32; 48_000];
        for (i, s) in audio[24_000..24_480].iter_mut().enumerate() {
            *s = 0.5 * (i as f32 * 0.13).sin() * (-(i as f32) / 100.0).exp();
        }
        d.push(&audio, |f| frames.push(f));
        assert_eq!(frames.len(), 100);
        let peak = frames.iter().enumerate().max_by(|a, b| a.1.flux.total_cmp(&b.1.flux)).unwrap().0;
        assert!((49..=51).contains(&peak), "flux peaks near 0.5 s, at frame {peak}");
        assert!(frames[10].flux == 0.0 && frames[90].flux == 0.0);
        assert!(frames[peak].rms > 0.0);
    }
}
