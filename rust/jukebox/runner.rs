//! The jukebox thread: takes what was asked, runs the turns through the backend, and follows
//! the active visitor's player.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::backend::{Backend, BackendError};
use super::board::Board;
use super::commands::Asked;
use super::queue::{Observation, Queue, Rules};
use super::server::{BoardCell, Command};
use super::visitors::{Logins, Outcome};
use super::{now_ms, Control, JukeboxConfig, View, ViewCell};
use crate::config::SourceConfig;
use crate::engine::Engine;
use crate::model::SimConfig;

/// How often the jukebox looks at the active player (also the page's worst-case extra delay).
const TICK: Duration = Duration::from_millis(50);

/// The active visitor's player.
pub(super) struct Player {
    visitor: String,
    pub(super) engine: Arc<Engine>,
}

/// Everything the jukebox thread owns.
pub(super) struct Runner {
    pub(super) rules: Rules,
    sim: SimConfig,
    backend: Box<dyn Backend>,
    /// Spotify visitors' logins; `None` with simulated visitors.
    pub(super) logins: Option<Logins>,
    /// The queue as last read or written.
    pub(super) queue: Queue,
    /// Whether this machine runs the turns.
    pub(super) leader: bool,
    /// Why the store cannot be used now (shown on the page and the operator).
    pub(super) notice: Option<String>,
    pub(super) board: Arc<BoardCell>,
    pub(super) view: Arc<ViewCell>,
    pub(super) graveyard: VecDeque<Arc<View>>,
    pub(super) player: Option<Player>,
    pub(super) last_board: Option<Board>,
    pub(super) last_sent: Instant,
    pub(super) changed_ms: u64,
}

impl Runner {
    /// A runner that has read nothing yet: the queue is loaded on its thread.
    pub(super) fn new(
        config: &JukeboxConfig,
        backend: Box<dyn Backend>,
        logins: Option<Logins>,
        board: Arc<BoardCell>,
        view: Arc<ViewCell>,
    ) -> Runner {
        Runner {
            rules: config.rules,
            sim: config.sim,
            backend,
            logins,
            queue: Queue::new(),
            leader: false,
            notice: None,
            board,
            view,
            graveyard: VecDeque::new(),
            player: None,
            last_board: None,
            last_sent: Instant::now(),
            changed_ms: now_ms(),
        }
    }

    /// The thread's loop, one pass a [`TICK`] until `stop`; gives the lease up at the end.
    pub(super) fn run(mut self, stop: &AtomicBool, page: &Receiver<Command>, control: &Receiver<Control>) {
        let mut first = true;
        while !stop.load(Ordering::Acquire) {
            let now = now_ms();
            let asked = self.gather(page, control);
            let mut result =
                if asked.is_empty() && !first { Ok(()) } else { self.change(&mut |q| asked.apply(q, now)) };
            first = false;
            if let Err(e) = self.hold_lease() {
                result = Err(e);
            }
            if result.is_ok() {
                result = self.take_turns(now);
            }
            self.note(result.err());
            self.follow_active();
            self.publish(now);
            std::thread::park_timeout(TICK);
        }
        self.backend.release();
    }

    /// What browsers and the operator asked since the last tick. Spotify visitors first log
    /// in; those whose login ended join (or are turned away) here. New rules apply at once.
    fn gather(&mut self, page: &Receiver<Command>, control: &Receiver<Control>) -> Asked {
        let mut asked = Asked { commands: page.try_iter().collect(), ..Asked::default() };
        if let Some(logins) = &mut self.logins {
            for Command::Join { viewer } in std::mem::take(&mut asked.commands) {
                let in_line =
                    self.queue.visitors().iter().any(|v| v.viewer.as_deref() == Some(viewer.as_str()));
                if in_line {
                    continue;
                }
                if let Err(e) = logins.start(&viewer) {
                    asked.turned_away.push((viewer, "Visitor".to_owned(), e.to_string()));
                }
            }
            for outcome in logins.poll() {
                match outcome {
                    Outcome::Joined { viewer, id, name } => asked.joined.push((viewer, id, name)),
                    Outcome::Refused { viewer, name, note } => asked.turned_away.push((viewer, name, note)),
                }
            }
        }
        asked.controls = control.try_iter().collect();
        asked.controls.retain(|c| match c {
            Control::Rules(rules) => {
                self.rules = *rules;
                false
            }
            _ => true,
        });
        asked
    }

