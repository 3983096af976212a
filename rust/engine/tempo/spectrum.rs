//! A Hann-windowed forward FFT of one fixed size: what the onset detector and the chroma meter
//! both take of the latest samples. Buffers are allocated in [`WindowedFft::new`];
//! [`WindowedFft::transform`] allocates nothing.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

pub(crate) struct WindowedFft {
    window: Vec<f32>,
    /// Scales a bin magnitude so a full-scale sine reads about 1.
    norm: f32,
    fft: Arc<dyn Fft<f32>>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

impl WindowedFft {
    pub(crate) fn new(size: usize) -> Self {
        let window: Vec<f32> = (0..size)
            .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / size as f64).cos()) as f32)
            .collect();
        let norm = 2.0 / window.iter().sum::<f32>();
        let fft = FftPlanner::new().plan_fft_forward(size);
        let scratch = vec![Complex::default(); fft.get_inplace_scratch_len()];
        WindowedFft { window, norm, fft, spectrum: vec![Complex::default(); size], scratch }
    }

    /// Samples per transform.
    pub(crate) fn len(&self) -> usize {
        self.window.len()
    }

    /// What a bin's magnitude is multiplied by so a full-scale sine reads about 1.
    pub(crate) fn norm(&self) -> f32 {
        self.norm
    }

    /// Windows the latest [`WindowedFft::len`] samples (oldest first) and transforms them.
    pub(crate) fn transform<'a>(&mut self, samples: impl IntoIterator<Item = &'a f32>) -> &[Complex<f32>] {
        for ((c, &s), &w) in self.spectrum.iter_mut().zip(samples).zip(&self.window) {
            *c = Complex::new(s * w, 0.0);
        }
        self.fft.process_with_scratch(&mut self.spectrum, &mut self.scratch);
        &self.spectrum
    }
}
