//! What "really" plays: a timeline of spans the fake API reports from, and the ground truth
//! the tests and the benchmark measure against.

use std::sync::Arc;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::fake_api::{Reply, Request};

/// A track in the catalogue.
#[derive(Debug, Clone)]
pub struct Track {
    pub id: String,
    pub name: String,
    pub duration_ms: u64,
}

impl Track {
    pub fn uri(&self) -> String {
        format!("spotify:track:{}", self.id)
    }
}

/// What happens during one span.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Seg {
    Play { track: usize, from_ms: u64 },
    Pause { track: usize, at_ms: u64 },
    Gap,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub start_ms: u64,
    pub len_ms: u64,
    pub seg: Seg,
}

/// The player at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct State {
    pub track: Option<usize>,
    pub playing: bool,
    pub position_ms: f64,
}

/// A change of state between two spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// An item played to its end (predictable: the poller can schedule for it).
    NaturalEnd,
    Skip,
    Seek,
    Pause,
    Resume,
    /// Something starts after nothing.
    Start,
    /// Playback stops before the item's end.
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    pub at_ms: u64,
    pub kind: EventKind,
    /// What plays after the event.
    pub to: Option<usize>,
}

/// A scripted playback timeline. After its last span nothing plays.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    pub tracks: Vec<Track>,
    pub spans: Vec<Span>,
    /// Spotify's reported position wobbles by up to ± this many ms (0: exact).
    pub report_jitter_ms: f64,
}

impl Truth {
    pub fn new() -> Self {
        Truth::default()
    }

    /// Adds a track to the catalogue (index = order of addition).
    pub fn track(mut self, name: &str, duration_ms: u64) -> Self {
        let id = format!("{:0>22}", format!("trk{}", self.tracks.len()));
        self.tracks.push(Track { id, name: name.to_owned(), duration_ms });
        self
    }

    fn push(mut self, len_ms: u64, seg: Seg) -> Self {
        let start_ms = self.end_ms();
        self.spans.push(Span { start_ms, len_ms, seg });
        self
    }

    pub fn play(self, track: usize, from_ms: u64, len_ms: u64) -> Self {
        self.push(len_ms, Seg::Play { track, from_ms })
    }

    pub fn play_to_end(self, track: usize, from_ms: u64) -> Self {
        let len = self.tracks[track].duration_ms - from_ms;
        self.play(track, from_ms, len)
    }

    /// Pauses the current track where it is.
    pub fn pause(self, len_ms: u64) -> Self {
        let (track, at_ms) = match self.spans.last().map(|s| (s.seg, s.len_ms)) {
            Some((Seg::Play { track, from_ms }, len)) => (track, from_ms + len),
            Some((Seg::Pause { track, at_ms }, _)) => (track, at_ms),
            _ => panic!("pause needs something playing"),
        };
        self.push(len_ms, Seg::Pause { track, at_ms })
    }

    /// Resumes the paused track where it was.
    pub fn resume(self, len_ms: u64) -> Self {
        let Some(Seg::Pause { track, at_ms }) = self.spans.last().map(|s| s.seg) else {
            panic!("resume needs a pause")
        };
        self.play(track, at_ms, len_ms)
    }

    pub fn gap(self, len_ms: u64) -> Self {
        self.push(len_ms, Seg::Gap)
    }

    pub fn end_ms(&self) -> u64 {
        self.spans.last().map_or(0, |s| s.start_ms + s.len_ms)
    }

    /// The player `t_ms` after the start.
    pub fn state_at(&self, t_ms: f64) -> State {
        let i = self.spans.partition_point(|s| (s.start_ms + s.len_ms) as f64 <= t_ms);
        let nothing = State { track: None, playing: false, position_ms: 0.0 };
        let Some(span) = self.spans.get(i).filter(|s| t_ms >= s.start_ms as f64) else { return nothing };
        match span.seg {
            Seg::Play { track, from_ms } => State {
                track: Some(track),
                playing: true,
                position_ms: from_ms as f64 + t_ms - span.start_ms as f64,
            },
            Seg::Pause { track, at_ms } => {
                State { track: Some(track), playing: false, position_ms: at_ms as f64 }
            }
            Seg::Gap => nothing,
        }
    }

