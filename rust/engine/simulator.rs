//! A deterministic made-up player: the demo's data source and the tests' ground truth.
//!
//! Playback is a pure function of simulated time: a [`Timeline`] of segments (play, pause, gap)
//! generated from a seed. The same seed always plays the same tracks in the same order with the
//! same pauses, skips and gaps, so tests can predict every frame.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::art::{self, Cover};
use super::snapshot::{EngineState, Lists};
use super::source::{Source, Update};
use super::tempo::Analysis;
use crate::model::phase::Segment as AnalysisSegment;
use crate::model::playback::{Device, Features, Item, ItemKind, Playback};
use crate::model::{BoxFuture, Pulse, SimConfig};

/// What happens during one stretch of simulated time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SegmentKind {
    /// `track` plays from `from_ms` onwards.
    Play { track: usize, from_ms: u64 },
    /// `track` is paused at `at_ms`.
    Pause { track: usize, at_ms: u64 },
    /// Nothing plays.
    Gap,
}

/// One stretch of simulated time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// Simulated start, in seconds from the beginning.
    pub start_s: f64,
    pub len_s: f64,
    pub kind: SegmentKind,
}

impl Segment {
    pub fn end_s(&self) -> f64 {
        self.start_s + self.len_s
    }
}

/// State of the simulated player at one instant of simulated time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimState {
    /// Index into [`Timeline::tracks`], or `None` in a gap.
    pub track: Option<usize>,
    pub playing: bool,
    pub position_ms: f64,
    /// Simulated time at which this state next changes.
    pub next_change_s: f64,
}

/// The made-up playlist and the schedule that plays it.
#[derive(Debug)]
pub struct Timeline {
    seed: u64,
    rng: StdRng,
    tracks: Vec<Item>,
    segments: Vec<Segment>,
}

const ADJECTIVES: &[&str] = &[
    "Neon", "Velvet", "Electric", "Silent", "Golden", "Midnight", "Crystal", "Hollow", "Lunar", "Static",
    "Paper", "Copper", "Violet", "Distant", "Feral", "Liquid",
];
const NOUNS: &[&str] = &[
    "Horizon",
    "Signals",
    "Gardens",
    "Machines",
    "Tides",
    "Mirrors",
    "Avenue",
    "Echoes",
    "Satellite",
    "Harbour",
    "Circuits",
    "Lanterns",
    "Weather",
    "Orbit",
    "Parade",
    "Static",
];
const ARTISTS: &[&str] = &[
    "The Loopback Choir",
    "Ada Vector",
    "Kilohertz Club",
    "Mira Sol",
    "Juke-V-Box Ensemble",
    "Null Island",
    "Odd Meter",
    "Pale Transistor",
    "Quartz & Quill",
    "Low Pass",
];
const DEVICES: &[&str] = &["Simulated Speaker", "Installation PC", "Studio Monitor"];

impl Timeline {
    /// The timeline for `seed`. It grows on demand, so it never runs out.
    pub fn new(seed: u64) -> Self {
        let mut timeline =
            Timeline { seed, rng: StdRng::seed_from_u64(seed), tracks: Vec::new(), segments: Vec::new() };
        timeline.extend_past(0.0);
        timeline
    }

    /// The made-up tracks generated so far (the playlist).
    pub fn tracks(&self) -> &[Item] {
        &self.tracks
    }

    /// The schedule generated so far.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Generates segments until the schedule covers `t_s` simulated seconds.
    pub fn extend_past(&mut self, t_s: f64) {
        while self.segments.last().is_none_or(|s| s.end_s() <= t_s) {
            self.push_track();
        }
    }

    /// State at `t_s` simulated seconds from the start.
    pub fn state_at(&mut self, t_s: f64) -> SimState {
        let t_s = t_s.max(0.0);
        self.extend_past(t_s);
        let i = self.segments.partition_point(|s| s.end_s() <= t_s);
        let seg = self.segments[i];
        let into_ms = (t_s - seg.start_s) * 1000.0;
        let (track, playing, position_ms) = match seg.kind {
            SegmentKind::Play { track, from_ms } => (Some(track), true, from_ms as f64 + into_ms),
            SegmentKind::Pause { track, at_ms } => (Some(track), false, at_ms as f64),
            SegmentKind::Gap => (None, false, 0.0),
        };
        SimState { track, playing, position_ms, next_change_s: seg.end_s() }
    }

