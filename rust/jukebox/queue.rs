//! The visitor queue: who plays now, who is next, and when the turn passes.
//!
//! Pure logic: every method takes the time (`now_ms`, milliseconds since the Unix epoch) from its
//! caller, so tests drive a simulated clock and a restored queue continues where it stopped. The
//! queue never holds a token: a visitor is an id, a display name and a state.

use serde::{Deserialize, Serialize};

/// How a turn ends (the `Turnmode` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TurnMode {
    /// After `Turnlength` seconds.
    #[default]
    Time,
    /// When the track that was playing at the start of the turn has changed (one track each).
    Track,
}

impl TurnMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TurnMode::Time => "time",
            TurnMode::Track => "track",
        }
    }
}

impl std::str::FromStr for TurnMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "time" => Ok(TurnMode::Time),
            "track" => Ok(TurnMode::Track),
            other => Err(format!("unknown turn mode {other:?}: use \"time\" or \"track\"")),
        }
    }
}

/// The rules of the queue (`Turnlength`, `Turnmode`, `Idletimeout`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// Seconds a turn lasts in [`TurnMode::Time`].
    pub turn_length_s: f64,
    pub turn_mode: TurnMode,
    /// Seconds the active visitor may play nothing before the turn is taken from them.
    pub idle_timeout_s: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules { turn_length_s: 120.0, turn_mode: TurnMode::Time, idle_timeout_s: 30.0 }
    }
}

/// Where a visitor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VisitorState {
    /// Their playback drives the visuals.
    Playing,
    /// In line.
    Waiting,
}

impl VisitorState {
    pub fn as_str(self) -> &'static str {
        match self {
            VisitorState::Playing => "playing",
            VisitorState::Waiting => "waiting",
        }
    }
}

/// One visitor in line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visitor {
    /// Stable id: the Spotify user id, or `sim-N` for a simulated visitor.
    pub id: String,
    pub display_name: String,
    /// Opaque key of the browser that joined (a cookie), so the page can show that browser its
    /// own position. Not a credential of any service.
    #[serde(default)]
    pub viewer: Option<String>,
    pub joined_ms: u64,
    /// The last thing that happened to them, shown on the page ("skipped: …").
    #[serde(default)]
    pub note: Option<String>,
}

/// A visitor who left the queue, and why (kept so the page can tell them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Departure {
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub viewer: Option<String>,
    pub note: String,
    pub left_ms: u64,
}

/// The current turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Turn {
    /// When the turn began.
    pub started_ms: u64,
    /// Since when nothing has played (`None` while something plays).
    #[serde(default)]
    pub idle_since_ms: Option<u64>,
    /// The track of this turn in [`TurnMode::Track`]: the first one seen playing.
    #[serde(default)]
    pub track: Option<String>,
}

/// What the active visitor's playback looks like now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observation {
    pub playing: bool,
    /// Id (or URI) of the current item, if any.
    pub track: Option<String>,
}

/// Something the queue did, for logs and the page.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Joined { id: String, position: usize },
    TurnStarted { id: String, turn_index: u64 },
    Left { id: String, note: String },
}

/// Departures kept for the page; older ones are forgotten.
const MAX_DEPARTURES: usize = 32;
/// The most visitors in line (a crowd at an installation, not a DoS of the store).
pub(crate) const MAX_VISITORS: usize = 256;

/// Note for a visitor Spotify refused with 403 in Development Mode.
pub const NOTE_NOT_ALLOWLISTED: &str = "Spotify refused this account (403): ask the operator to add your \
     Spotify account (Development Mode apps serve up to 5 users added by hand under User Management)";

/// Why a join was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("the queue is full ({MAX_VISITORS} visitors); try again later")]
    Full,
}

/// The queue, in join order; the first visitor is the active one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Queue {
    /// Format version of the persisted file.
    #[serde(default)]
    pub version: u32,
    visitors: Vec<Visitor>,
    #[serde(default)]
    turn: Turn,
    /// Turns started since the queue was created (the `turn_index` channel).
    #[serde(default)]
    turn_index: u64,
    #[serde(default)]
    departures: Vec<Departure>,
}

impl Queue {
    pub(crate) const VERSION: u32 = 1;

    pub fn new() -> Queue {
        Queue { version: Queue::VERSION, ..Queue::default() }
    }

    pub fn visitors(&self) -> &[Visitor] {
        &self.visitors
    }

    pub fn departures(&self) -> &[Departure] {
        &self.departures
    }

    pub fn len(&self) -> usize {
        self.visitors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.visitors.is_empty()
    }

    /// The visitor whose playback drives everything.
    pub fn active(&self) -> Option<&Visitor> {
        self.visitors.first()
    }

    pub fn turn_index(&self) -> u64 {
        self.turn_index
    }

