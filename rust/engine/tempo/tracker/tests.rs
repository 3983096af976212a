//! The tracker on synthetic audio: silence, noise, restarts, meters, sections and the accuracy bar.

use super::*;
use crate::engine::tempo::synth::{evaluate, test_set, ClickTrack, Observation, Tracks};

#[path = "tracks.rs"]
mod tracks;

/// One TouchDesigner frame of 48 kHz audio at 60 fps.
const BLOCK: usize = 800;

#[test]
fn silence_never_locks() {
    let mut t = Tracker::new(48_000.0);
    t.process(&vec![0.0; 48_000 * 5]);
    let r = t.reading();
    assert!(!r.locked);
    assert_eq!(r.tempo, 0.0);
    assert_eq!(r.loudness_db, FLOOR_DB);
    assert!(r.at(0.0).is_none());
}

#[test]
fn noise_alone_does_not_lock() {
    let track = ClickTrack { click: 0.0, noise: 0.3, ..ClickTrack::steady(120.0, 10.0) };
    let e = evaluate(&track, BLOCK, 5.0, Tracker::new);
    assert_eq!(e.locked_frames, 0, "{e:?}");
}

#[test]
fn restart_starts_a_new_epoch_on_the_given_clock() {
    let mut t = Tracker::new(48_000.0);
    let (l, _) = ClickTrack::steady(120.0, 6.0).render();
    t.process(&l);
    assert!(t.reading().period > 0.0);
    t.restart(1_000_000.0);
    let r = t.reading();
    assert_eq!((r.epoch, r.period, r.tempo), (1, 0.0, 0.0));
    t.process(&l);
    let r = t.reading();
    assert!(r.anchor > 1_000_000.0 && r.anchor < 1_000_000.0 + l.len() as f64, "{r:?}");
}

/// A waltz's accents repeat every 3 beats: the tracker says so, and bars ramp over 3 beats.
#[test]
fn three_four_is_told_from_four_four() {
    for (per_bar, bpm) in [(3, 150.0), (4, 120.0)] {
        let track = ClickTrack { beats_per_bar: per_bar, ..ClickTrack::steady(bpm, 20.0) };
        let mut t = Tracker::new(48_000.0);
        let (l, _) = track.render();
        for block in l.chunks(BLOCK) {
            t.process(block);
        }
        let r = t.reading();
        assert!(r.locked, "{r:?}");
        assert_eq!(u32::from(r.beats_per_bar), per_bar, "{r:?}");
    }
}

/// A steady track counts no sections; the sound changing at a bar line starts one.
#[test]
fn a_new_sound_starts_a_section() {
    let steady = ClickTrack::steady(120.0, 24.0);
    let (plain, _) = steady.render();
    let (busy, _) = ClickTrack { offbeat_hats: true, noise: 0.2, ..steady }.render();
    let mut t = Tracker::new(48_000.0);
    // Switch at the 8th bar line after 12 s (beat 24 of the track starts at 0.37 + 12 s).
    let switch = ((0.37 + 12.0) * 48_000.0) as usize;
    for block in plain[..switch].chunks(BLOCK) {
        t.process(block);
    }
    assert_eq!(t.reading().section, 0);
    for block in busy[switch..].chunks(BLOCK) {
        t.process(block);
    }
    assert_eq!(t.reading().section, 1, "{:?}", t.reading());
}

/// The accuracy bar on every synthetic track: tempo within 2 % (octave errors
/// counted separately), beats within 50 ms, locked, from 8 s on (8 s after a tempo change).
#[test]
fn synthetic_set_is_tracked() {
    let mut failures = Vec::new();
    let mut biases = Vec::new();
    for (name, track, judge_from) in test_set() {
        let e = evaluate(&track, BLOCK, judge_from, Tracker::new);
        eprintln!(
            "{name:>22}: tracked {:6.2} BPM (true {:6.2}), tempo error {:5.2} %, octave frames {}, \
             phase worst {:5.1} ms mean {:5.1} ms bias {:+5.1} ms, bar ok {}/{}, locked {}/{}, \
             first lock {:?} s",
            e.tracked_bpm,
            e.true_bpm,
            e.worst_tempo_error * 100.0,
            e.octave_frames,
            e.worst_phase_ms,
            e.mean_phase_ms,
            e.bias_ms,
            e.bar_frames,
            e.frames,
            e.locked_frames,
            e.frames,
            e.first_lock_s
        );
        if !e.passes() {
            failures.push(name);
        }
        biases.push(e.bias_ms);
        // Every click track accents its downbeats: the bar phase should find them.
        if e.bar_frames * 10 < e.frames * 9 {
            failures.push("downbeat");
        }
    }
    assert!(failures.is_empty(), "failed: {failures:?}");
    // The onset timing is calibrated: beats are neither early nor late on average.
    let mean_bias = biases.iter().sum::<f64>() / biases.len() as f64;
    assert!(mean_bias.abs() < 5.0 && biases.iter().all(|b| b.abs() < 15.0), "biases {biases:?}");
}