    fn push_track(&mut self) {
        let index = self.tracks.len();
        let item = self.make_track(index);
        let duration_ms = item.duration_ms;
        self.tracks.push(item);
        let rng = &mut self.rng;
        // The first track plays straight through so the demo starts with music.
        let pause_at =
            (index > 0 && rng.gen_bool(0.3)).then(|| rng.gen_range(duration_ms / 5..duration_ms * 3 / 5));
        let skip_at =
            (index > 0 && rng.gen_bool(0.2)).then(|| rng.gen_range(duration_ms / 2..duration_ms * 4 / 5));
        let end_ms = skip_at.unwrap_or(duration_ms);
        let mut start_s = self.segments.last().map_or(0.0, Segment::end_s);
        let mut push = |len_s: f64, kind: SegmentKind| {
            self.segments.push(Segment { start_s, len_s, kind });
            start_s += len_s;
        };
        match pause_at.filter(|&at| at < end_ms) {
            Some(at) => {
                push(at as f64 / 1000.0, SegmentKind::Play { track: index, from_ms: 0 });
                push(rng.gen_range(2.0..6.0), SegmentKind::Pause { track: index, at_ms: at });
                push((end_ms - at) as f64 / 1000.0, SegmentKind::Play { track: index, from_ms: at });
            }
            None => push(end_ms as f64 / 1000.0, SegmentKind::Play { track: index, from_ms: 0 }),
        }
        // Every third track is followed by silence, and now and then another one is.
        if index % 3 == 2 || rng.gen_bool(0.15) {
            push(rng.gen_range(4.0..10.0), SegmentKind::Gap);
        }
    }

    fn make_track(&mut self, index: usize) -> Item {
        let rng = &mut self.rng;
        let name = format!(
            "{} {}",
            ADJECTIVES[rng.gen_range(0..ADJECTIVES.len())],
            NOUNS[rng.gen_range(0..NOUNS.len())]
        );
        let artist = ARTISTS[rng.gen_range(0..ARTISTS.len())];
        let mut artists = vec![artist.to_owned()];
        if rng.gen_bool(0.25) {
            artists.push(ARTISTS[rng.gen_range(0..ARTISTS.len())].to_owned());
            artists.dedup();
        }
        const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let id: String = (0..22).map(|_| BASE62[rng.gen_range(0..BASE62.len())] as char).collect();
        let features = Features {
            tempo: f64::from(rng.gen_range(160..350u32)) / 2.0,
            time_signature: if rng.gen_bool(0.1) { 3 } else { 4 },
            energy: rng.gen_range(0.2..1.0),
            valence: rng.gen_range(0.05..0.95),
            danceability: rng.gen_range(0.3..0.95),
            loudness: rng.gen_range(-14.0..-4.0),
            beat_offset: rng.gen_range(0.0..0.5),
            key: None,
            mode: None,
        };
        let mut item = Item {
            kind: ItemKind::Track,
            uri: format!("spotify:track:{id}"),
            id: Some(id),
            name,
            artists,
            album: format!("Simulated Sessions Vol. {}", index / 4 + 1),
            album_art_url: Some(format!("https://example.invalid/sim/{index}/640.jpg")),
            album_art_url_small: Some(format!("https://example.invalid/sim/{index}/64.jpg")),
            palette_art_url: Some(format!("https://example.invalid/sim/{index}/300.jpg")),
            duration_ms: rng.gen_range(150_000..300_000),
            features: Some(features),
            analysis: None,
        };
        // Key, mode and the analysis come from a generator of their own, so adding them did not
        // change the playlist and schedule that earlier seeds produce.
        let mut extra =
            StdRng::seed_from_u64(self.seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        if let Some(f) = &mut item.features {
            f.key = Some(extra.gen_range(0..12));
            f.mode = Some(u8::from(extra.gen_bool(0.6)));
            item.analysis = Some(Arc::new(made_up_analysis(f, item.duration_ms, &mut extra)));
        }
        item
    }
}

/// A plausible audio analysis for a made-up track: a steady beat from `beat_offset`, bars of
/// `time_signature` beats, sections of 8 or 16 bars, and one segment per beat whose attack and
/// level follow the section (louder and punchier in every other section), so every tempo-like
/// channel moves in the demo.
fn made_up_analysis(f: &Features, duration_ms: u64, rng: &mut StdRng) -> Analysis {
    let duration = duration_ms as f64 / 1000.0;
    let period = 60.0 / f.tempo;
    let per_bar = usize::from(f.time_signature.max(1));
    let beats: Vec<f64> =
        (0..).map(|k| f.beat_offset + k as f64 * period).take_while(|&t| t < duration).collect();
    let bars: Vec<f64> = beats.iter().step_by(per_bar).copied().collect();
    let mut sections = vec![0.0];
    let mut bar = 0;
    loop {
        bar += if rng.gen_bool(0.5) { 8 } else { 16 };
        match bars.get(bar) {
            Some(&t) if duration - t > 10.0 => sections.push(t),
            _ => break,
        }
    }
    let segments = beats
        .iter()
        .enumerate()
        .map(|(k, &start)| {
            let section = sections.partition_point(|&s| s <= start).saturating_sub(1);
            let lift = if section % 2 == 1 { 0.0 } else { -6.0 };
            let accent = if k % per_bar == 0 { 4.0 } else { 0.0 };
            AnalysisSegment {
                start,
                loudness_start: f.loudness + lift - rng.gen_range(10.0..20.0),
                loudness_max: f.loudness + lift + accent - rng.gen_range(0.0..3.0),
                loudness_max_time: rng.gen_range(0.01..0.05),
            }
        })
        .collect();
    Analysis::new(beats, bars, sections, segments)
}

/// The simulator as a [`Source`]: plays its timeline in real time times `speed`.
pub struct Simulator {
    config: SimConfig,
    timeline: Timeline,
    started: Instant,
    device: Device,
    /// Queue, history and devices, rebuilt when the track changes.
    lists: (Option<usize>, Arc<Lists>),
    /// Simulated seconds added by Next/Previous.
    offset_s: f64,
    /// Simulated time frozen by the Playpause pulse.
    held_at: Option<f64>,
}

impl Simulator {
    pub fn new(config: SimConfig, started: Instant) -> Self {
        let device = Device {
            name: DEVICES[(config.seed % DEVICES.len() as u64) as usize].to_owned(),
            kind: "Computer".to_owned(),
            volume_percent: Some(80),
        };
        Simulator {
            config,
            timeline: Timeline::new(config.seed),
            started,
            device,
            lists: (None, Arc::default()),
            offset_s: 0.0,
            held_at: None,
        }
    }