    pub fn turn(&self) -> &Turn {
        &self.turn
    }

    /// 1-based place in line (1 = playing now).
    pub fn position(&self, id: &str) -> Option<usize> {
        self.visitors.iter().position(|v| v.id == id).map(|i| i + 1)
    }

    /// The visitor `who` names: an id, a display name (case aside) or a 1-based position;
    /// empty names the active visitor.
    pub fn find(&self, who: &str) -> Option<&Visitor> {
        let who = who.trim();
        if who.is_empty() {
            return self.active();
        }
        if let Ok(n) = who.parse::<usize>() {
            return n.checked_sub(1).and_then(|i| self.visitors.get(i));
        }
        self.visitors
            .iter()
            .find(|v| v.id == who)
            .or_else(|| self.visitors.iter().find(|v| v.display_name.eq_ignore_ascii_case(who)))
    }

    /// The state of the visitor at 0-based `index`.
    pub fn state_at(&self, index: usize) -> VisitorState {
        if index == 0 {
            VisitorState::Playing
        } else {
            VisitorState::Waiting
        }
    }

    /// Seconds left in this turn ([`TurnMode::Time`] only; a track turn ends with its track).
    pub fn turn_remaining_s(&self, rules: &Rules, now_ms: u64) -> Option<f64> {
        if self.visitors.is_empty() || rules.turn_mode != TurnMode::Time {
            return None;
        }
        let elapsed = now_ms.saturating_sub(self.turn.started_ms) as f64 / 1000.0;
        Some((rules.turn_length_s - elapsed).max(0.0))
    }

    /// Adds a visitor at the end of the line; joining again keeps the place.
    pub fn join(
        &mut self,
        id: &str,
        display_name: &str,
        viewer: Option<&str>,
        now_ms: u64,
    ) -> Result<Vec<Event>, QueueError> {
        if let Some(v) = self.visitors.iter_mut().find(|v| v.id == id) {
            v.display_name = display_name.to_owned();
            if viewer.is_some() {
                v.viewer = viewer.map(str::to_owned);
            }
            return Ok(Vec::new());
        }
        if self.visitors.len() >= MAX_VISITORS {
            return Err(QueueError::Full);
        }
        self.departures.retain(|d| d.id != id);
        self.visitors.push(Visitor {
            id: id.to_owned(),
            display_name: display_name.to_owned(),
            viewer: viewer.map(str::to_owned),
            joined_ms: now_ms,
            note: None,
        });
        let mut events = vec![Event::Joined { id: id.to_owned(), position: self.visitors.len() }];
        if self.visitors.len() == 1 {
            events.extend(self.start_turn(now_ms));
        }
        Ok(events)
    }

    /// Moves the clock on with what the active visitor's player shows: ends the turn when its
    /// time or track is over, and takes it from a visitor who played nothing for too long.
    pub fn observe(&mut self, rules: &Rules, obs: &Observation, now_ms: u64) -> Vec<Event> {
        if self.visitors.is_empty() {
            return Vec::new();
        }
        // Idle: nothing playing since `idle_since_ms`.
        if obs.playing {
            self.turn.idle_since_ms = None;
        } else {
            let since = *self.turn.idle_since_ms.get_or_insert(now_ms);
            let idle_s = now_ms.saturating_sub(since) as f64 / 1000.0;
            if idle_s >= rules.idle_timeout_s {
                let note = format!("skipped: nothing played for {:.0} s", rules.idle_timeout_s);
                return self.leave_active(note, now_ms);
            }
        }
        match rules.turn_mode {
            TurnMode::Time => {
                let elapsed_s = now_ms.saturating_sub(self.turn.started_ms) as f64 / 1000.0;
                if elapsed_s >= rules.turn_length_s {
                    return self.rotate("turn over: time is up", now_ms);
                }
            }
            TurnMode::Track => match (&self.turn.track, &obs.track) {
                (None, Some(track)) if obs.playing => self.turn.track = Some(track.clone()),
                (Some(turn_track), Some(track)) if turn_track != track => {
                    return self.rotate("turn over: your track has ended", now_ms);
                }
                _ => {}
            },
        }
        Vec::new()
    }

    /// The operator's `Skip`: the active visitor goes to the back of the line.
    pub fn skip(&mut self, now_ms: u64) -> Vec<Event> {
        if self.visitors.is_empty() {
            return Vec::new();
        }
        self.rotate("skipped by the operator", now_ms)
    }

    /// Takes a visitor out of the line with a note (`Removevisitor`, a 403, leaving).
    pub fn remove(&mut self, id: &str, note: &str, now_ms: u64) -> Vec<Event> {
        match self.visitors.iter().position(|v| v.id == id) {
            None => Vec::new(),
            Some(0) => self.leave_active(note.to_owned(), now_ms),
            Some(i) => {
                let v = self.visitors.remove(i);
                self.depart(v, note.to_owned(), now_ms)
            }
        }
    }

