//! Juke-V-Box: visitors take turns, and a live page shows what the active one plays.
//!
//! Built on the engine's public API (the engine knows nothing of the jukebox):
//! - [`queue`]: the line of visitors and its rules (`Turnlength`, `Turnmode`, `Idletimeout`),
//!   pure logic with the clock passed in;
//! - [`store`]: the queue persisted atomically beside the token store;
//! - [`board`]: what the page may show (never a token, a user id or another browser's key);
//! - [`server`] and [`page`]: the page at `/` and its Server-Sent Events at `/events`;
//! - [`Jukebox`]: runs all of it on its own threads, following the active visitor's player.
//!
//! Simulated visitors each get their own simulator (seed = base seed + visitor number), started
//! when their turn begins. Spotify visitors (several accounts in one store) are not built yet.

pub mod board;
pub mod page;
pub mod queue;
pub mod server;
pub mod store;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender};

use crate::config::SourceConfig;
use crate::engine::simulator::SimConfig;
use crate::engine::Engine;
use board::{Board, Entry, Mine, NowPlaying};
use queue::{Observation, Queue, Rules};
use server::{Bind, BoardCell, Command, PageServer};
use store::QueueStore;

/// How often the jukebox looks at the active player (also the page's worst-case extra delay).
const TICK: Duration = Duration::from_millis(50);
/// The page gets a fresh position at least this often, even when nothing changed.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// Everything a jukebox is started with.
#[derive(Debug, Clone)]
pub struct JukeboxConfig {
    pub rules: Rules,
    /// `Pagebind`.
    pub bind: Bind,
    /// Port of the page; 0 picks a free one.
    pub port: u16,
    /// Directory of the queue file (the token store's); `None` = the OS's config directory.
    pub store_dir: Option<PathBuf>,
    /// Simulated visitors: visitor N plays seed `sim.seed + N` at `sim.speed`.
    pub sim: SimConfig,
}

/// What the operator asks (the `Skip`, `Removevisitor`, `Clearqueue` pulses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    Skip,
    Remove { id: String },
    Clear,
}

/// Why the jukebox could not start.
#[derive(Debug, thiserror::Error)]
pub enum JukeboxError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Server(#[from] server::ServerError),
    #[error("could not start the jukebox thread: {0}")]
    Thread(std::io::Error),
    #[error("the jukebox is busy; the command was dropped, try again")]
    Busy,
}

/// A running jukebox: the page server and the queue thread. Dropping it stops and joins both.
pub struct Jukebox {
    server: Option<PageServer>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    control: Sender<Control>,
}

impl std::fmt::Debug for Jukebox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jukebox").field("server", &self.server).finish_non_exhaustive()
    }
}

impl Jukebox {
    /// Loads the saved queue, serves the page and starts following the active visitor.
    pub fn start(config: JukeboxConfig) -> Result<Jukebox, JukeboxError> {
        let store = QueueStore::new(config.store_dir.as_deref())?;
        let queue = store.load()?;
        let board = Arc::new(BoardCell::default());
        let (page_tx, page_rx) = crossbeam_channel::bounded(64);
        let (control_tx, control_rx) = crossbeam_channel::bounded(64);
        let server = PageServer::start(config.bind, config.port, Arc::clone(&board), page_tx)?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let runner = Runner {
            config,
            store,
            saved: queue.clone(),
            queue,
            board,
            player: None,
            last_board: None,
            last_sent: Instant::now(),
            changed_ms: now_ms(),
        };
        let thread = std::thread::Builder::new()
            .name("td-spotify-jukebox".into())
            .spawn(move || runner.run(&thread_stop, &page_rx, &control_rx))
            .map_err(JukeboxError::Thread)?;
        Ok(Jukebox { server: Some(server), stop, thread: Some(thread), control: control_tx })
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        self.server.as_ref().map(PageServer::local_url).unwrap_or_default()
    }

    /// Sends an operator command without waiting.
    pub fn control(&self, control: Control) -> Result<(), JukeboxError> {
        self.control.try_send(control).map_err(|_| JukeboxError::Busy)
    }

