//! Beat-grid math: where in the beat, bar and section a playback position falls.
//!
//! A grid is either regular (a tempo and the time of a downbeat, as audio-features give) or a
//! list of beat, bar and section start times (as audio-analysis gives). Both answer the same
//! question with a [`GridPoint`], a pure function of the position, so every reader agrees and the
//! phase is continuous whenever the position is.

use std::cell::Cell;
use std::cmp::Ordering;

/// Where a position falls in the music.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GridPoint {
    /// Number of the beat that started last (negative before the first beat). It changes exactly
    /// when a beat starts; readers turn those changes into the `beat` channel.
    pub beat: i64,
    /// 0 at the start of a beat, rising to 1 at the start of the next.
    pub beat_phase: f64,
    /// 0 at the start of a bar, rising to 1 at the start of the next.
    pub bar_phase: f64,
    /// Index of the section the position is in (0 when the grid has no sections).
    pub section: u32,
}

/// A grid with one tempo throughout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegularGrid {
    /// Beats per minute; a grid with no finite positive tempo has no beats.
    pub tempo: f64,
    /// Time of a downbeat in seconds (beat 0 starts here).
    pub offset_s: f64,
    pub beats_per_bar: u32,
}

impl RegularGrid {
    /// The grid point at `position_s`, or `None` when the tempo is unusable.
    pub fn at(&self, position_s: f64) -> Option<GridPoint> {
        if !(self.tempo.is_finite() && self.tempo > 0.0 && position_s.is_finite()) {
            return None;
        }
        let beats = (position_s - self.offset_s) * self.tempo / 60.0;
        Some(point_from_beats(beats, self.beats_per_bar, 0))
    }
}

/// Splits a continuous beat count into a grid point. The bar phase is derived from the integer
/// beat and the beat phase, so it can never disagree with them.
pub fn point_from_beats(beats: f64, beats_per_bar: u32, section: u32) -> GridPoint {
    let whole = beats.floor();
    let beat_phase = clamp_phase(beats - whole);
    let per_bar = i64::from(beats_per_bar.max(1));
    let beat = whole as i64;
    let in_bar = beat.rem_euclid(per_bar) as f64;
    GridPoint { beat, beat_phase, bar_phase: clamp_phase((in_bar + beat_phase) / per_bar as f64), section }
}

/// Rounding can give exactly 1.0 from a value just below it; a phase stays in `[0, 1)`.
fn clamp_phase(p: f64) -> f64 {
    if p >= 1.0 {
        f64::from_bits(1.0f64.to_bits() - 1)
    } else if p > 0.0 {
        p
    } else {
        0.0
    }
}

/// One segment of an audio analysis: a short stretch of roughly uniform sound.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Segment {
    pub start: f64,
    /// Loudness at the start of the segment, in dB.
    pub loudness_start: f64,
    /// Peak loudness within the segment, in dB.
    pub loudness_max: f64,
    /// Offset of the peak from the segment start, in seconds.
    pub loudness_max_time: f64,
}

/// The timed structure of one track: start times in seconds, each list strictly increasing.
///
/// Built only through [`Analysis::new`], which drops unusable values, so the lookups below never
/// see NaN or a list out of order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Analysis {
    beats: Vec<f64>,
    bars: Vec<f64>,
    sections: Vec<f64>,
    segments: Vec<Segment>,
}

/// Starts closer than this are one start (Spotify sometimes repeats a time).
const MIN_SPACING_S: f64 = 0.001;

impl Analysis {
    /// Sanitises start times: non-finite values are dropped, the rest sorted and de-duplicated.
    pub fn new(beats: Vec<f64>, bars: Vec<f64>, sections: Vec<f64>, segments: Vec<Segment>) -> Self {
        let mut segments: Vec<Segment> = segments
            .into_iter()
            .filter(|s| {
                s.start.is_finite()
                    && s.loudness_start.is_finite()
                    && s.loudness_max.is_finite()
                    && s.loudness_max_time.is_finite()
            })
            .collect();
        segments.sort_by(|a, b| a.start.partial_cmp(&b.start).unwrap_or(Ordering::Equal));
        segments.dedup_by(|b, a| b.start - a.start < MIN_SPACING_S);
        Analysis { beats: clean(beats), bars: clean(bars), sections: clean(sections), segments }
    }