    /// Every change of state, in order.
    pub fn events(&self) -> Vec<Event> {
        let mut events = Vec::new();
        let mut prev: Option<Span> = None;
        for span in self.spans.iter().copied().chain(std::iter::once(Span {
            start_ms: self.end_ms(),
            len_ms: u64::MAX / 4,
            seg: Seg::Gap,
        })) {
            let to = match span.seg {
                Seg::Play { track, .. } | Seg::Pause { track, .. } => Some(track),
                Seg::Gap => None,
            };
            let kind = match (prev.map(|p| p.seg), span.seg) {
                (None | Some(Seg::Gap), Seg::Gap) => None,
                (None | Some(Seg::Gap), _) => Some(EventKind::Start),
                (Some(Seg::Play { track: a, from_ms }), next) => {
                    let reached = from_ms + prev.map_or(0, |p| p.len_ms);
                    let at_end = reached >= self.tracks[a].duration_ms;
                    match next {
                        Seg::Play { track: b, .. } if b != a && at_end => Some(EventKind::NaturalEnd),
                        Seg::Gap if at_end => Some(EventKind::NaturalEnd),
                        Seg::Play { track: b, .. } if b != a => Some(EventKind::Skip),
                        Seg::Play { from_ms: f, .. } if f == reached => None,
                        Seg::Play { .. } => Some(EventKind::Seek),
                        Seg::Pause { .. } => Some(EventKind::Pause),
                        Seg::Gap => Some(EventKind::Stop),
                    }
                }
                (Some(Seg::Pause { track: a, at_ms }), next) => match next {
                    Seg::Play { track: b, from_ms } if b == a && from_ms == at_ms => Some(EventKind::Resume),
                    Seg::Play { .. } => Some(EventKind::Skip),
                    Seg::Pause { .. } => None,
                    Seg::Gap => Some(EventKind::Stop),
                },
            };
            if let Some(kind) = kind {
                events.push(Event { at_ms: span.start_ms, kind, to });
            }
            prev = Some(span);
        }
        events
    }

    /// The `/me/player` body for `state` (`None`: a 204).
    pub fn body(&self, state: &State, timestamp_ms: u64) -> Option<String> {
        let track = &self.tracks[state.track?];
        let position = state.position_ms.clamp(0.0, track.duration_ms as f64).floor() as u64;
        Some(
            serde_json::json!({
                "device": {"id": "dev1", "is_active": true, "name": "Fake Speaker", "type": "Speaker",
                           "volume_percent": 70, "supports_volume": true},
                "shuffle_state": false,
                "repeat_state": "context",
                "timestamp": timestamp_ms,
                "context": {"type": "playlist", "uri": "spotify:playlist:fake"},
                "progress_ms": position,
                "is_playing": state.playing,
                "currently_playing_type": "track",
                "item": {
                    "type": "track",
                    "id": track.id,
                    "uri": track.uri(),
                    "name": track.name,
                    "duration_ms": track.duration_ms,
                    "is_local": false,
                    "artists": [{"name": "Fake Artist"}],
                    "album": {"name": "Fake Album", "images": [
                        {"url": format!("https://img.invalid/{}/640", track.id), "width": 640, "height": 640},
                        {"url": format!("https://img.invalid/{}/64", track.id), "width": 64, "height": 64}
                    ]}
                }
            })
            .to_string(),
        )
    }

    /// A responder that reports this timeline, started at `start`, as Spotify would at the
    /// moment each request arrives.
    pub fn responder(self: Arc<Self>, start: Instant, seed: u64) -> impl FnMut(&Request) -> Reply + Send {
        let mut rng = StdRng::seed_from_u64(seed);
        move |request: &Request| {
            let t_ms = request.at.saturating_duration_since(start).as_secs_f64() * 1000.0;
            let mut state = self.state_at(t_ms);
            if self.report_jitter_ms > 0.0 && state.playing {
                state.position_ms += rng.gen_range(-self.report_jitter_ms..=self.report_jitter_ms);
            }
            let changed =
                self.spans.iter().rev().find(|s| (s.start_ms as f64) <= t_ms).map_or(0, |s| s.start_ms);
            match self.body(&state, 1_767_225_600_000 + changed) {
                Some(body) => Reply::json(body),
                None => Reply::no_content(),
            }
        }
    }

    /// A random but reproducible session of about `length_ms`: tracks play to their end most of
    /// the time, with pauses, seeks, skips and silences in between.
    pub fn random_session(seed: u64, length_ms: u64, track_ms: std::ops::Range<u64>) -> Truth {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut truth = Truth::new();
        let mut index = 0;
        while truth.end_ms() < length_ms {
            truth = truth.track(&format!("Track {index}"), rng.gen_range(track_ms.clone()));
            let duration = truth.tracks[index].duration_ms;
            let mut at = 0;
            // Now and then a pause or a seek somewhere in the middle.
            if rng.gen_bool(0.2) {
                let pause_at = rng.gen_range(duration / 5..duration / 2);
                truth = truth.play(index, 0, pause_at).pause(rng.gen_range(2_000..8_000));
                at = pause_at;
            } else if rng.gen_bool(0.15) {
                let seek_from = rng.gen_range(duration / 5..duration / 2);
                let seek_to = rng.gen_range(duration / 2..duration * 3 / 4);
                truth = truth.play(index, 0, seek_from);
                at = seek_to;
            }
            if rng.gen_bool(0.1) {
                // Skipped before the end.
                let until = rng.gen_range(at + (duration - at) / 2..duration - 1_000);
                truth = truth.play(index, at, until - at);
            } else {
                truth = truth.play_to_end(index, at);
            }
            if rng.gen_bool(0.1) {
                truth = truth.gap(rng.gen_range(3_000..15_000));
            }
            index += 1;
        }
        truth
    }
}