    /// Stops the page and the queue thread and waits for them.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(server) = self.server.take() {
            server.stop();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Jukebox {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Milliseconds since the Unix epoch (the queue's clock: it must survive a restart).
fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The active visitor's player.
struct Player {
    visitor: String,
    engine: Engine,
}

struct Runner {
    config: JukeboxConfig,
    store: QueueStore,
    queue: Queue,
    /// The queue as last saved.
    saved: Queue,
    board: Arc<BoardCell>,
    player: Option<Player>,
    last_board: Option<Board>,
    last_sent: Instant,
    changed_ms: u64,
}

impl Runner {
    fn run(mut self, stop: &AtomicBool, page: &Receiver<Command>, control: &Receiver<Control>) {
        while !stop.load(Ordering::Acquire) {
            let now = now_ms();
            for command in page.try_iter() {
                self.page_command(command, now);
            }
            for command in control.try_iter() {
                self.control(command, now);
            }
            self.follow_active();
            let obs = self.observe();
            self.queue.observe(&self.config.rules, &obs, now);
            self.follow_active();
            self.save();
            self.publish(now);
            std::thread::sleep(TICK);
        }
        self.save();
    }

    fn page_command(&mut self, command: Command, now: u64) {
        match command {
            Command::Join { viewer } => {
                if self.queue.visitors().iter().any(|v| v.viewer.as_deref() == Some(viewer.as_str())) {
                    return;
                }
                // Simulated visitors are numbered; a number is never reused while its visitor is known.
                let used = self
                    .queue
                    .visitors()
                    .iter()
                    .map(|v| v.id.as_str())
                    .chain(self.queue.departures().iter().map(|d| d.id.as_str()))
                    .filter_map(|id| id.strip_prefix("sim-")?.parse::<u64>().ok())
                    .max()
                    .unwrap_or(0);
                let n = used + 1;
                if let Err(e) =
                    self.queue.join(&format!("sim-{n}"), &format!("Visitor {n}"), Some(&viewer), now)
                {
                    tracing::warn!(error = %e, "jukebox join refused");
                }
            }
        }
    }

    fn control(&mut self, control: Control, now: u64) {
        match control {
            Control::Skip => self.queue.skip(now),
            Control::Remove { id } => self.queue.remove(&id, "removed by the operator", now),
            Control::Clear => self.queue.clear(now),
        };
    }

    /// Starts the active visitor's simulator when the turn changes hands.
    fn follow_active(&mut self) {
        let active = self.queue.active().map(|v| v.id.clone());
        if self.player.as_ref().map(|p| &p.visitor) == active.as_ref() {
            return;
        }
        // Dropping the old engine joins its thread (short: the simulator never blocks).
        self.player = None;
        let Some(visitor) = active else { return };
        let n = visitor.strip_prefix("sim-").and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        let sim = SimConfig { seed: self.config.sim.seed.wrapping_add(n), speed: self.config.sim.speed };
        match Engine::start(SourceConfig::Simulator(sim)) {
            Ok(engine) => self.player = Some(Player { visitor, engine }),
            Err(e) => tracing::warn!(error = %e, "jukebox could not start a visitor's player"),
        }
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

    fn save(&mut self) {
        if self.queue == self.saved {
            return;
        }
        match self.store.save(&self.queue) {
            Ok(()) => self.saved = self.queue.clone(),
            // Kept in memory; the next change tries again.
            Err(e) => tracing::warn!(error = %e, "jukebox queue not saved"),
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
        let rules = &self.config.rules;
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
                    Mine { position: None, name: Some(d.display_name.clone()), note: Some(d.note.clone()) },
                );
            }
        }
        for (i, v) in queue.visitors().iter().enumerate() {
            if let Some(key) = &v.viewer {
                viewers.insert(
                    key.clone(),
                    Mine { position: Some(i + 1), name: Some(v.display_name.clone()), note: v.note.clone() },
                );
            }
        }
        Board {
            source: "simulator",
            now: self.now_playing(),
            active: queue.active().map(|v| v.display_name.clone()),
            turn_index: queue.turn_index(),
            turn_mode: rules.turn_mode.as_str(),
            turn_remaining_s: queue.turn_remaining_s(rules, now).map(f64::ceil),
            queue: entries,
            can_join: true,
            notice: None,
            changed_ms: self.changed_ms,
            sent_ms: now,
            viewers,
        }
    }

    /// Publishes the board when something the page shows changed (the position moves by
    /// itself on the page), and at least every [`HEARTBEAT`].
    fn publish(&mut self, now: u64) {
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