    pub fn beats(&self) -> &[f64] {
        &self.beats
    }

    pub fn bars(&self) -> &[f64] {
        &self.bars
    }

    pub fn sections(&self) -> &[f64] {
        &self.sections
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether there are enough beats to follow (two give a period).
    pub fn has_beats(&self) -> bool {
        self.beats.len() >= 2
    }

    /// The grid point at `position_s`. Before the first and after the last beat the nearest
    /// beat period is extrapolated, so phase keeps moving through intros and outros. Without bars,
    /// bars are counted as `beats_per_bar` beats from the first beat.
    pub fn at(&self, position_s: f64, beats_per_bar: u32) -> Option<GridPoint> {
        self.at_from(position_s, beats_per_bar, &Cursor::default())
    }

    /// [`Analysis::at`], starting each search where `cursor` says the last one ended.
    pub fn at_from(&self, position_s: f64, beats_per_bar: u32, cursor: &Cursor) -> Option<GridPoint> {
        if !position_s.is_finite() {
            return None;
        }
        let beats = continuous_index(&self.beats, position_s, &cursor.beat)?;
        let section = self.section_from(position_s, cursor);
        let mut point = point_from_beats(beats, beats_per_bar, section);
        if let Some(bars) = continuous_index(&self.bars, position_s, &cursor.bar) {
            point.bar_phase = clamp_phase(bars - bars.floor());
        }
        Some(point)
    }

    /// Index of the section containing `position_s` (0 before the first or without sections).
    pub fn section_at(&self, position_s: f64) -> u32 {
        self.section_from(position_s, &Cursor::default())
    }

    fn section_from(&self, position_s: f64, cursor: &Cursor) -> u32 {
        locate(&self.sections, position_s, |&s| s, &cursor.section).saturating_sub(1) as u32
    }

    /// Onset strength (0–1, a decaying pulse at each segment start, scaled by how sharply the
    /// segment rises) and loudness in dB at `position_s`, from the segments.
    pub fn onset_and_loudness(&self, position_s: f64) -> Option<(f64, f64)> {
        self.onset_and_loudness_from(position_s, &Cursor::default())
    }

    /// [`Analysis::onset_and_loudness`], starting the search where `cursor` says.
    pub fn onset_and_loudness_from(&self, position_s: f64, cursor: &Cursor) -> Option<(f64, f64)> {
        let first = self.segments.first()?;
        let i = locate(&self.segments, position_s, |s| s.start, &cursor.segment);
        let Some(seg) = i.checked_sub(1).map(|k| &self.segments[k]) else {
            return Some((0.0, first.loudness_start));
        };
        let into = position_s - seg.start;
        let rise = ((seg.loudness_max - seg.loudness_start) / ONSET_FULL_RISE_DB).clamp(0.0, 1.0);
        let onset = rise * (-into / ONSET_DECAY_S).exp();
        let peak_at = seg.loudness_max_time.max(0.0);
        let loudness = if into < peak_at {
            lerp(seg.loudness_start, seg.loudness_max, into / peak_at)
        } else {
            match self.segments.get(i) {
                Some(next) if next.start - seg.start > peak_at => {
                    let t = (into - peak_at) / (next.start - seg.start - peak_at);
                    lerp(seg.loudness_max, next.loudness_start, t)
                }
                _ => seg.loudness_max,
            }
        };
        Some((onset, loudness))
    }
}

/// Where a reader's last lookups landed in each list of an [`Analysis`].
///
/// Playback moves forward a frame at a time, so the next answer is almost always the same index
/// or the one after: checking those two first makes a cook's lookups a few comparisons instead of
/// four binary searches. Only a hint: any value (another track's, a seek's) gives the same
/// answers, just found by the binary search.
#[derive(Debug, Clone, Default)]
pub struct Cursor {
    beat: Cell<u32>,
    bar: Cell<u32>,
    section: Cell<u32>,
    segment: Cell<u32>,
}

/// How many of `items` start at or before `t` (`partition_point(start <= t)`), trying `hint` and
/// the index after it before searching; leaves the answer in `hint`.
fn locate<T>(items: &[T], t: f64, start: impl Fn(&T) -> f64, hint: &Cell<u32>) -> usize {
    let n = items.len();
    let fits = |i: usize| (i == 0 || start(&items[i - 1]) <= t) && (i == n || start(&items[i]) > t);
    let h = (hint.get() as usize).min(n);
    let i = if fits(h) {
        h
    } else if h < n && fits(h + 1) {
        h + 1
    } else {
        items.partition_point(|s| start(s) <= t)
    };
    hint.set(u32::try_from(i).unwrap_or(u32::MAX));
    i
}

/// A segment whose loudness rises by this much counts as a full onset.
const ONSET_FULL_RISE_DB: f64 = 24.0;
/// How fast the onset pulse of a segment fades.
const ONSET_DECAY_S: f64 = 0.12;

fn lerp(a: f64, b: f64, t: f64) -> f64 {
    a + (b - a) * t.clamp(0.0, 1.0)
}

fn clean(mut starts: Vec<f64>) -> Vec<f64> {
    starts.retain(|t| t.is_finite());
    starts.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
    starts.dedup_by(|b, a| *b - *a < MIN_SPACING_S);
    starts
}

/// How many starts of `starts` lie before `t`, counted continuously: `k + fraction` between start
/// `k` and start `k + 1`, extrapolated with the first or last interval outside the list.
fn continuous_index(starts: &[f64], t: f64, hint: &Cell<u32>) -> Option<f64> {
    let n = starts.len();
    if n < 2 {
        return None;
    }
    let i = locate(starts, t, |&s| s, hint);
    let (k, a, b) = match i {
        0 => (0, starts[0], starts[1]),
        i if i >= n => (n - 1, starts[n - 1], starts[n - 1] + (starts[n - 1] - starts[n - 2])),
        i => (i - 1, starts[i - 1], starts[i]),
    };
    Some(k as f64 + (t - a) / (b - a))
}

/// The per-reader state that turns beat numbers into the one-frame `beat` pulse.
///
/// Lives in each reader (like `track_changed`), because what counts as "new" depends on what that
/// reader saw last. `key` identifies the grid the beat numbers belong to (source and track or
/// tracker epoch); numbers from different grids are never compared.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BeatEdge {
    last: Option<(u64, i64)>,
}

