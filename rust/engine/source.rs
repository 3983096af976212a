//! Where playback comes from: the simulator, Spotify, or anything a test scripts.

use std::time::Instant;

use super::art::Cover;
use super::snapshot::EngineState;
use crate::config::SourceConfig;
use crate::model::playback::{Item, Playback};
use crate::model::{BoxFuture, Pulse};

/// What one poll of a source found.
#[derive(Debug)]
pub struct Update {
    /// The new observation; `None` keeps the last one (e.g. after a failed request).
    pub playback: Option<Playback>,
    /// Status, warnings and errors to show.
    pub state: EngineState,
    /// When the engine should poll again (earlier if a command arrives).
    pub next_poll: Instant,
}

/// A data source driven by the engine's loop, on the engine's thread.
pub trait Source: Send {
    /// Short name shown in the `source` row.
    fn name(&self) -> &'static str;

    /// Observes playback now. Must not hang: every request it makes has a timeout.
    fn poll(&mut self, now: Instant) -> BoxFuture<'_, Update>;

    /// The cover of `item`, for the palette; the default is the image Spotify lists for it.
    /// Called on the engine's thread when the item changes.
    fn cover(&self, item: &Item) -> Cover {
        Cover::of(item)
    }

    /// Reacts to a pulse; the default ignores it and says so.
    fn pulse(&mut self, pulse: Pulse) -> BoxFuture<'_, Option<String>> {
        let name = self.name();
        Box::pin(async move { Some(format!("{pulse:?} does nothing with the {name} source")) })
    }

    /// Takes new settings of the same account or simulation (an operator changed Port or
    /// Pollinterval); the default ignores them. Must not wait on the network: restart what the
    /// settings affect and return.
    fn configure(&mut self, config: &SourceConfig) {
        let _ = config;
    }
}
