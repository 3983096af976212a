//! Juke-V-Box: visitors take turns, and a live page shows what the active one plays.
//!
//! Built on the engine's public API (the engine knows nothing of the jukebox):
//! - [`queue`]: the line of visitors and its rules (`Turnlength`, `Turnmode`, `Idletimeout`),
//!   pure logic with the clock passed in;
//! - [`store`]: the queue persisted atomically beside the token store;
//! - [`board`]: what the page may show (never a token, a user id or another browser's key);
//! - [`server`] and [`page`]: the page at `/` and its Server-Sent Events at `/events`;
//! - [`Jukebox`]: runs all of it on its own threads, following the active visitor's player;
//! - [`backend`]: where the queue lives (the file, or a Redis shared by several machines, with
//!   the turn lease);
//! - [`visitors`]: Spotify visitors' logins, kept by Spotify user id.
//!
//! Simulated visitors each get their own simulator (seed = base seed + visitor number), started
//! when their turn begins; Spotify visitors get an engine following their own account.

pub mod backend;
pub mod board;
pub mod page;
pub mod queue;
pub mod server;
pub mod store;
pub mod visitors;

use std::collections::VecDeque;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender};

use crate::config::{SourceConfig, SpotifyConfig};
use crate::engine::os_thread::{self, OsThread};
use crate::engine::{Engine, STOP_WAIT};
use crate::model::SimConfig;
use backend::{Backend, BackendError, FileBackend, RedisBackend, RedisConfig};
use board::{Board, Entry, Mine, NowPlaying};
use queue::{Observation, Queue, Rules};
use server::{Bind, BoardCell, Command, PageServer};
use store::QueueStore;
use visitors::{Logins, Outcome};

/// How often the jukebox looks at the active player (also the page's worst-case extra delay).
const TICK: Duration = Duration::from_millis(50);
/// The page gets a fresh position at least this often, even when nothing changed.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// Views kept alive on the jukebox thread after they were replaced, so that the one an operator
/// still pins is, nearly always, not the last reference: its free happens here, not in a cook.
const GRAVEYARD: usize = 16;

/// Everything a jukebox is started with.
#[derive(Debug, Clone, PartialEq)]
pub struct JukeboxConfig {
    pub rules: Rules,
    /// `Pagebind`.
    pub bind: Bind,
    /// Port of the page; 0 picks a free one.
    pub port: u16,
    /// Directory of the queue file (the token store's); `None` = the OS's config directory.
    pub store_dir: Option<std::path::PathBuf>,
    /// Simulated visitors: visitor N plays seed `sim.seed + N` at `sim.speed`.
    pub sim: SimConfig,
    /// A Redis shared with other machines (`Redisurl`); `None` = the queue file.
    pub redis: Option<RedisConfig>,
    /// Spotify visitors, each logging in with their own account to this app; `None` =
    /// simulated visitors.
    pub spotify: Option<SpotifyConfig>,
}

impl JukeboxConfig {
    /// Whether a running jukebox with `self` can serve `other` (everything but the rules, which
    /// a running jukebox takes through [`Control::Rules`]).
    pub fn shares_jukebox_with(&self, other: &JukeboxConfig) -> bool {
        JukeboxConfig { rules: other.rules, ..self.clone() } == *other
    }
}

/// What the operator asks (the `Skip`, `Removevisitor`, `Clearqueue` pulses; new rules).
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    Skip,
    /// Takes out the visitor named `who`: an id, a display name or a position; empty = the
    /// active visitor.
    Remove {
        who: String,
    },
    Clear,
    /// `Turnlength`, `Turnmode`, `Idletimeout` changed.
    Rules(Rules),
}

/// Why the jukebox could not start.
#[derive(Debug, thiserror::Error)]
pub enum JukeboxError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Server(#[from] server::ServerError),
    #[error("could not start the jukebox thread: {0}")]
    Thread(std::io::Error),
    #[error("the jukebox is busy; the command was dropped, try again")]
    Busy,
}