    /// Spotify answered 403 for this visitor: they leave with the allowlist note.
    pub fn refuse(&mut self, id: &str, now_ms: u64) -> Vec<Event> {
        self.remove(id, NOTE_NOT_ALLOWLISTED, now_ms)
    }

    /// Someone who never got a place (e.g. Spotify refused their account at login) is told why,
    /// like a visitor who left.
    pub fn turn_away(&mut self, id: &str, display_name: &str, viewer: Option<&str>, note: &str, now_ms: u64) {
        let v = Visitor {
            id: id.to_owned(),
            display_name: display_name.to_owned(),
            viewer: viewer.map(str::to_owned),
            joined_ms: now_ms,
            note: None,
        };
        self.depart(v, note.to_owned(), now_ms);
    }

    /// The operator's `Clearqueue`: everyone leaves.
    pub fn clear(&mut self, now_ms: u64) -> Vec<Event> {
        let mut events = Vec::new();
        for v in std::mem::take(&mut self.visitors) {
            events.extend(self.depart(v, "the operator cleared the queue".into(), now_ms));
        }
        self.turn = Turn::default();
        events
    }

    /// The note last left for a visitor (in line or departed).
    pub fn note_for(&self, id: &str) -> Option<&str> {
        match self.visitors.iter().find(|v| v.id == id) {
            Some(v) => v.note.as_deref(),
            None => self.departures.iter().rev().find(|d| d.id == id).map(|d| d.note.as_str()),
        }
    }

    fn rotate(&mut self, note: &str, now_ms: u64) -> Vec<Event> {
        let mut v = self.visitors.remove(0);
        v.note = Some(note.to_owned());
        self.visitors.push(v);
        self.start_turn(now_ms)
    }

    fn leave_active(&mut self, note: String, now_ms: u64) -> Vec<Event> {
        let v = self.visitors.remove(0);
        let mut events = self.depart(v, note, now_ms);
        if !self.visitors.is_empty() {
            events.extend(self.start_turn(now_ms));
        } else {
            self.turn = Turn::default();
        }
        events
    }

    fn depart(&mut self, v: Visitor, note: String, now_ms: u64) -> Vec<Event> {
        let event = Event::Left { id: v.id.clone(), note: note.clone() };
        self.departures.retain(|d| d.id != v.id);
        self.departures.push(Departure {
            id: v.id,
            display_name: v.display_name,
            viewer: v.viewer,
            note,
            left_ms: now_ms,
        });
        if self.departures.len() > MAX_DEPARTURES {
            self.departures.remove(0);
        }
        vec![event]
    }

    fn start_turn(&mut self, now_ms: u64) -> Vec<Event> {
        self.turn = Turn { started_ms: now_ms, idle_since_ms: None, track: None };
        self.turn_index += 1;
        match self.visitors.first_mut() {
            Some(v) => {
                v.note = None;
                vec![Event::TurnStarted { id: v.id.clone(), turn_index: self.turn_index }]
            }
            None => Vec::new(),
        }
    }

