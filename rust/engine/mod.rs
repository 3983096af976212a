//! The engine: one thread with its own tokio runtime that turns a [`Source`] into snapshots.
//!
//! Data flows one way: the source observes playback, the engine builds an immutable
//! [`Snapshot`] and publishes it ([`latest`]); readers pin the current one without waiting.
//! Commands (pulses, new settings) flow back over one bounded crossbeam channel and wake the loop.
//!
//! # Lifecycle: TouchDesigner's thread never waits on the network
//! Dropping the last [`Engine`] handle (an operator destroyed, Active off, a new Client ID) only
//! *tells* the engine to stop and waits at most [`STOP_WAIT`] for it:
//! - the whole loop future races a stop signal, so an in-flight request, a queued pulse's
//!   command or a login exchange is dropped (its socket closed) at the next poll of the runtime;
//!   pulses still queued are dropped with the channel;
//! - the runtime is then shut down with `shutdown_background`, which never waits for tokio's
//!   blocking pool: a DNS lookup hanging in `getaddrinfo` finishes on its own thread later;
//! - the thread is joined if it finished within the bound (the usual case: well under a
//!   millisecond), detached otherwise. [`os_thread`] explains why a detached thread cannot crash
//!   a later `dlclose` (it only delays the unmapping).
//!
//! The runtime is built and dropped inside the engine thread: dropping a runtime from async code
//! panics. The engine thread is started without `std::thread::spawn` and readers use no
//! thread-local state, so nothing is left registered on TouchDesigner's thread and "Unload
//! Plugin" unmaps the library.
//!
//! An engine whose thread died (a panic, a runtime that could not start) says so
//! ([`Engine::is_dead`]); the registry never hands it to a new operator.

pub mod art;
mod doorbell;
mod latest;
pub mod os_thread;
pub mod poller;
mod registry;
pub mod simulator;
pub mod snapshot;
pub mod source;
pub mod spotify;
pub mod tempo;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::Notify;

use crate::config::SourceConfig;
use crate::model::playback::{Item, Playback};
use crate::model::{Pulse, Stats};
use crate::schema::Status;
use doorbell::{Bell, Door};
use latest::Latest;
use os_thread::OsThread;
use snapshot::{EngineState, Snapshot};
use source::{Source, Update};

pub use registry::acquire;

/// Number of engine threads alive in this process (for the Info CHOP and the leak tests).
static ENGINE_THREADS: AtomicUsize = AtomicUsize::new(0);

/// How many engine threads are running now.
pub fn engine_threads() -> usize {
    ENGINE_THREADS.load(Ordering::Relaxed)
}

/// Commands the engine accepts; more than this many pending means the engine is stuck.
const COMMAND_CAPACITY: usize = 64;

/// How long dropping the last handle waits for the engine thread before detaching it. The
/// thread normally ends in well under a millisecond; TouchDesigner's Destroy must return in 5 ms,
/// and a new Client ID both stops one engine and starts another within that, on a busy machine
/// too. A thread that ends later only delays the unmapping to a later dlclose.
pub const STOP_WAIT: Duration = Duration::from_millis(1);

/// What operators send to the engine.
#[derive(Debug)]
enum Command {
    Pulse(Pulse),
    /// New settings for the source (same account: see [`SourceConfig::shares_engine_with`]).
    Configure(Box<SourceConfig>),
}

/// Why the engine could not do something.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("could not start the engine thread: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("the engine is busy; {what} was dropped, try again")]
    Busy { what: &'static str },
    #[error("the engine has stopped")]
    Stopped,
}

/// State shared between the engine thread and its readers.
struct Shared {
    snapshot: Latest,
    shutdown: AtomicBool,
    /// Set when the thread ended without being told to (a panic, no runtime).
    dead: AtomicBool,
}

/// A running engine. Dropping the last handle stops it without waiting on the network.
pub struct Engine {
    shared: Arc<Shared>,
    commands: Sender<Command>,
    /// Wakes the engine after a command or the stop.
    bell: Bell,
    thread: Option<OsThread>,
    /// The settings last sent to the source. Only operators (TouchDesigner's main thread) lock
    /// it, and only when a parameter changed.
    config: Mutex<SourceConfig>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("config", &self.config()).finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts an engine for `config` on a new thread. Prefer [`acquire`], which shares engines.
    pub fn start(config: SourceConfig) -> Result<Engine, EngineError> {
        let source_config = config.clone();
        Engine::start_with(config, move |now| make_source(&source_config, now))
    }