/// What an operator reads every cook: the active visitor's player and the queue's figures.
/// Made by the jukebox thread, never changed after.
#[derive(Debug, Default)]
pub struct View {
    /// The active visitor's player; `None` while nobody plays.
    pub player: Option<Arc<Engine>>,
    pub queue_length: usize,
    /// Seconds left in this turn (0 in `track` mode or with nobody in line).
    pub turn_remaining_s: f64,
    pub turn_index: u64,
    /// Whether this machine runs the turns (always with the queue file; the lease with Redis).
    pub runs_turns: bool,
    /// Rows of the `Visitors` DAT ([`crate::schema::VISITOR_COLUMNS`]): those in line, then
    /// those who left recently, with why.
    pub visitors: Vec<Vec<CString>>,
    /// A problem of the queue's store (e.g. Redis unreachable), for the operator's warning.
    pub notice: Option<CString>,
}

/// The latest [`View`]; readers never wait (a reader that finds it being replaced keeps its
/// last one).
#[derive(Debug, Default)]
struct ViewCell(Mutex<Arc<View>>);

impl ViewCell {
    fn swap(&self, next: Arc<View>) -> Arc<View> {
        std::mem::replace(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner), next)
    }

    fn try_load(&self) -> Option<Arc<View>> {
        self.0.try_lock().ok().map(|v| Arc::clone(&v))
    }
}

/// A running jukebox: the page server and the queue thread. Dropping it stops both; see
/// [`Jukebox::stop`] to also wait for them.
pub struct Jukebox {
    config: JukeboxConfig,
    server: Option<PageServer>,
    stop: Arc<AtomicBool>,
    thread: Option<OsThread>,
    control: Sender<Control>,
    view: Arc<ViewCell>,
}

impl std::fmt::Debug for Jukebox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jukebox").field("server", &self.server).finish_non_exhaustive()
    }
}

impl Jukebox {
    /// Serves the page and starts following the active visitor. Reads nothing and connects to
    /// nothing here (the queue is loaded on the jukebox thread): safe on TouchDesigner's thread.
    pub fn start(config: JukeboxConfig) -> Result<Jukebox, JukeboxError> {
        let backend: Box<dyn Backend> = match &config.redis {
            Some(redis) => Box::new(RedisBackend::new(redis)?),
            None => Box::new(FileBackend::new(QueueStore::new(config.store_dir.as_deref())?)),
        };
        let logins = match &config.spotify {
            None => None,
            Some(spotify) => {
                let root = match &config.store_dir {
                    Some(dir) => dir.clone(),
                    None => crate::auth::store::default_dir().ok_or(store::StoreError::NoDirectory)?,
                };
                Some(Logins::new(spotify.clone(), &root))
            }
        };
        let board = Arc::new(BoardCell::default());
        let (page_tx, page_rx) = crossbeam_channel::bounded(64);
        let (control_tx, control_rx) = crossbeam_channel::bounded(64);
        let server = PageServer::start(config.bind, config.port, Arc::clone(&board), page_tx)?;
        let stop = Arc::new(AtomicBool::new(false));
        let view = Arc::new(ViewCell::default());
        let runner = Runner {
            rules: config.rules,
            sim: config.sim,
            backend,
            logins,
            queue: Queue::new(),
            leader: false,
            notice: None,
            board,
            view: Arc::clone(&view),
            graveyard: VecDeque::new(),
            player: None,
            last_board: None,
            last_sent: Instant::now(),
            changed_ms: now_ms(),
        };
        let thread_stop = Arc::clone(&stop);
        let thread = os_thread::spawn("td-spotify-jukebox", move || {
            runner.run(&thread_stop, &page_rx, &control_rx);
        })
        .map_err(JukeboxError::Thread)?;
        Ok(Jukebox { config, server: Some(server), stop, thread: Some(thread), control: control_tx, view })
    }

    pub fn config(&self) -> &JukeboxConfig {
        &self.config
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        self.server.as_ref().map(PageServer::local_url).unwrap_or_default()
    }