impl BeatEdge {
    /// Whether a beat started since the last call. Exactly one `true` per beat number, however
    /// fast or slow the reader runs; a jump back (a seek) re-arms without firing, and a small
    /// wobble back (an audio tracker nudging its grid) does not fire the same beat twice.
    pub fn update(&mut self, key: u64, beat: Option<i64>) -> bool {
        let Some(beat) = beat else {
            self.last = None;
            return false;
        };
        match self.last {
            Some((k, last)) if k == key => {
                if beat > last {
                    self.last = Some((key, beat));
                    true
                } else {
                    if beat < last - 1 {
                        self.last = Some((key, beat));
                    }
                    false
                }
            }
            _ => {
                self.last = Some((key, beat));
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn regular_grid_basics() {
        let g = RegularGrid { tempo: 120.0, offset_s: 0.0, beats_per_bar: 4 };
        let p = g.at(0.25).unwrap();
        assert!((p.beat_phase - 0.5).abs() < 1e-9);
        assert!((p.bar_phase - 0.125).abs() < 1e-9);
        assert_eq!(p.beat, 0);
        assert_eq!(g.at(-0.25).unwrap().beat, -1);
        assert!(RegularGrid { tempo: 0.0, ..g }.at(1.0).is_none());
        assert!(RegularGrid { tempo: f64::NAN, ..g }.at(1.0).is_none());
    }

    #[test]
    fn analysis_interpolates_and_extrapolates() {
        let a =
            Analysis::new(vec![1.0, 1.5, 2.0, 2.6, f64::NAN, 2.0], vec![1.0, 3.0], vec![0.0, 2.2], vec![]);
        assert_eq!(a.beats(), &[1.0, 1.5, 2.0, 2.6]);
        let p = a.at(1.25, 4).unwrap();
        assert_eq!(p.beat, 0);
        assert!((p.beat_phase - 0.5).abs() < 1e-9);
        assert!((p.bar_phase - 0.125).abs() < 1e-9);
        // Before the first beat: the first interval is extrapolated backwards.
        let p = a.at(0.75, 4).unwrap();
        assert_eq!(p.beat, -1);
        assert!((p.beat_phase - 0.5).abs() < 1e-9);
        // After the last beat: the last interval (0.6 s) goes on.
        let p = a.at(2.9, 4).unwrap();
        assert_eq!(p.beat, 3);
        assert!((p.beat_phase - 0.5).abs() < 1e-9);
        assert_eq!(a.section_at(1.0), 0);
        assert_eq!(a.section_at(2.3), 1);
        assert!(Analysis::new(vec![1.0], vec![], vec![], vec![]).at(1.0, 4).is_none());
    }

    #[test]
    fn segments_give_onset_pulses_and_loudness() {
        let seg =
            |start, lo, hi| Segment { start, loudness_start: lo, loudness_max: hi, loudness_max_time: 0.1 };
        let a = Analysis::new(vec![], vec![], vec![], vec![seg(0.0, -30.0, -6.0), seg(1.0, -20.0, -8.0)]);
        let (onset, loud) = a.onset_and_loudness(0.0).unwrap();
        assert!((onset - 1.0).abs() < 1e-9);
        assert!((loud + 30.0).abs() < 1e-9);
        let (onset, loud) = a.onset_and_loudness(0.1).unwrap();
        assert!(onset < 1.0);
        assert!((loud + 6.0).abs() < 1e-9);
        let (_, loud) = a.onset_and_loudness(0.99).unwrap();
        assert!(loud < -19.0);
        assert!(Analysis::default().onset_and_loudness(1.0).is_none());
    }

    #[test]
    fn beat_edge_fires_once_per_beat_and_rearms_on_seek() {
        let mut e = BeatEdge::default();
        assert!(!e.update(1, Some(3)), "the first sight of a grid is not a new beat");
        assert!(!e.update(1, Some(3)));
        assert!(e.update(1, Some(4)));
        assert!(!e.update(1, Some(3)), "a wobble back does not fire");
        assert!(!e.update(1, Some(4)), "nor does returning to a beat already fired");
        assert!(e.update(1, Some(6)), "a slow reader still sees one pulse");
        assert!(!e.update(1, Some(0)), "a seek back re-arms without firing");
        assert!(e.update(1, Some(1)));
        assert!(!e.update(2, Some(2)), "another grid starts afresh");
        assert!(!e.update(2, None));
        assert!(!e.update(2, Some(3)));
    }

    /// Runs a reader at `fps` over `seconds` from `start` and checks what every reader relies on:
    /// the phase stays in range, is monotonic between beats and moves at `rate` (beats per second
    /// at a time), and the `beat` pulse fires exactly once per beat, on the first frame at or after
    /// one of `beat_starts`.
    fn check_reader(
        at: impl Fn(f64) -> GridPoint,
        start: f64,
        seconds: f64,
        fps: f64,
        beat_starts: &[f64],
        rate: impl Fn(f64) -> f64,
    ) -> Result<(), TestCaseError> {
        let dt = 1.0 / fps;
        let frames = (seconds * fps) as usize;
        let mut edge = BeatEdge::default();
        let first = at(start);
        let mut prev = first;
        edge.update(0, Some(prev.beat));
        let mut fired = Vec::new();
        for f in 1..=frames {
            let t = start + f as f64 * dt;
            let p = at(t);
            prop_assert!((0.0..1.0).contains(&p.beat_phase), "phase {} out of range", p.beat_phase);
            prop_assert!((0.0..1.0).contains(&p.bar_phase));
            if p.beat == prev.beat {
                // Within one beat: monotonic, and moving at the grid's rate.
                let moved = p.beat_phase - prev.beat_phase;
                let expected = dt * rate(t - dt / 2.0);
                prop_assert!(moved >= 0.0, "phase went back at t={}", t);
                prop_assert!(
                    (moved - expected).abs() < 1e-6,
                    "rate {} vs {} at t={}",
                    moved / dt,
                    expected / dt,
                    t
                );
            } else {
                // Across a start: one beat further, and the unwrapped phase moved on by no more
                // than the faster of the two beats allows (no jump).
                prop_assert_eq!(p.beat, prev.beat + 1, "skipped a beat at t={}", t);
                let moved = (p.beat_phase + 1.0) - prev.beat_phase;
                let most = dt * rate(t).max(rate(t - dt));
                prop_assert!(moved > 0.0 && moved <= most + 1e-6, "jump of {} at t={}", moved, t);
            }
            if edge.update(0, Some(p.beat)) {
                fired.push(t);
            }
            prev = p;
        }
        prop_assert_eq!(fired.len() as i64, prev.beat - first.beat, "one pulse per beat");
        for t in fired {
            let ok = beat_starts.iter().any(|&b| b <= t + 1e-9 && t - b < dt + 1e-9);
            prop_assert!(ok, "pulse at {} is not on the first frame of a beat", t);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn a_cursor_only_speeds_the_search_up(
            starts in proptest::collection::vec(0.0f64..300.0, 0..60),
            times in proptest::collection::vec(-10.0f64..320.0, 1..40),
            hint in 0u32..80,
        ) {
            let a = Analysis::new(starts.clone(), starts.clone(), starts.clone(), Vec::new());
            let cursor = Cursor::default();
            cursor.beat.set(hint);
            cursor.section.set(hint);
            for t in times {
                prop_assert_eq!(a.at_from(t, 4, &cursor), a.at(t, 4));
                prop_assert_eq!(a.section_from(t, &cursor), a.section_at(t));
            }
        }

        #[test]
        fn regular_grid_reader_properties(
            tempo in 20.0f64..300.0,
            offset in -2.0f64..2.0,
            fps in 10.0f64..240.0,
            start in 0.0f64..100.0,
            per_bar in 1u32..8,
        ) {
            let g = RegularGrid { tempo, offset_s: offset, beats_per_bar: per_bar };
            let seconds = 20.0;
            let period = 60.0 / tempo;
            let k0 = ((start - offset) / period).floor() as i64 - 1;
            let k1 = ((start + seconds - offset) / period).ceil() as i64 + 1;
            let starts: Vec<f64> = (k0..=k1).map(|k| offset + k as f64 * period).collect();
            check_reader(|t| g.at(t).unwrap(), start, seconds, fps, &starts, |_| tempo / 60.0)?;
            // The whole run advanced by tempo × time.
            let a = g.at(start).unwrap();
            let b = g.at(start + seconds).unwrap();
            let beats = (b.beat - a.beat) as f64 + b.beat_phase - a.beat_phase;
            prop_assert!((beats - seconds * tempo / 60.0).abs() < 1e-6);
        }

        #[test]
        fn analysis_reader_properties(
            intervals in proptest::collection::vec(0.2f64..3.0, 4..40),
            first in 0.0f64..2.0,
            fps in 10.0f64..240.0,
        ) {
            let mut beats = vec![first];
            for i in &intervals {
                let next = beats[beats.len() - 1] + i;
                beats.push(next);
            }
            let a = Analysis::new(beats.clone(), vec![], vec![], vec![]);
            let n = beats.len();
            // The rate of the beat containing `t`, extrapolated like the grid does.
            let rate = |t: f64| {
                let (x, y) = match beats.partition_point(|&s| s <= t) {
                    0 => (beats[0], beats[1]),
                    i if i >= n => (beats[n - 2], beats[n - 1]),
                    i => (beats[i - 1], beats[i]),
                };
                1.0 / (y - x)
            };
            let first_interval = beats[1] - beats[0];
            let mut starts: Vec<f64> = (1..12).rev().map(|k| beats[0] - k as f64 * first_interval).collect();
            starts.extend(&beats);
            let last_interval = beats[n - 1] - beats[n - 2];
            let after = (2.0 / last_interval).ceil() as usize + 2;
            starts.extend((1..=after).map(|k| beats[n - 1] + k as f64 * last_interval));
            let end = beats[n - 1] + 2.0;
            check_reader(|t| a.at(t, 4).unwrap(), 0.0, end, fps, &starts, rate)?;
        }
    }
}