    /// Starts an engine that runs the source `make` builds on the engine thread (the CLI and
    /// tests bring their own; `config` names it for sharing and debugging).
    pub fn start_with<F>(config: SourceConfig, make: F) -> Result<Engine, EngineError>
    where
        F: FnOnce(Instant) -> Box<dyn Source> + Send + 'static,
    {
        let source_name = match &config {
            SourceConfig::Simulator(_) => "simulator",
            SourceConfig::Spotify(_) => "spotify",
        };
        let shared = Arc::new(Shared {
            snapshot: Latest::new(Arc::new(Snapshot::empty(source_name, Status::Connecting))),
            shutdown: AtomicBool::new(false),
            dead: AtomicBool::new(false),
        });
        let (tx, rx) = crossbeam_channel::bounded(COMMAND_CAPACITY);
        let (bell, door) = doorbell::doorbell().map_err(EngineError::Spawn)?;
        let thread_shared = Arc::clone(&shared);
        let art_config = config.clone();
        ENGINE_THREADS.fetch_add(1, Ordering::Relaxed);
        let thread = os_thread::spawn("td-spotify-engine", move || {
            run(&thread_shared, rx, door, &art_config, make);
            if !thread_shared.shutdown.load(Ordering::Acquire) {
                thread_shared.dead.store(true, Ordering::Release);
            }
            ENGINE_THREADS.fetch_sub(1, Ordering::Relaxed);
        })
        .map_err(|e| {
            ENGINE_THREADS.fetch_sub(1, Ordering::Relaxed);
            EngineError::Spawn(e)
        })?;
        Ok(Engine { shared, commands: tx, bell, thread: Some(thread), config: Mutex::new(config) })
    }

    /// The configuration this engine runs.
    pub fn config(&self) -> SourceConfig {
        self.config.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Whether the engine runs `config` exactly (no reconfiguration needed).
    pub fn runs(&self, config: &SourceConfig) -> bool {
        *self.config.lock().unwrap_or_else(PoisonError::into_inner) == *config
    }

    /// Hands new settings of the same account to the running source (Port, Pollinterval…): they
    /// take effect at the engine's next turn, without a new engine. Never blocks.
    pub fn configure(&self, config: &SourceConfig) -> Result<(), EngineError> {
        let mut current = self.config.lock().unwrap_or_else(PoisonError::into_inner);
        if *current == *config {
            return Ok(());
        }
        self.send(Command::Configure(Box::new(config.clone())), "the new settings")?;
        *current = config.clone();
        Ok(())
    }

    /// Whether the engine thread died (panicked, or its runtime could not start): such an engine
    /// publishes nothing more and must not be shared with a new operator.
    pub fn is_dead(&self) -> bool {
        self.shared.dead.load(Ordering::Acquire)
    }

    /// The current snapshot. May wait a few nanoseconds for the engine's swap; cooks use
    /// [`Engine::try_snapshot`].
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.shared.snapshot.load()
    }

    /// The current snapshot, unless the engine is swapping it right now (then the caller keeps
    /// the one it has, one frame older). Never waits, never allocates: one reference-count
    /// increment.
    pub fn try_snapshot(&self) -> Option<Arc<Snapshot>> {
        self.shared.snapshot.try_load()
    }

    /// Sends a pulse without blocking; a full queue drops it and says so.
    pub fn pulse(&self, pulse: Pulse) -> Result<(), EngineError> {
        self.send(Command::Pulse(pulse), "the pulse")
    }

    fn send(&self, command: Command, what: &'static str) -> Result<(), EngineError> {
        match self.commands.try_send(command) {
            Ok(()) => {
                self.bell.ring();
                Ok(())
            }
            Err(TrySendError::Full(_)) => Err(EngineError::Busy { what }),
            Err(TrySendError::Disconnected(_)) => Err(EngineError::Stopped),
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Release);
        // The loop checks the flag after every ring, so the stop is never lost.
        self.bell.ring();
        if let Some(thread) = self.thread.take() {
            // Joined if it ended in time (nearly always), detached otherwise: see the module doc.
            thread.finish_within(STOP_WAIT);
        }
        registry::forget_stopped();
    }
}

/// Builds the source an engine runs. Called on the engine's runtime.
fn make_source(config: &SourceConfig, now: Instant) -> Box<dyn Source> {
    match config {
        SourceConfig::Simulator(sim) => Box::new(simulator::Simulator::new(*sim, now)),
        SourceConfig::Spotify(spotify) => Box::new(spotify::SpotifySource::new(spotify)),
    }
}

