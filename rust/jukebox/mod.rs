//! Juke-V-Box: visitors take turns, and a live page shows what the active one plays.
//!
//! Built on the engine's public API (the engine knows nothing of the jukebox):
//! - [`queue`]: the line of visitors and its rules (`Turnlength`, `Turnmode`, `Idletimeout`),
//!   pure logic with the clock passed in;
//! - [`store`]: the queue persisted atomically beside the token store;
//! - [`board`]: what the page may show (never a token, a user id or another browser's key);
//! - [`server`] and [`page`]: the page at `/` and its Server-Sent Events at `/events`;
//! - [`Jukebox`]: runs all of it on its own threads, following the active visitor's player;
//! - `runner`, `commands` and `publish`: the jukebox thread's loop, what it applies to the queue
//!   each tick, and the view and board it publishes;
//! - [`backend`]: where the queue lives (the file, or a Redis shared by several machines, with
//!   the turn lease);
//! - [`visitors`]: Spotify visitors' logins, kept by Spotify user id.
//!
//! Simulated visitors each get their own simulator (seed = base seed + visitor number), started
//! when their turn begins; Spotify visitors get an engine following their own account.

pub mod backend;
pub mod board;
mod commands;
pub mod page;
mod publish;
pub mod queue;
mod runner;
pub mod server;
pub mod store;
pub mod visitors;

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam_channel::Sender;

use crate::config::SpotifyConfig;
use crate::engine::os_thread::{self, OsThread};
use crate::engine::{Engine, STOP_WAIT};
use crate::model::SimConfig;
use backend::{Backend, BackendError, FileBackend, RedisBackend, RedisConfig};
use queue::Rules;
use runner::Runner;
use server::{Bind, BoardCell, PageServer};
use store::QueueStore;
use visitors::Logins;

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
        let runner = Runner::new(&config, backend, logins, board, Arc::clone(&view));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Instant;

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
