//! The tracker as the test signals' `synth::Tracks`: one impl for the unit tests and the tempo
//! benchmark, which include this file beside `synth.rs` (neither ships in the plugin). The
//! including module brings `Tracker`, `Tracks` and `Observation` into scope.

use super::{Observation, Tracker, Tracks};

impl Tracks for Tracker {
    fn process(&mut self, samples: &[f32]) {
        Tracker::process(self, samples);
    }

    fn observe(&self, clock: f64) -> Observation {
        let r = self.reading();
        Observation {
            locked: r.locked,
            tempo: r.tempo,
            beats: r.beats_at(clock),
            bar_phase: r.at(clock).map(|point| point.bar_phase),
        }
    }
}