/// The cover downloader for `config`: covers are cached under `art/` of the token folder when
/// one is set, else of the per-user cache directory. Built on the engine thread: loading TLS
/// roots is no work for TouchDesigner's main thread.
fn art_worker(config: &SourceConfig) -> art::ArtWorker {
    use art::fetch::{is_loopback_url, Fetcher, Limits};
    let fetcher = match config {
        // The simulator's covers are in memory.
        SourceConfig::Simulator(_) => Err("the simulator has no cover URLs".to_owned()),
        SourceConfig::Spotify(spotify) => {
            let cache = spotify.cache_dir.as_ref().map(|d| d.join("art")).or_else(Fetcher::default_cache_dir);
            Fetcher::new(cache, Limits::default(), !is_loopback_url(&spotify.api_url))
                .map_err(|e| e.to_string())
        }
    };
    art::ArtWorker::new(fetcher)
}

/// The engine thread's body: builds the runtime, runs the loop until told to stop, then shuts
/// the runtime down without waiting for its blocking pool.
fn run(
    shared: &Shared,
    commands: Receiver<Command>,
    door: Door,
    config: &SourceConfig,
    make: impl FnOnce(Instant) -> Box<dyn Source>,
) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                publish_fatal(shared, &format!("could not start the engine's runtime: {e}"));
                return;
            }
        };
        runtime.block_on(async {
            let door = match door.open() {
                Ok(door) => door,
                Err(e) => return publish_fatal(shared, &format!("could not start the engine: {e}")),
            };
            let wake = Notify::new();
            // The doorbell relay decides: a ring with the stop flag set ends the engine at once,
            // dropping the loop and whatever it awaits; any other ring wakes the loop.
            let relay = async {
                loop {
                    if shared.shutdown.load(Ordering::Acquire) {
                        return;
                    }
                    door.rung().await;
                    wake.notify_one();
                }
            };
            tokio::select! {
                biased;
                () = relay => {}
                () = async {
                    // Built inside the runtime: sources may create runtime-bound resources.
                    let source = make(Instant::now());
                    engine_loop(shared, &wake, &commands, source, art_worker(config)).await;
                } => {}
            }
        });
        // Dropping the loop above cancelled every request; what remains in the blocking pool
        // (a DNS lookup) ends on its own thread.
        runtime.shutdown_background();
    }));
    if outcome.is_err() {
        publish_fatal(shared, "the engine stopped after an internal error; recreate the operator");
    }
}

fn publish_fatal(shared: &Shared, message: &str) {
    let state = EngineState {
        status: Some(Status::Error),
        error: Some(message.to_owned()),
        ..EngineState::default()
    };
    let source = shared.snapshot.load().source;
    let old =
        shared.snapshot.swap(Arc::new(Snapshot::build(source, Playback::idle(Instant::now()), &state, 0, 0)));
    // A reader may still hold the old one; whoever drops it last frees it (a dead engine's last
    // snapshot, once: not worth a graveyard).
    drop(old);
}

async fn engine_loop(
    shared: &Shared,
    wake: &Notify,
    commands: &Receiver<Command>,
    mut source: Box<dyn Source>,
    mut art: art::ArtWorker,
) {
    let mut publisher = Publisher::new(source.name());
    let mut pulse_note: Option<String> = None;
    loop {
        if shared.shutdown.load(Ordering::Acquire) {
            return;
        }
        while let Ok(command) = commands.try_recv() {
            match command {
                Command::Pulse(pulse) => {
                    if pulse == Pulse::ResetCounters {
                        publisher.reset_counters();
                    }
                    pulse_note = source.pulse(pulse).await;
                }
                Command::Configure(config) => source.configure(&config),
            }
        }
        let update = tokio::select! {
            update = source.poll(Instant::now()) => update,
            () = wake.notified() => continue,
        };
        let next_poll = update.next_poll;
        if publisher.absorb(update, pulse_note.take()) {
            // A new item: ask for its cover (the answer arrives below, off the cook path).
            let cover = publisher.last.item.as_ref().map_or(art::Cover::None, |item| source.cover(item));
            art.request(cover);
        }
        publisher.publish(shared, art.view());
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(next_poll.into()) => break,
                () = wake.notified() => break,
                () = art.next() => publisher.publish(shared, art.view()),
            }
        }
    }
}

/// Turns updates into snapshots and keeps the counters that span them.
struct Publisher {
    source: &'static str,
    last: Playback,
    last_item: Option<Item>,
    state: EngineState,
    track_seq: u64,
    track_count: u64,
    /// Snapshots replaced while a reader may still hold them; freed here, never in a cook.
    graveyard: Vec<Arc<Snapshot>>,
    /// The source's counters at the last Resetcounters pulse.
    stats_base: Stats,
    /// The source's counters as it last reported them.
    stats_raw: Stats,
}

impl Publisher {
    fn new(source: &'static str) -> Self {
        Publisher {
            source,
            last: Playback::idle(Instant::now()),
            last_item: None,
            state: EngineState::default(),
            track_seq: 0,
            track_count: 0,
            graveyard: Vec::new(),
            stats_base: Stats::default(),
            stats_raw: Stats::default(),
        }
    }