    /// Sends an operator command without waiting.
    pub fn control(&self, control: Control) -> Result<(), JukeboxError> {
        self.control.try_send(control).map_err(|_| JukeboxError::Busy)
    }

    /// The latest view, or `None` while the jukebox thread replaces it (keep the last one).
    pub fn try_view(&self) -> Option<Arc<View>> {
        self.view.try_load()
    }

    /// Stops the page and the queue thread and waits for them (the queue is saved and the
    /// lease given up before this returns).
    pub fn stop(mut self) {
        self.shutdown(None);
    }

    /// Waits at most `bound` for each thread, detaching it after (see [`os_thread`]).
    fn shutdown(&mut self, bound: Option<Duration>) {
        self.stop.store(true, Ordering::Release);
        if let Some(server) = self.server.take() {
            match bound {
                None => server.stop(),
                Some(b) => server.stop_within(b),
            }
        }
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            match bound {
                None => t.join(),
                Some(b) => {
                    t.finish_within(b);
                }
            }
        }
    }
}

impl Drop for Jukebox {
    /// Never waits more than [`STOP_WAIT`] per thread: dropped on TouchDesigner's thread too.
    fn drop(&mut self) {
        self.shutdown(Some(STOP_WAIT));
        forget_stopped();
    }
}

/// Jukeboxes shared by operators (a CHOP and a DAT showing one installation), held weakly like
/// the engines (rust/engine/registry.rs): the last operator's drop stops its jukebox.
static JUKEBOXES: Mutex<Vec<Weak<Jukebox>>> = Mutex::new(Vec::new());

/// The running jukebox for `config`, started if no operator shares one yet; a shared one takes
/// `config`'s rules.
pub fn acquire(config: &JukeboxConfig) -> Result<Arc<Jukebox>, JukeboxError> {
    let mut all = JUKEBOXES.lock().unwrap_or_else(PoisonError::into_inner);
    all.retain(|w| w.strong_count() > 0);
    if let Some(shared) = all.iter().filter_map(Weak::upgrade).find(|j| j.config.shares_jukebox_with(config))
    {
        drop(all);
        if shared.config.rules != config.rules {
            // A full queue only delays the new rules to the operator's next change.
            let _ = shared.control(Control::Rules(config.rules));
        }
        return Ok(shared);
    }
    let jukebox = Arc::new(Jukebox::start(config.clone())?);
    all.push(Arc::downgrade(&jukebox));
    Ok(jukebox)
}

/// Drops references to stopped jukeboxes, and the buffer once empty (a static's heap is never
/// freed on unload). `try_lock`: a jukebox may be dropped inside [`acquire`].
fn forget_stopped() {
    if let Ok(mut all) = JUKEBOXES.try_lock() {
        all.retain(|w| w.strong_count() > 0);
        if all.is_empty() {
            *all = Vec::new();
        }
    }
}

/// Milliseconds since the Unix epoch (the queue's clock: it must survive a restart, and agree
/// between machines sharing a Redis).
fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The active visitor's player.
struct Player {
    visitor: String,
    engine: Arc<Engine>,
}

struct Runner {
    rules: Rules,
    sim: SimConfig,
    backend: Box<dyn Backend>,
    /// Spotify visitors' logins; `None` with simulated visitors.
    logins: Option<Logins>,
    /// The queue as last read or written.
    queue: Queue,
    /// Whether this machine runs the turns.
    leader: bool,
    /// Why the store cannot be used now (shown on the page and the operator).
    notice: Option<String>,
    board: Arc<BoardCell>,
    view: Arc<ViewCell>,
    graveyard: VecDeque<Arc<View>>,
    player: Option<Player>,
    last_board: Option<Board>,
    last_sent: Instant,
    changed_ms: u64,
}