    /// The DAT's lists while `current` plays: the next tracks, the ones before, the device.
    fn lists(&mut self, current: Option<usize>) -> Arc<Lists> {
        if self.lists.1.devices.is_empty() || self.lists.0 != current {
            let last = self.timeline.tracks.len().saturating_sub(1);
            let at = current.unwrap_or(last);
            while self.timeline.tracks.len() < at + 6 {
                self.timeline.push_track();
            }
            let cells = |t: &Item| {
                [
                    t.name.clone(),
                    t.artists.join(", "),
                    t.album.clone(),
                    t.duration_ms.to_string(),
                    t.uri.clone(),
                    t.id.clone().unwrap_or_default(),
                ]
            };
            let tracks = &self.timeline.tracks;
            let queue = (at + 1..at + 6)
                .map(|i| {
                    let mut row = vec![(i - at).to_string()];
                    row.extend(cells(&tracks[i]));
                    row.push("track".into());
                    row
                })
                .collect();
            let played_to = if current.is_some() { at } else { at + 1 };
            let recent = tracks[..played_to]
                .iter()
                .rev()
                .take(10)
                .map(|t| {
                    let mut row = vec![String::new()];
                    row.extend(cells(t));
                    row.push(format!("spotify:playlist:sim{}", self.config.seed));
                    row
                })
                .collect();
            let d = &self.device;
            let devices = vec![vec![
                d.name.clone(),
                d.kind.clone(),
                "1".into(),
                d.volume_percent.map(|v| v.to_string()).unwrap_or_default(),
                format!("sim-device-{}", self.config.seed),
            ]];
            let lists = Lists {
                queue: Lists::table(queue),
                recent: Lists::table(recent),
                devices: Lists::table(devices),
            };
            self.lists = (current, Arc::new(lists));
        }
        Arc::clone(&self.lists.1)
    }

    /// Simulated seconds elapsed at `now`, as the schedule would have it without pulses.
    fn clock(&self, now: Instant) -> f64 {
        now.saturating_duration_since(self.started).as_secs_f64() * self.config.speed
    }

    /// Where in the schedule the player is at `now`.
    fn sim_time(&self, now: Instant) -> f64 {
        self.held_at.unwrap_or_else(|| self.clock(now) + self.offset_s)
    }

    /// Moves the player to schedule time `t_s`, keeping it paused if it was.
    fn seek(&mut self, now: Instant, t_s: f64) {
        match &mut self.held_at {
            Some(held) => *held = t_s,
            None => self.offset_s = t_s - self.clock(now),
        }
    }

