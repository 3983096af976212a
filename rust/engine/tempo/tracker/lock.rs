//! The phase-locked loop that keeps the published beat grid continuous, and the lock it reports.

use super::{Core, Grid, LOCK_UPDATES, MIN_CONFIDENCE, PLL_CAPTURE, PLL_GAIN, PLL_SNAP_MISSES};

impl Core {
    /// The lock, with hysteresis: it takes a stable tempo, a confident comb and a phase
    /// measurement that agrees to lock, but once locked only a new tempo, a snapped grid (which
    /// resets the stable count) or a comb below half the confidence unlocks. Humanized or
    /// syncopated playing makes single phase measurements stray; the loop rides them out, and so
    /// should the `beat` channel.
    pub(super) fn refresh_lock(&mut self) {
        let Some(grid) = self.grid else {
            self.locked = false;
            return;
        };
        let floor = if self.locked { 0.5 * MIN_CONFIDENCE } else { MIN_CONFIDENCE };
        let agrees = self.locked || self.last_error.abs() < PLL_CAPTURE * grid.period;
        self.locked = self.stable_updates >= LOCK_UPDATES && self.confidence >= floor && agrees;
    }

    /// Pulls the published grid towards a measured beat at `measured` (clock) with `period`
    /// samples per beat, keeping beat numbers continuous.
    pub(super) fn lock(&mut self, measured: f64, period: f64, snap: bool) {
        let Some(grid) = &mut self.grid else {
            self.grid = Some(Grid { anchor: measured, period, anchor_beat: 0 });
            self.last_error = 0.0;
            return;
        };
        let n = ((measured - grid.anchor) / grid.period).round();
        let predicted = grid.anchor + n * grid.period;
        let error = measured - predicted;
        grid.anchor = predicted;
        grid.anchor_beat += n as i64;
        grid.period = period;
        let mut snapped = snap;
        if snap {
            grid.anchor += error;
            self.misses = 0;
        } else if error.abs() < PLL_CAPTURE * period {
            grid.anchor += PLL_GAIN * error;
            self.misses = 0;
        } else {
            self.misses += 1;
            if self.misses >= PLL_SNAP_MISSES {
                // The tempo is still the stable one: only the phase moves, and the lock stays
                // (the `beat` channel skips or repeats nothing: beat numbers stay continuous).
                grid.anchor += error;
                self.misses = 0;
                snapped = true;
            }
        }
        self.last_error = error;
        if snapped {
            // Beat numbers may have slipped against the bars: learn the downbeat afresh.
            self.bar.forget_accents();
        }
    }
}
