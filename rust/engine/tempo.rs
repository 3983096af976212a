//! Beat and bar phase from a tempo and a position.

use super::playback::Features;

/// Beat and bar phase (each 0–1) at `position_s` seconds into an item with these features.
///
/// The phase is a pure function of the position, so it is continuous while the position is and
/// every reader (CHOP, DAT, CLI) agrees on it.
pub fn phases(position_s: f64, features: &Features) -> (f64, f64) {
    if features.tempo <= 0.0 || !features.tempo.is_finite() {
        return (0.0, 0.0);
    }
    let beats = (position_s - features.beat_offset) * features.tempo / 60.0;
    let per_bar = f64::from(features.time_signature.max(1));
    (beats.rem_euclid(1.0), (beats / per_bar).rem_euclid(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_beat_per_period() {
        let f = Features { tempo: 120.0, time_signature: 4, ..Features::default() };
        let (b, bar) = phases(0.25, &f);
        assert!((b - 0.5).abs() < 1e-9);
        assert!((bar - 0.125).abs() < 1e-9);
        assert_eq!(phases(10.0, &Features::default()), (0.0, 0.0));
    }
}
