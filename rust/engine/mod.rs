//! The engine: one thread with its own tokio runtime that turns a [`Source`] into snapshots.
//!
//! Data flows one way: the source observes playback, the engine builds an immutable
//! [`Snapshot`] and publishes it with an atomic swap; readers pin the current one without
//! locking. Commands (pulses) flow back over one bounded crossbeam channel and wake the loop.
//!
//! The runtime is built and dropped inside the engine thread: dropping a runtime from async code
//! panics, and joining the thread in [`Drop`] guarantees that no thread outlives the last
//! operator (so TouchDesigner can unload the plugin).

pub mod art;
pub mod playback;
pub mod poller;
mod registry;
pub mod simulator;
pub mod snapshot;
pub mod source;
pub mod spotify;
pub mod tempo;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use arc_swap::ArcSwap;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::Notify;

use crate::config::SourceConfig;
use crate::schema::Status;
use playback::{Item, Playback};
use snapshot::{EngineState, Snapshot, Stats};
use source::{Pulse, Source, Update};

pub use registry::acquire;

/// Number of engine threads alive in this process (for the Info CHOP and the leak tests).
static ENGINE_THREADS: AtomicUsize = AtomicUsize::new(0);

/// How many engine threads are running now.
pub fn engine_threads() -> usize {
    ENGINE_THREADS.load(Ordering::Relaxed)
}

/// Commands the engine accepts; more than this many pending means the engine is stuck.
const COMMAND_CAPACITY: usize = 64;

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
    snapshot: ArcSwap<Snapshot>,
    wake: Notify,
    shutdown: AtomicBool,
}

/// A running engine. Dropping the last handle stops and joins its thread.
pub struct Engine {
    shared: Arc<Shared>,
    commands: Sender<Pulse>,
    thread: Option<JoinHandle<()>>,
    config: SourceConfig,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("config", &self.config).finish_non_exhaustive()
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
            snapshot: ArcSwap::from_pointee(Snapshot::empty(source_name, Status::Connecting)),
            wake: Notify::new(),
            shutdown: AtomicBool::new(false),
        });
        let (tx, rx) = crossbeam_channel::bounded(COMMAND_CAPACITY);
        let thread_shared = Arc::clone(&shared);
        let art_config = config.clone();
        ENGINE_THREADS.fetch_add(1, Ordering::Relaxed);
        let thread = std::thread::Builder::new()
            .name("td-spotify-engine".into())
            .spawn(move || {
                run(thread_shared, rx, &art_config, make);
                ENGINE_THREADS.fetch_sub(1, Ordering::Relaxed);
            })
            .map_err(|e| {
                ENGINE_THREADS.fetch_sub(1, Ordering::Relaxed);
                EngineError::Spawn(e)
            })?;
        Ok(Engine { shared, commands: tx, thread: Some(thread), config })
    }

    /// The configuration this engine runs.
    pub fn config(&self) -> &SourceConfig {
        &self.config
    }

    /// The current snapshot. Lock-free and allocation-free: one reference-count increment.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.shared.snapshot.load_full()
    }

    /// Sends a pulse without blocking; a full queue drops it and says so.
    pub fn pulse(&self, pulse: Pulse) -> Result<(), EngineError> {
        match self.commands.try_send(pulse) {
            Ok(()) => {
                self.shared.wake.notify_one();
                Ok(())
            }
            Err(TrySendError::Full(_)) => Err(EngineError::Busy { what: "the pulse" }),
            Err(TrySendError::Disconnected(_)) => Err(EngineError::Stopped),
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            // The thread catches its own panics, so join only fails if it aborted anyway.
            let _ = thread.join();
        }
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

/// The engine thread's body: builds the runtime, runs the loop, drops the runtime.
fn run(
    shared: Arc<Shared>,
    commands: Receiver<Pulse>,
    config: &SourceConfig,
    make: impl FnOnce(Instant) -> Box<dyn Source>,
) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                publish_fatal(&shared, &format!("could not start the engine's runtime: {e}"));
                return;
            }
        };
        // Built inside the runtime: sources may create runtime-bound resources (HTTP clients).
        runtime.block_on(async {
            let source = make(Instant::now());
            engine_loop(&shared, &commands, source, art_worker(config)).await;
        });
    }));
    if outcome.is_err() {
        publish_fatal(&shared, "the engine stopped after an internal error; recreate the operator");
    }
}

fn publish_fatal(shared: &Shared, message: &str) {
    let state = EngineState {
        status: Some(Status::Error),
        error: Some(message.to_owned()),
        ..EngineState::default()
    };
    let source = shared.snapshot.load().source;
    shared.snapshot.store(Arc::new(Snapshot::build(source, Playback::idle(Instant::now()), &state, 0, 0)));
}

async fn engine_loop(
    shared: &Shared,
    commands: &Receiver<Pulse>,
    mut source: Box<dyn Source>,
    mut art: art::ArtWorker,
) {
    let mut publisher = Publisher::new(source.name());
    let mut pulse_note: Option<String> = None;
    loop {
        if shared.shutdown.load(Ordering::Acquire) {
            return;
        }
        while let Ok(pulse) = commands.try_recv() {
            if pulse == Pulse::ResetCounters {
                publisher.reset_counters();
            }
            pulse_note = source.pulse(pulse).await;
        }
        let update = tokio::select! {
            update = source.poll(Instant::now()) => update,
            () = shared.wake.notified() => continue,
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
                () = shared.wake.notified() => break,
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
    use crate::engine::simulator::SimConfig;
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
}