    /// After a restart: the idle timer starts again (the player was not watched meanwhile).
    pub fn restored(mut self) -> Queue {
        self.turn.idle_since_ms = None;
        self.version = Queue::VERSION;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000_000;

    fn playing(track: &str) -> Observation {
        Observation { playing: true, track: Some(track.into()) }
    }

    fn three(q: &mut Queue) {
        for (i, name) in ["Ana", "Ben", "Cy"].iter().enumerate() {
            q.join(&format!("u{i}"), name, None, T0 + i as u64).unwrap();
        }
    }

    fn order(q: &Queue) -> Vec<&str> {
        q.visitors().iter().map(|v| v.id.as_str()).collect()
    }

    #[test]
    fn join_order_and_positions() {
        let mut q = Queue::new();
        three(&mut q);
        assert_eq!(order(&q), ["u0", "u1", "u2"]);
        assert_eq!(q.position("u2"), Some(3));
        assert_eq!(q.active().unwrap().display_name, "Ana");
        assert_eq!(q.turn_index(), 1);
        // Joining again keeps the place.
        assert!(q.join("u0", "Ana", None, T0 + 10).unwrap().is_empty());
        assert_eq!(q.position("u0"), Some(1));
    }

    #[test]
    fn turns_pass_by_time() {
        let rules = Rules { turn_length_s: 60.0, turn_mode: TurnMode::Time, idle_timeout_s: 30.0 };
        let mut q = Queue::new();
        three(&mut q);
        assert!(q.observe(&rules, &playing("a"), T0 + 59_000).is_empty());
        assert_eq!(q.turn_remaining_s(&rules, T0 + 59_000), Some(1.0));
        let events = q.observe(&rules, &playing("a"), T0 + 60_000);
        assert_eq!(events, [Event::TurnStarted { id: "u1".into(), turn_index: 2 }]);
        assert_eq!(order(&q), ["u1", "u2", "u0"]);
        assert_eq!(q.note_for("u0"), Some("turn over: time is up"));
        q.observe(&rules, &playing("b"), T0 + 120_000);
        q.observe(&rules, &playing("c"), T0 + 180_000);
        assert_eq!(order(&q), ["u0", "u1", "u2"]);
        assert_eq!(q.turn_index(), 4);
        assert_eq!(q.note_for("u0"), None, "a new turn clears the note");
    }

    #[test]
    fn turns_pass_by_track() {
        let rules = Rules { turn_length_s: 5.0, turn_mode: TurnMode::Track, idle_timeout_s: 30.0 };
        let mut q = Queue::new();
        three(&mut q);
        // Turn length does not apply; the first track seen is the turn's track.
        assert!(q.observe(&rules, &playing("a1"), T0 + 1_000).is_empty());
        assert!(q.observe(&rules, &playing("a1"), T0 + 200_000).is_empty());
        assert_eq!(q.turn_remaining_s(&rules, T0), None);
        assert!(!q.observe(&rules, &playing("a2"), T0 + 201_000).is_empty());
        assert_eq!(order(&q), ["u1", "u2", "u0"]);
        // Ben's player is already mid-track: that track is his.
        assert!(q.observe(&rules, &playing("b1"), T0 + 202_000).is_empty());
        assert!(!q.observe(&rules, &playing("b2"), T0 + 400_000).is_empty());
        assert_eq!(q.active().unwrap().id, "u2");
    }

    #[test]
    fn an_idle_visitor_is_skipped_with_a_note() {
        let rules = Rules { turn_length_s: 60.0, turn_mode: TurnMode::Time, idle_timeout_s: 20.0 };
        let mut q = Queue::new();
        three(&mut q);
        assert!(q.observe(&rules, &Observation::default(), T0 + 1_000).is_empty());
        // Playing again resets the idle timer.
        assert!(q.observe(&rules, &playing("a"), T0 + 15_000).is_empty());
        assert!(q.observe(&rules, &Observation::default(), T0 + 16_000).is_empty());
        assert!(q.observe(&rules, &Observation::default(), T0 + 35_000).is_empty());
        let events = q.observe(&rules, &Observation::default(), T0 + 36_000);
        assert_eq!(
            events[0],
            Event::Left { id: "u0".into(), note: "skipped: nothing played for 20 s".into() }
        );
        assert_eq!(order(&q), ["u1", "u2"]);
        assert_eq!(q.note_for("u0"), Some("skipped: nothing played for 20 s"));
        // Ben's turn started now, with a fresh clock.
        assert_eq!(q.turn().started_ms, T0 + 36_000);
    }

    #[test]
    fn a_refused_visitor_leaves_with_the_allowlist_note() {
        let rules = Rules::default();
        let mut q = Queue::new();
        three(&mut q);
        q.refuse("u1", T0 + 5);
        assert_eq!(order(&q), ["u0", "u2"]);
        let note = q.note_for("u1").unwrap();
        assert!(note.contains("ask the operator to add your Spotify account"), "{note}");
        // The active visitor refused: the next one plays at once.
        q.refuse("u0", T0 + 6);
        assert_eq!(q.active().unwrap().id, "u2");
        assert!(q.observe(&rules, &playing("c"), T0 + 7).is_empty());
        // Joining again clears the old note.
        q.join("u1", "Ben", None, T0 + 8).unwrap();
        assert_eq!(q.note_for("u1"), None);
    }

    #[test]
    fn skip_remove_and_clear() {
        let mut q = Queue::new();
        three(&mut q);
        q.skip(T0 + 10);
        assert_eq!(order(&q), ["u1", "u2", "u0"]);
        assert_eq!(q.note_for("u0"), Some("skipped by the operator"));
        q.remove("u2", "removed by the operator", T0 + 11);
        assert_eq!(order(&q), ["u1", "u0"]);
        assert!(q.remove("nobody", "x", T0 + 12).is_empty());
        q.clear(T0 + 13);
        assert!(q.is_empty());
        assert_eq!(q.note_for("u1"), Some("the operator cleared the queue"));
        assert!(q.skip(T0 + 14).is_empty());
        assert_eq!(q.turn_remaining_s(&Rules::default(), T0 + 14), None);
    }

    #[test]
    fn departures_are_bounded() {
        let mut q = Queue::new();
        for i in 0..(MAX_DEPARTURES + 10) {
            let id = format!("v{i}");
            q.join(&id, "V", None, T0).unwrap();
            q.remove(&id, "bye", T0);
        }
        assert_eq!(q.departures().len(), MAX_DEPARTURES);
    }
}