    /// Resetcounters: counts start again from 0 (the source keeps its own totals).
    fn reset_counters(&mut self) {
        self.track_count = 0;
        self.stats_base = self.stats_raw;
    }

    /// Takes in an update; returns whether a new item started.
    fn absorb(&mut self, update: Update, note: Option<String>) -> bool {
        let mut new_item = false;
        if let Some(playback) = update.playback {
            match (&playback.item, &self.last_item) {
                (Some(new), Some(old)) if new.same_item(old) => {}
                (Some(_), _) => {
                    self.track_seq += 1;
                    self.track_count += 1;
                    new_item = true;
                }
                (None, _) => {}
            }
            self.last_item.clone_from(&playback.item);
            self.last = playback;
        }
        self.state = update.state;
        self.stats_raw = self.state.stats;
        let base = self.stats_base;
        let stats = &mut self.state.stats;
        stats.requests = stats.requests.saturating_sub(base.requests);
        stats.errors = stats.errors.saturating_sub(base.errors);
        stats.rate_limited = stats.rate_limited.saturating_sub(base.rate_limited);
        if let Some(note) = note {
            self.state.warning.get_or_insert(note);
        }
        new_item
    }

    /// Publishes what it knows, with the palette `art`.
    fn publish(&mut self, shared: &Shared, art: &art::ArtView) {
        let mut snapshot =
            Snapshot::build(self.source, self.last.clone(), &self.state, self.track_seq, self.track_count);
        snapshot.set_art(art);
        let old = shared.snapshot.swap(Arc::new(snapshot));
        self.graveyard.push(old);
        // Only the graveyard holds these now, so no reader can be the one to free them.
        self.graveyard.retain(|s| Arc::strong_count(s) > 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SimConfig;
    use std::time::Duration;

    #[test]
    fn engine_publishes_and_joins() {
        let engine = Engine::start(SourceConfig::Simulator(SimConfig { seed: 1, speed: 10.0 })).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while engine.snapshot().status != Status::Playing {
            assert!(Instant::now() < deadline, "no snapshot published");
            std::thread::sleep(Duration::from_millis(5));
        }
        let snap = engine.snapshot();
        assert_eq!(snap.track_count, 1);
        assert!(snap.connected);
        engine.pulse(Pulse::ResetCounters).unwrap();
        drop(engine);
    }

    /// A source whose every request hangs, and whose poll waits in tokio's blocking pool (a DNS
    /// lookup that never answers).
    struct Hanging;

    impl Source for Hanging {
        fn name(&self) -> &'static str {
            "hanging"
        }

        fn poll(&mut self, _now: Instant) -> crate::model::BoxFuture<'_, Update> {
            Box::pin(async {
                let _ = tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(1500))).await;
                std::future::pending().await
            })
        }

        fn pulse(&mut self, _pulse: Pulse) -> crate::model::BoxFuture<'_, Option<String>> {
            Box::pin(std::future::pending())
        }
    }

    #[test]
    fn dropping_never_waits_for_hanging_requests_pulses_or_dns() {
        // Waiting on the hang would take 1.5 s. On a busy 2-core machine a drop can still be
        // preempted past 5 ms now and then, so each attempt must be far from the hang and one of
        // three must be within the 5 ms budget.
        let mut fastest = Duration::MAX;
        for _ in 0..3 {
            let threads = engine_threads();
            let engine =
                Engine::start_with(SourceConfig::Simulator(SimConfig { seed: 7, speed: 1.0 }), |_| {
                    Box::new(Hanging)
                })
                .unwrap();
            std::thread::sleep(Duration::from_millis(50));
            for _ in 0..10 {
                engine.pulse(Pulse::Next).unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
            let t0 = Instant::now();
            drop(engine);
            let took = t0.elapsed();
            assert!(took < Duration::from_millis(500), "dropping the engine waited {took:?}");
            fastest = fastest.min(took);
            let deadline = Instant::now() + Duration::from_secs(2);
            while engine_threads() > threads && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if fastest < Duration::from_millis(5) {
                return;
            }
        }
        panic!("dropping the engine took at least {fastest:?} in three attempts");
    }

    #[test]
    fn settings_reach_the_running_source() {
        let engine = Engine::start(SourceConfig::Simulator(SimConfig { seed: 8, speed: 1.0 })).unwrap();
        let other = SourceConfig::Simulator(SimConfig { seed: 8, speed: 2.0 });
        assert!(!engine.runs(&other));
        engine.configure(&other).unwrap();
        assert!(engine.runs(&other));
        assert_eq!(engine.config(), other);
    }
}
