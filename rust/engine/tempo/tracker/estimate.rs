//! Tempo and phase from the onset history: the comb-filtered autocorrelation picks the beat
//! period, and a decaying comb of pulses slid over the recent onsets finds where the last beat was.

use super::{
    ring_back, Core, HALF_BEAT_REACH, HARMONICS, PERIOD_GAIN, PERIOD_STEP, PHASE_DECAY, PHASE_STEP,
    PHASE_WINDOW_S, PRIOR_OCTAVES, SAME_TEMPO, SWITCH_VOTES,
};

impl Core {
    /// The best beat period in frames and the comb's confidence.
    pub(super) fn estimate_period(&mut self) -> Option<(f64, f64)> {
        let w = self.len;
        for k in 0..w {
            self.series[w - 1 - k] = self.history_back(k as f64) as f32;
        }
        let series = &mut self.series[..w];
        let mean = series.iter().sum::<f32>() / w as f32;
        series.iter_mut().for_each(|x| *x -= mean);
        let max_lag = self.acf.len().min(w - 1);
        for lag in 0..max_lag {
            let dot: f32 = series[lag..].iter().zip(series.iter()).map(|(a, b)| a * b).sum();
            self.acf[lag] = dot / w as f32;
        }
        let energy = f64::from(self.acf[0]);
        if energy <= 1e-12 {
            return None;
        }
        // Onsets land on a 10 ms grid, so a beat of 34.5 frames shows up half at lag 34 and half
        // at 35, while its double (69) lands whole on one lag. Summing each lag with its
        // neighbours makes a split peak weigh as much as a whole one, so no tempo wins merely by
        // being a whole number of frames.
        let mut previous = self.acf[0];
        for lag in 1..max_lag.saturating_sub(1) {
            let here = self.acf[lag];
            self.acf[lag] = previous + here + self.acf[lag + 1];
            previous = here;
        }
        let energy = 3.0 * energy;
        // As many harmonics as the history holds for the slowest candidate, the same for all.
        let harmonics = (((max_lag - 1) as f64 / self.max_period) as usize).clamp(1, HARMONICS);
        let acf = &self.acf[..max_lag];
        let lookup = |lag: f64| {
            let i = lag.floor() as usize;
            let frac = lag - i as f64;
            match (acf.get(i), acf.get(i + 1)) {
                (Some(&a), Some(&b)) => f64::from(a) * (1.0 - frac) + f64::from(b) * frac,
                (Some(&a), None) => f64::from(a),
                _ => 0.0,
            }
        };
        let prior_bpm = self.prior_bpm();
        let mut best = (0usize, f64::NEG_INFINITY);
        for (i, score) in self.scores.iter_mut().enumerate() {
            let period = self.min_period + i as f64 * PERIOD_STEP;
            let comb: f64 = (1..=harmonics).map(|k| lookup(k as f64 * period)).sum();
            let bpm = 60.0 * self.frame_rate / period;
            let octaves = (bpm / prior_bpm).log2() / PRIOR_OCTAVES;
            *score = comb * (-0.5 * octaves * octaves).exp();
            if *score > best.1 {
                best = (i, *score);
            }
        }
        let (i, _) = best;
        let offset = parabola_peak(&self.scores, i, false);
        let period =
            (self.min_period + (i as f64 + offset) * PERIOD_STEP).clamp(self.min_period, self.max_period);
        let raw: f64 = (1..=harmonics).map(|k| lookup(k as f64 * period)).sum();
        Some((period, raw / (harmonics as f64 * energy)))
    }

    /// Applies hysteresis to a new period estimate; returns whether the tempo was replaced.
    pub(super) fn choose_period(&mut self, period: f64) -> bool {
        let same = |a: f64, b: f64| (a - b).abs() / b < SAME_TEMPO;
        let Some(current) = self.period_frames else {
            self.period_frames = Some(period);
            self.stable_updates = 0;
            return true;
        };
        if same(period, current) {
            self.period_frames = Some(current + (period - current) * PERIOD_GAIN);
            self.stable_updates = self.stable_updates.saturating_add(1);
            self.challenger = None;
            return false;
        }
        let votes = match self.challenger {
            Some((p, v)) if same(period, p) => v + 1,
            _ => 1,
        };
        self.challenger = Some((period, votes));
        let octave = same(period, 2.0 * current) || same(2.0 * period, current);
        let needed = if octave { 2 * SWITCH_VOTES } else { SWITCH_VOTES };
        if votes >= needed {
            self.period_frames = Some(period);
            self.stable_updates = 0;
            self.challenger = None;
            return true;
        }
        false
    }

    /// How many frames before the newest the last beat was, for a beat period in frames.
    ///
    /// The log-compressed onsets time the beat; whether it is that phase or the one half a beat
    /// away is settled by the loud onsets. Off-beat open hats and a bass line on the "and" (house)
    /// touch as many bands as a kick, so the log flux cannot tell them apart; the kick is far
    /// louder, so the barely compressed flux can.
    pub(super) fn estimate_phase(&mut self, period: f64) -> Option<f64> {
        let span = (PHASE_WINDOW_S * self.frame_rate).min((self.len - 1) as f64);
        let beats = ((span / period).floor() as usize).max(1);
        let steps = ((period / PHASE_STEP).ceil() as usize).min(self.phase_scores.len());
        let comb = |ring: &[f32], back: f64| {
            let mut weight = 1.0;
            let mut score = 0.0;
            for k in 0..beats {
                score += weight * ring_back(ring, self.head, self.len, back + k as f64 * period);
                weight *= PHASE_DECAY;
            }
            score
        };
        for i in 0..steps {
            let back = i as f64 * PHASE_STEP;
            self.phase_scores[i] = comb(&self.history, back);
            self.loud_scores[i] = comb(&self.loud_history, back);
        }
        let scores = &self.phase_scores[..steps];
        let mut best = argmax(scores, 0..steps)?;
        if scores[best] <= 0.0 {
            return None;
        }
        let reach = (HALF_BEAT_REACH * steps as f64).round() as usize;
        let around = |centre: usize| centre + steps - reach..=centre + steps + reach;
        let loud_near = |centre: usize| {
            around(centre).map(|i| self.loud_scores[i % steps]).fold(f64::NEG_INFINITY, f64::max)
        };
        let opposite = best + steps / 2;
        if loud_near(opposite) > loud_near(best) {
            best = argmax(scores, around(opposite)).map_or(best, |i| i % steps);
        }
        let offset = parabola_peak(scores, best, true);
        Some(((best as f64 + offset) * PHASE_STEP).rem_euclid(period))
    }
}

/// Where over `indices` (taken modulo its length) `values` is largest.
fn argmax(values: &[f64], indices: impl Iterator<Item = usize>) -> Option<usize> {
    let n = values.len();
    indices.filter(|_| n > 0).max_by(|&a, &b| values[a % n].total_cmp(&values[b % n]))
}

/// Sub-step position of the peak at `i` of `values` by fitting a parabola through it and its
/// neighbours (wrapping around when `circular`), in steps, within ±0.5.
fn parabola_peak(values: &[f64], i: usize, circular: bool) -> f64 {
    let n = values.len();
    if n < 3 {
        return 0.0;
    }
    let (left, right) = match (i, circular) {
        (0, false) => return 0.0,
        (i, false) if i + 1 >= n => return 0.0,
        (i, _) => (values[(i + n - 1) % n], values[(i + 1) % n]),
    };
    let centre = values[i];
    let denominator = left - 2.0 * centre + right;
    if denominator >= 0.0 {
        return 0.0;
    }
    (0.5 * (left - right) / denominator).clamp(-0.5, 0.5)
}