impl Runner {
    fn run(mut self, stop: &AtomicBool, page: &Receiver<Command>, control: &Receiver<Control>) {
        let mut first = true;
        while !stop.load(Ordering::Acquire) {
            let now = now_ms();
            let mut commands: Vec<Command> = page.try_iter().collect();
            let mut turned_away = Vec::new();
            let mut joined = Vec::new();
            if let Some(logins) = &mut self.logins {
                for Command::Join { viewer } in std::mem::take(&mut commands) {
                    let in_line =
                        self.queue.visitors().iter().any(|v| v.viewer.as_deref() == Some(viewer.as_str()));
                    if in_line {
                        continue;
                    }
                    if let Err(e) = logins.start(&viewer) {
                        turned_away.push((viewer, "Visitor".to_owned(), e.to_string()));
                    }
                }
                for outcome in logins.poll() {
                    match outcome {
                        Outcome::Joined { viewer, id, name } => joined.push((viewer, id, name)),
                        Outcome::Refused { viewer, name, note } => turned_away.push((viewer, name, note)),
                    }
                }
            }
            let mut controls: Vec<Control> = control.try_iter().collect();
            controls.retain(|c| match c {
                Control::Rules(rules) => {
                    self.rules = *rules;
                    false
                }
                _ => true,
            });
            let quiet =
                commands.is_empty() && controls.is_empty() && joined.is_empty() && turned_away.is_empty();
            let mut result = if quiet && !first {
                Ok(())
            } else {
                self.change(&mut |q| {
                    for command in &commands {
                        page_command(q, command, now);
                    }
                    for (viewer, id, name) in &joined {
                        if let Err(e) = q.join(id, name, Some(viewer), now) {
                            q.turn_away(&format!("login-{viewer}"), name, Some(viewer), &e.to_string(), now);
                        }
                    }
                    for (viewer, name, note) in &turned_away {
                        q.turn_away(&format!("login-{viewer}"), name, Some(viewer), note, now);
                    }
                    for c in &controls {
                        control_command(q, c, now);
                    }
                })
            };
            first = false;
            match self.backend.hold_lease() {
                Ok(leader) => {
                    if leader != self.leader {
                        tracing::info!(backend = self.backend.name(), leader, "jukebox turn lease");
                    }
                    self.leader = leader;
                }
                Err(e) => {
                    self.leader = false;
                    result = Err(e);
                }
            }
            if result.is_ok() {
                result = if self.leader {
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
                } else {
                    self.backend.load().map(|q| self.queue = q)
                };
            }
            self.note(result.err());
            self.follow_active();
            self.publish(now);
            std::thread::park_timeout(TICK);
        }
        self.backend.release();
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

    /// Starts the active visitor's simulator when the turn changes hands.
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

    fn now_playing(&self) -> Option<NowPlaying> {
        let snapshot = self.player.as_ref()?.engine.snapshot();
        let playback = &snapshot.playback;
        let item = playback.item.as_ref()?;
        let id = item.id.clone().unwrap_or_else(|| item.uri.clone());
        Some(NowPlaying {
            hue: board::hue_of(&id),
            id,
            name: item.name.clone(),
            artists: item.artists.join(", "),
            album: item.album.clone(),
            art: board::safe_art(item.album_art_url.as_deref()),
            ts_ms: playback.timestamp_ms,
            pos_ms: playback.position_at(Instant::now()) * 1000.0,
            dur_ms: item.duration_ms,
            playing: playback.is_playing,
            rate: if playback.rate.is_finite() { playback.rate } else { 1.0 },
        })
    }

    fn build(&self, now: u64) -> Board {
        let rules = &self.rules;
        let queue = &self.queue;
        let entries = queue
            .visitors()
            .iter()
            .enumerate()
            .map(|(i, v)| Entry {
                position: i + 1,
                name: v.display_name.clone(),
                state: queue.state_at(i).as_str(),
            })
            .collect();
        let mut viewers = std::collections::HashMap::new();
        for d in queue.departures() {
            if let Some(key) = &d.viewer {
                viewers.insert(
                    key.clone(),
                    Mine {
                        position: None,
                        name: Some(d.display_name.clone()),
                        note: Some(d.note.clone()),
                        login: None,
                    },
                );
            }
        }
        for (i, v) in queue.visitors().iter().enumerate() {
            if let Some(key) = &v.viewer {
                viewers.insert(
                    key.clone(),
                    Mine {
                        position: Some(i + 1),
                        name: Some(v.display_name.clone()),
                        note: v.note.clone(),
                        login: None,
                    },
                );
            }
        }
        if let Some(logins) = &self.logins {
            for (viewer, url) in logins.pending() {
                viewers.insert(
                    viewer.to_owned(),
                    Mine {
                        note: Some("Log in to Spotify to join…".into()),
                        login: Some(url.to_owned()),
                        ..Mine::default()
                    },
                );
            }
        }
        Board {
            source: if self.logins.is_some() { "spotify" } else { "simulator" },
            now: self.now_playing(),
            active: queue.active().map(|v| v.display_name.clone()),
            turn_index: queue.turn_index(),
            turn_mode: rules.turn_mode.as_str(),
            turn_remaining_s: queue.turn_remaining_s(rules, now).map(f64::ceil),
            queue: entries,
            can_join: self.notice.is_none(),
            notice: self
                .notice
                .as_ref()
                .map(|_| "The queue is unreachable for a moment; try again shortly.".into()),
            changed_ms: self.changed_ms,
            sent_ms: now,
            viewers,
        }
    }

    /// The operators' view of this tick.
    fn view(&self, now: u64) -> View {
        let queue = &self.queue;
        let cell = |s: &str| CString::new(s.replace('\0', "")).unwrap_or_default();
        let mut visitors: Vec<Vec<CString>> = queue
            .visitors()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let state = queue.state_at(i).as_str();
                vec![
                    cell(&(i + 1).to_string()),
                    cell(&v.display_name),
                    cell(state),
                    cell(v.note.as_deref().unwrap_or("")),
                ]
            })
            .collect();
        visitors.extend(
            queue
                .departures()
                .iter()
                .rev()
                .map(|d| vec![cell(""), cell(&d.display_name), cell("left"), cell(&d.note)]),
        );
        View {
            player: self.player.as_ref().map(|p| Arc::clone(&p.engine)),
            queue_length: queue.len(),
            turn_remaining_s: queue.turn_remaining_s(&self.rules, now).unwrap_or(0.0),
            turn_index: queue.turn_index(),
            runs_turns: self.leader,
            visitors,
            notice: self.notice.as_deref().map(cell),
        }
    }

    /// Publishes the operators' view every tick, and the page's board when something the page
    /// shows changed (the position moves by itself on the page), and at least every [`HEARTBEAT`].
    fn publish(&mut self, now: u64) {
        let old = self.view.swap(Arc::new(self.view(now)));
        self.graveyard.push_back(old);
        if self.graveyard.len() > GRAVEYARD {
            self.graveyard.pop_front();
        }
        let mut board = self.build(now);
        let comparable = |b: &Board| {
            let mut b = b.clone();
            b.sent_ms = 0;
            b.changed_ms = 0;
            if let Some(n) = &mut b.now {
                n.pos_ms = 0.0;
                n.ts_ms = 0;
            }
            b
        };
        let track = |b: Option<&Board>| b.and_then(|b| b.now.as_ref().map(|n| n.id.clone()));
        if track(Some(&board)) != track(self.last_board.as_ref()) {
            self.changed_ms = now;
            board.changed_ms = now;
        }
        let same = self.last_board.as_ref().is_some_and(|last| comparable(last) == comparable(&board));
        if same && self.last_sent.elapsed() < HEARTBEAT {
            return;
        }
        self.board.publish(board.clone());
        self.last_board = Some(board);
        self.last_sent = Instant::now();
    }
}