    /// Start of the schedule segment that begins `track` from the top.
    fn track_start(&self, track: usize) -> Option<f64> {
        self.timeline
            .segments
            .iter()
            .find(|s| s.kind == SegmentKind::Play { track, from_ms: 0 })
            .map(|s| s.start_s)
    }

    /// Acts on a transport pulse like a player would.
    fn transport(&mut self, pulse: Pulse, now: Instant) {
        let t = self.sim_time(now);
        let state = self.timeline.state_at(t);
        match pulse {
            Pulse::PlayPause => match self.held_at.take() {
                Some(held) => self.offset_s = held - self.clock(now),
                None => self.held_at = Some(t),
            },
            Pulse::Next => {
                let next = state.track.map_or(self.timeline.tracks.len(), |i| i + 1);
                while self.timeline.tracks.len() <= next + 1 {
                    self.timeline.push_track();
                }
                if let Some(start) = self.track_start(next) {
                    self.seek(now, start);
                }
            }
            Pulse::Previous => {
                let target = match state.track {
                    Some(i) if state.position_ms > 3000.0 || i == 0 => Some(i),
                    Some(i) => Some(i - 1),
                    None => self.timeline.segments
                        [..self.timeline.segments.partition_point(|s| s.end_s() <= t)]
                        .iter()
                        .rev()
                        .find_map(|s| match s.kind {
                            SegmentKind::Play { track, .. } => Some(track),
                            _ => None,
                        }),
                };
                if let Some(start) = target.and_then(|i| self.track_start(i)) {
                    self.seek(now, start);
                }
            }
            Pulse::Login | Pulse::Logout | Pulse::ResetCounters => {}
        }
    }

    /// What the simulated player reports at `now`.
    pub fn observe(&mut self, now: Instant) -> (Playback, Instant) {
        let t = self.sim_time(now);
        let state = self.timeline.state_at(t);
        let speed = self.config.speed.max(f64::MIN_POSITIVE);
        let next = match self.held_at {
            Some(_) => now + Duration::from_secs(3600),
            None => {
                self.started + Duration::from_secs_f64((state.next_change_s - self.offset_s).max(0.0) / speed)
            }
        };
        let item = state.track.map(|i| self.timeline.tracks[i].clone());
        // Report whole milliseconds, and date them so the extrapolated position stays exact.
        let whole_ms = state.position_ms.floor();
        let behind = Duration::from_secs_f64((state.position_ms - whole_ms) / 1000.0 / speed);
        let playback = Playback {
            is_playing: state.playing && self.held_at.is_none(),
            progress_ms: whole_ms as u64,
            observed_at: now.checked_sub(behind).unwrap_or(now),
            rate: self.config.speed,
            timestamp_ms: unix_ms(),
            device: item.as_ref().map(|_| self.device.clone()),
            context_uri: item.as_ref().map(|_| format!("spotify:playlist:sim{}", self.config.seed)),
            item,
            ..Playback::idle(now)
        };
        (playback, next)
    }
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Source for Simulator {
    fn name(&self) -> &'static str {
        "simulator"
    }

    /// A made-up cover per track, encoded as PNG in memory: the palette channels change with
    /// every simulated track, through the same decoder as Spotify's covers, with no network.
    fn cover(&self, item: &Item) -> Cover {
        // FNV-1a of the URI: stable across builds, distinct per track.
        let seed = item
            .uri
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        Cover::Image(art::simulated_cover(seed).into())
    }

    fn poll(&mut self, now: Instant) -> BoxFuture<'_, Update> {
        let (playback, next_change) = self.observe(now);
        // Wake exactly at the next change; otherwise the readers extrapolate on their own.
        let next_poll = next_change.max(now + Duration::from_millis(1));
        let current = self.timeline.state_at(self.sim_time(now)).track;
        let state = EngineState { connected: true, lists: self.lists(current), ..EngineState::default() };
        Box::pin(async move { Update { playback: Some(playback), state, next_poll } })
    }

    fn pulse(&mut self, pulse: Pulse) -> BoxFuture<'_, Option<String>> {
        let note = match pulse {
            Pulse::Login | Pulse::Logout => Some(format!("{pulse:?} does nothing with the simulator source")),
            _ => {
                self.transport(pulse, Instant::now());
                None
            }
        };
        Box::pin(async move { note })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_playlist() {
        let mut a = Timeline::new(7);
        let mut b = Timeline::new(7);
        a.extend_past(3600.0);
        b.extend_past(3600.0);
        assert_eq!(a.tracks(), b.tracks());
        assert_eq!(a.segments(), b.segments());
        assert_ne!(Timeline::new(8).tracks()[0], a.tracks()[0]);
    }