    /// Renews (or tries to take) the turn lease; without it this machine only shows the queue.
    fn hold_lease(&mut self) -> Result<(), BackendError> {
        match self.backend.hold_lease() {
            Ok(leader) => {
                if leader != self.leader {
                    tracing::info!(backend = self.backend.name(), leader, "jukebox turn lease");
                }
                self.leader = leader;
                Ok(())
            }
            Err(e) => {
                self.leader = false;
                Err(e)
            }
        }
    }

    /// The leader judges the turn on what the active player shows; the others read the queue.
    fn take_turns(&mut self, now: u64) -> Result<(), BackendError> {
        if !self.leader {
            return self.backend.load().map(|q| self.queue = q);
        }
        // The player of the queue as read: the turn is judged on what it shows.
        self.follow_active();
        let obs = self.observe();
        let refused = self.player_refused();
        let rules = self.rules;
        self.change(&mut |q| match &refused {
            // Spotify answered 403 for this account: out, with the allowlist note.
            Some(id) => {
                q.refuse(id, now);
            }
            None => {
                q.observe(&rules, &obs, now);
            }
        })
    }

    /// Applies `change` through the backend; on failure the last known queue stays.
    fn change(&mut self, change: &mut dyn FnMut(&mut Queue)) -> Result<(), BackendError> {
        self.queue = self.backend.update(change)?;
        Ok(())
    }

    /// Shows (and logs once) what is wrong with the store, or clears it.
    fn note(&mut self, error: Option<BackendError>) {
        let text = error.map(|e| e.to_string());
        if text != self.notice {
            match &text {
                Some(t) => tracing::warn!(backend = self.backend.name(), "{t}"),
                None => tracing::info!(backend = self.backend.name(), "jukebox queue store reachable"),
            }
            self.notice = text;
        }
    }

    /// Starts the active visitor's player (their simulator, or an engine on their Spotify account)
    /// when the turn changes hands.
    fn follow_active(&mut self) {
        let active = self.queue.active().map(|v| v.id.clone());
        if self.player.as_ref().map(|p| &p.visitor) == active.as_ref() {
            return;
        }
        // Dropping the old engine never waits on it (see `engine`).
        self.player = None;
        let Some(visitor) = active else { return };
        let source = match &self.logins {
            Some(logins) => match logins.config_of(&visitor) {
                Some(spotify) => SourceConfig::Spotify(spotify),
                None => return,
            },
            None => {
                let n = visitor.strip_prefix("sim-").and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
                SourceConfig::Simulator(SimConfig {
                    seed: self.sim.seed.wrapping_add(n),
                    speed: self.sim.speed,
                })
            }
        };
        match Engine::start(source) {
            Ok(engine) => self.player = Some(Player { visitor, engine: Arc::new(engine) }),
            Err(e) => tracing::warn!(error = %e, "jukebox could not start a visitor's player"),
        }
    }

    /// The active visitor, when Spotify refused their account (403, Development Mode).
    fn player_refused(&self) -> Option<String> {
        let player = self.player.as_ref()?;
        let snapshot = player.engine.snapshot();
        let error = snapshot.error.as_deref()?.to_str().ok()?;
        error.contains(crate::api::error::DEVELOPMENT_MODE).then(|| player.visitor.clone())
    }

    fn observe(&self) -> Observation {
        let Some(player) = &self.player else { return Observation::default() };
        let snapshot = player.engine.snapshot();
        let item = snapshot.playback.item.as_ref();
        Observation {
            playing: snapshot.playback.is_playing && item.is_some(),
            track: item.map(|i| i.id.clone().unwrap_or_else(|| i.uri.clone())),
        }
    }
}
