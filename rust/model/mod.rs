//! The data every layer shares: what is playing, its beat grid, the engine's counters, the
//! pulses an operator sends, and how the simulator plays.
//!
//! This module is the ground floor. It imports nothing of the crate, so the network
//! ([`crate::api`]), the login ([`crate::auth`]), the engine ([`crate::engine`]) and the operator
//! all build on the same types without pointing back up at each other (the layer test in
//! `tests/` scans every file for such a back import).

use std::future::Future;
use std::pin::Pin;

pub mod phase;
pub mod playback;

/// A boxed future, so sources stay object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Counters of the engine's work, shown by the Info CHOP and DAT.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// Requests made to the source since the engine started.
    pub requests: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Times the source answered 429.
    pub rate_limited: u64,
    /// Round trip of the last request, in milliseconds.
    pub last_latency_ms: f64,
}

/// A pulse from an operator, forwarded to the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pulse {
    Login,
    Logout,
    PlayPause,
    Next,
    Previous,
    ResetCounters,
}

/// How the simulator plays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimConfig {
    /// Same seed, same playlist.
    pub seed: u64,
    /// Simulated seconds per real second.
    pub speed: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig { seed: 1, speed: 1.0 }
    }
}