    #[test]
    fn schedule_is_contiguous_and_has_every_kind() {
        let mut t = Timeline::new(3);
        t.extend_past(3600.0);
        let segs = t.segments();
        for pair in segs.windows(2) {
            assert!((pair[0].end_s() - pair[1].start_s).abs() < 1e-9);
        }
        assert!(segs.iter().any(|s| matches!(s.kind, SegmentKind::Gap)));
        assert!(segs.iter().any(|s| matches!(s.kind, SegmentKind::Pause { .. })));
        assert!(matches!(segs[0].kind, SegmentKind::Play { track: 0, from_ms: 0 }));
    }

    #[test]
    fn state_follows_the_schedule() {
        let mut t = Timeline::new(1);
        let s0 = t.state_at(1.5);
        assert_eq!(s0.track, Some(0));
        assert!(s0.playing);
        assert!((s0.position_ms - 1500.0).abs() < 1e-6);
        let first_end = t.segments()[0].end_s();
        assert_eq!(s0.next_change_s, first_end);
    }

    #[test]
    fn lists_follow_the_current_track() {
        let mut sim = Simulator::new(SimConfig::default(), Instant::now());
        let lists = sim.lists(Some(2));
        assert_eq!(lists.queue.len(), 5);
        assert_eq!(lists.queue[0][1].to_str().unwrap(), sim.timeline.tracks()[3].name);
        assert_eq!(lists.recent.len(), 2);
        assert_eq!(lists.recent[0][1].to_str().unwrap(), sim.timeline.tracks()[1].name);
        assert_eq!(lists.devices.len(), 1);
        assert!(Arc::ptr_eq(&lists, &sim.lists(Some(2))), "rebuilt without a change");
    }

    #[test]
    fn transport_pulses_pause_skip_and_go_back() {
        let start = Instant::now();
        let mut sim = Simulator::new(SimConfig::default(), start);
        let at = |s: f64| start + Duration::from_secs_f64(s);
        sim.transport(Pulse::PlayPause, at(10.0));
        let (p, _) = sim.observe(at(20.0));
        assert!(!p.is_playing);
        assert_eq!(p.progress_ms, 10_000);
        sim.transport(Pulse::PlayPause, at(20.0));
        let (p, _) = sim.observe(at(21.0));
        assert!(p.is_playing);
        assert_eq!(p.progress_ms, 11_000);
        sim.transport(Pulse::Next, at(21.0));
        let (p, _) = sim.observe(at(21.0));
        assert_eq!(p.item.as_ref().unwrap().name, sim.timeline.tracks()[1].name);
        assert_eq!(p.progress_ms, 0);
        sim.transport(Pulse::Previous, at(22.0));
        let (p, _) = sim.observe(at(22.0));
        assert_eq!(p.item.as_ref().unwrap().name, sim.timeline.tracks()[0].name);
    }

    #[test]
    fn tracks_carry_a_beat_grid_and_sections() {
        let t = Timeline::new(5);
        let item = &t.tracks()[0];
        let f = item.features.unwrap();
        let a = item.analysis.as_ref().unwrap();
        assert!(f.key.is_some() && f.mode.is_some());
        assert!(a.has_beats());
        assert!((a.beats()[1] - a.beats()[0] - 60.0 / f.tempo).abs() < 1e-9);
        assert_eq!(a.beats()[0], f.beat_offset);
        assert!(a.sections().len() >= 3, "{:?}", a.sections());
        assert_eq!(a.segments().len(), a.beats().len());
        // The grid agrees with the features' regular grid.
        let p = a.at(30.0, u32::from(f.time_signature)).unwrap();
        let q = crate::engine::tempo::RegularGrid {
            tempo: f.tempo,
            offset_s: f.beat_offset,
            beats_per_bar: u32::from(f.time_signature),
        }
        .at(30.0)
        .unwrap();
        assert_eq!(p.beat, q.beat);
        assert!((p.beat_phase - q.beat_phase).abs() < 1e-6);
    }

    #[test]
    fn observation_plays_at_speed() {
        let start = Instant::now();
        let mut sim = Simulator::new(SimConfig { seed: 1, speed: 4.0 }, start);
        let (p, _) = sim.observe(start + Duration::from_millis(500));
        assert!(p.is_playing);
        assert_eq!(p.progress_ms, 2000);
        assert_eq!(p.rate, 4.0);
    }
}
