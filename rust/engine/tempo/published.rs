//! A single-writer sequence lock over a few words, in safe Rust.
//!
//! The tracker thread publishes a [`TrackerReading`] many times a second and TouchDesigner's main
//! thread reads it every cook. An `Arc` swap would allocate per publish and could leave the last
//! drop (a `free`) to the cook; a mutex could block the cook. A seqlock does neither: the writer
//! bumps a sequence number to odd, stores the words, bumps it to even; a reader retries if the
//! number was odd or changed while it read. Every word is an atomic, so there is no data race and
//! no `unsafe` (the fences follow Boehm, "Can seqlocks get along with programming language memory
//! models?", 2012). A reader that keeps losing the race (the writer was descheduled mid-write)
//! gives up after a few tries and keeps its previous value rather than spin in a cook.

use std::sync::atomic::{fence, AtomicU64, Ordering};

use super::tracker::TrackerReading;

/// Words in a published reading.
const WORDS: usize = 10;
/// Attempts before a reader gives up for this cook.
const READ_TRIES: usize = 16;

/// The shared cell. Exactly one thread may call [`SeqCell::write`].
#[derive(Debug)]
pub struct SeqCell {
    sequence: AtomicU64,
    words: [AtomicU64; WORDS],
}

impl Default for SeqCell {
    fn default() -> Self {
        let cell = SeqCell { sequence: AtomicU64::new(0), words: Default::default() };
        cell.write(&TrackerReading::default());
        cell
    }
}

impl SeqCell {
    /// Publishes `reading`. Only one thread (the tracker's) may write.
    pub fn write(&self, reading: &TrackerReading) {
        let words = to_words(reading);
        let s = self.sequence.load(Ordering::Relaxed);
        self.sequence.store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        for (slot, w) in self.words.iter().zip(words) {
            slot.store(w, Ordering::Relaxed);
        }
        self.sequence.store(s.wrapping_add(2), Ordering::Release);
    }

    /// The latest complete reading, or `None` if the writer kept interfering. Wait-free in
    /// practice, never blocks, never allocates.
    pub fn read(&self) -> Option<TrackerReading> {
        for _ in 0..READ_TRIES {
            let before = self.sequence.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let mut words = [0u64; WORDS];
            for (w, slot) in words.iter_mut().zip(&self.words) {
                *w = slot.load(Ordering::Relaxed);
            }
            fence(Ordering::Acquire);
            if self.sequence.load(Ordering::Relaxed) == before {
                return Some(from_words(&words));
            }
        }
        None
    }
}

fn to_words(r: &TrackerReading) -> [u64; WORDS] {
    [
        r.tempo.to_bits(),
        r.confidence.to_bits(),
        u64::from(r.locked),
        r.anchor.to_bits(),
        r.period.to_bits(),
        r.anchor_beat as u64,
        // Bar offset, beats per bar and section share a word (8 + 8 + 32 bits).
        u64::from(r.bar_offset) | u64::from(r.beats_per_bar) << 8 | u64::from(r.section) << 32,
        r.onset.to_bits(),
        r.loudness_db.to_bits(),
        r.epoch,
    ]
}

fn from_words(w: &[u64; WORDS]) -> TrackerReading {
    TrackerReading {
        tempo: f64::from_bits(w[0]),
        confidence: f64::from_bits(w[1]),
        locked: w[2] != 0,
        anchor: f64::from_bits(w[3]),
        period: f64::from_bits(w[4]),
        anchor_beat: w[5] as i64,
        bar_offset: w[6] as u8,
        beats_per_bar: (w[6] >> 8) as u8,
        section: (w[6] >> 32) as u32,
        onset: f64::from_bits(w[7]),
        loudness_db: f64::from_bits(w[8]),
        epoch: w[9],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn round_trips_every_field() {
        let r = TrackerReading {
            tempo: 128.5,
            confidence: 0.7,
            locked: true,
            anchor: 123_456.25,
            period: 22_500.0,
            anchor_beat: -3,
            bar_offset: 2,
            beats_per_bar: 3,
            section: 5,
            onset: 0.5,
            loudness_db: -12.0,
            epoch: 9,
        };
        let cell = SeqCell::default();
        assert_eq!(cell.read(), Some(TrackerReading::default()));
        cell.write(&r);
        assert_eq!(cell.read(), Some(r));
    }

    /// A reader never sees a mix of two writes.
    #[test]
    fn readers_never_see_torn_values() {
        use std::sync::atomic::{AtomicBool, Ordering};
        // The writer keeps writing until the reader has checked enough values: on a loaded
        // machine a fixed number of writes can end before the reader's first look.
        let cell = Arc::new(SeqCell::default());
        let done = Arc::new(AtomicBool::new(false));
        let writer = {
            let (cell, done) = (Arc::clone(&cell), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !done.load(Ordering::Relaxed) {
                    let v = i as f64;
                    let r = TrackerReading { tempo: v, anchor: v, period: v, epoch: i, ..Default::default() };
                    cell.write(&r);
                    i += 1;
                }
            })
        };
        let mut seen = 0;
        while seen < 20_000 {
            if let Some(r) = cell.read() {
                assert!(r.tempo == r.anchor && r.anchor == r.period && r.epoch as f64 == r.tempo);
                seen += 1;
            }
        }
        done.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        assert!(seen > 0);
    }
}