/// A browser's command, applied to the newest queue.
fn page_command(queue: &mut Queue, command: &Command, now: u64) {
    match command {
        Command::Join { viewer } => {
            if queue.visitors().iter().any(|v| v.viewer.as_deref() == Some(viewer.as_str())) {
                return;
            }
            // Simulated visitors are numbered; a number is never reused while its visitor is known.
            let used = queue
                .visitors()
                .iter()
                .map(|v| v.id.as_str())
                .chain(queue.departures().iter().map(|d| d.id.as_str()))
                .filter_map(|id| id.strip_prefix("sim-")?.parse::<u64>().ok())
                .max()
                .unwrap_or(0);
            let n = used + 1;
            if let Err(e) = queue.join(&format!("sim-{n}"), &format!("Visitor {n}"), Some(viewer), now) {
                tracing::warn!(error = %e, "jukebox join refused");
            }
        }
    }
}

/// An operator's command, applied to the newest queue.
fn control_command(queue: &mut Queue, control: &Control, now: u64) {
    match control {
        Control::Skip => {
            queue.skip(now);
        }
        Control::Remove { who } => {
            if let Some(id) = queue.find(who).map(|v| v.id.clone()) {
                queue.remove(&id, "removed by the operator", now);
            }
        }
        Control::Clear => {
            queue.clear(now);
        }
        Control::Rules(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    fn send(port: u16, request: &str) -> TcpStream {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        s
    }

    /// Reads events from `stream` until one satisfies `want`.
    fn until(stream: &mut TcpStream, want: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let mut buf = String::new();
        let mut last = serde_json::Value::Null;
        let mut chunk = [0u8; 8192];
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "stream closed");
            buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                    let event: serde_json::Value = serde_json::from_str(data).unwrap();
                    if want(&event) {
                        return event;
                    }
                    last = event;
                }
            }
        }
        panic!("no such event; the last one: {last}");
    }

    #[test]
    fn a_visitor_joins_plays_and_the_operator_controls_the_queue() {
        let dir = std::env::temp_dir().join(format!("td-spotify-jukebox-run-{}", rand::random::<u32>()));
        let jukebox = Jukebox::start(JukeboxConfig {
            rules: Rules { turn_length_s: 600.0, ..Rules::default() },
            bind: Bind::Loopback,
            port: 0,
            store_dir: Some(dir.clone()),
            sim: SimConfig { seed: 5, speed: 1.0 },
            redis: None,
            spotify: None,
        })
        .unwrap();
        let port: u16 = jukebox.url().trim_end_matches('/').rsplit(':').next().unwrap().parse().unwrap();
        let cookie = "Cookie: jukebox_viewer=k1\r\n";
        let mut events = send(port, &format!("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n{cookie}\r\n"));
        let first = until(&mut events, |_| true);
        assert_eq!(first["queue"], serde_json::json!([]));
        assert!(first["now"].is_null(), "nobody plays: {first}");
        drop(send(
            port,
            &format!("POST /join HTTP/1.1\r\nHost: 127.0.0.1\r\n{cookie}Content-Length: 0\r\n\r\n"),
        ));
        let playing = until(&mut events, |e| e["me"]["position"] == 1 && !e["now"].is_null());
        assert_eq!(playing["active"], "Visitor 1");
        assert_eq!(playing["turn_index"], 1);
        assert!(playing["turn_remaining_s"].as_f64().unwrap() > 590.0);
        jukebox.control(Control::Skip).unwrap();
        until(&mut events, |e| e["turn_index"] == 2);
        jukebox.control(Control::Clear).unwrap();
        let cleared = until(&mut events, |e| e["queue"] == serde_json::json!([]));
        assert_eq!(cleared["me"]["note"], "the operator cleared the queue");
        assert!(cleared["now"].is_null());
        let started = Instant::now();
        jukebox.stop();
        assert!(started.elapsed() < Duration::from_secs(2), "stop took {:?}", started.elapsed());
        let saved = QueueStore::new(Some(&dir)).unwrap().load().unwrap();
        assert!(saved.is_empty());
        assert_eq!(saved.note_for("sim-1"), Some("the operator cleared the queue"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
