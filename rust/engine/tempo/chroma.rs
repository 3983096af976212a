//! Pitch-class profile (chroma) of the last ~90 ms: chords and bass notes change at bar lines, so
//! the beat whose chroma differs most from the one before is likely a downbeat.
//!
//! Why its own, longer FFT: the onset detector's 21 ms window resolves 43 Hz, several semitones
//! in the range where chords sound; 4096 samples at 44.1 kHz resolve 11 Hz, a semitone from about
//! 190 Hz up. It runs every few onset hops only (a beat's mean chroma needs no finer time).
//! Buffers are allocated in [`Chroma::new`]; [`Chroma::feed`] and [`Chroma::update`] allocate
//! nothing.

use super::spectrum::WindowedFft;

/// Pitch classes.
pub(crate) const PITCH_CLASSES: usize = 12;
/// Window length in seconds (rounded up to a power of two in samples).
const WINDOW_S: f64 = 0.085;
/// Bins between these frequencies count: from low chord tones to the top of most melodies.
const LOW_HZ: f64 = 100.0;
const HIGH_HZ: f64 = 2_000.0;
/// Log compression of bin magnitudes, so a quiet chord tone counts beside a loud bass note.
const LOG_GAIN: f32 = 100.0;

/// Streaming chroma of one mono signal.
pub(crate) struct Chroma {
    /// The last `window.len()` samples, a ring whose next slot is `head`.
    ring: Vec<f32>,
    head: usize,
    fft: WindowedFft,
    /// `(bin, pitch class)` of every bin that counts.
    bins: Vec<(usize, u8)>,
    value: [f32; PITCH_CLASSES],
}

impl std::fmt::Debug for Chroma {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chroma").field("window", &self.fft.len()).finish()
    }
}

impl Chroma {
    /// A chroma meter for audio at `sample_rate` Hz.
    pub(crate) fn new(sample_rate: f64) -> Self {
        let size = ((WINDOW_S * sample_rate) as usize).next_power_of_two().max(64);
        let bin_hz = sample_rate / size as f64;
        let bins = (1..size / 2)
            .filter(|&b| (LOW_HZ..=HIGH_HZ).contains(&(b as f64 * bin_hz)))
            .map(|b| {
                let semitones = (12.0 * (b as f64 * bin_hz / 440.0).log2()).round() as i64;
                (b, semitones.rem_euclid(PITCH_CLASSES as i64) as u8)
            })
            .collect();
        Chroma {
            ring: vec![0.0; size],
            head: 0,
            fft: WindowedFft::new(size),
            bins,
            value: [0.0; PITCH_CLASSES],
        }
    }

    /// Takes in the next samples.
    pub(crate) fn feed(&mut self, samples: &[f32]) {
        let n = self.ring.len();
        for chunk in samples.chunks(n) {
            let first = chunk.len().min(n - self.head);
            self.ring[self.head..self.head + first].copy_from_slice(&chunk[..first]);
            self.ring[..chunk.len() - first].copy_from_slice(&chunk[first..]);
            self.head = (self.head + chunk.len()) % n;
        }
    }

    /// Recomputes the chroma of the latest window.
    pub(crate) fn update(&mut self) {
        let norm = self.fft.norm();
        let ordered = self.ring[self.head..].iter().chain(&self.ring[..self.head]);
        let spectrum = self.fft.transform(ordered);
        self.value = [0.0; PITCH_CLASSES];
        for &(bin, class) in &self.bins {
            self.value[usize::from(class)] += (LOG_GAIN * norm * spectrum[bin].norm()).ln_1p();
        }
    }

    /// The latest chroma (0 until the first update).
    pub(crate) fn value(&self) -> [f32; PITCH_CLASSES] {
        self.value
    }

    /// Forgets all past audio.
    pub(crate) fn reset(&mut self) {
        self.ring.fill(0.0);
        self.value = [0.0; PITCH_CLASSES];
    }
}

/// Cosine distance (0 alike, 1 unrelated) of two chroma vectors; 0 when either is silent.
pub(crate) fn distance(a: &[f32; PITCH_CLASSES], b: &[f32; PITCH_CLASSES]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norms = a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norms > 1e-9 {
        (1.0 - dot / norms).max(0.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chroma_of(hz: &[f64]) -> [f32; PITCH_CLASSES] {
        let rate = 48_000.0;
        let mut c = Chroma::new(rate);
        let samples: Vec<f32> = (0..8192)
            .map(|i| {
                hz.iter().map(|f| (2.0 * std::f64::consts::PI * f * i as f64 / rate).sin() as f32 * 0.2).sum()
            })
            .collect();
        c.feed(&samples);
        c.update();
        c.value()
    }

    #[test]
    fn a_chord_change_is_far_and_the_same_chord_near() {
        let c_major = chroma_of(&[261.6, 329.6, 392.0]);
        let a_class = 0; // pitch class 0 is A
        assert!(c_major[3] > c_major[a_class], "C (class 3) sounds, A does not: {c_major:?}");
        let f_major = chroma_of(&[349.2, 440.0, 523.3]);
        assert!(distance(&c_major, &f_major) > 4.0 * distance(&c_major, &c_major) + 0.05);
        assert_eq!(distance(&c_major, &[0.0; PITCH_CLASSES]), 0.0);
    }
}
