//! The DAT's multi-row tables for the Spotify source: queue, recently played, devices.
//!
//! They cost requests that every operator sharing the engine shares, so they are fetched at a
//! modest cadence: the queue and history when the playing item changes and at most every
//! [`LIST_EVERY`] otherwise, the devices every [`LIST_EVERY`], never two fetches of one table
//! closer than the poll interval, and never while Spotify is rate limiting or the poller is
//! backing off (the tables simply keep their last content).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::api::client::ApiClient;
use crate::api::models::{Devices, Queue, RecentlyPlayed};
use crate::api::{ApiError, TokenProvider};
use crate::engine::poller::Poller;
use crate::engine::snapshot::Lists;

/// How often the lists are refreshed when nothing else asks for it.
pub const LIST_EVERY: Duration = Duration::from_secs(30);
/// `GET` targets of the three tables.
pub const QUEUE_PATH: &str = "/v1/me/player/queue";
pub const RECENT_PATH: &str = "/v1/me/player/recently-played";
pub const RECENT_QUERY: &str = "limit=20";
pub const DEVICES_PATH: &str = "/v1/me/player/devices";
/// Wait after a 429 that named no `Retry-After`.
const RATE_LIMIT_FALLBACK: Duration = Duration::from_secs(10);

/// Keeps the tables and decides when to refresh them.
#[derive(Debug)]
pub struct ListFetcher {
    lists: Arc<Lists>,
    every: Duration,
    /// When the queue and history are due (`None`: now).
    tracks_due: Option<Instant>,
    devices_due: Option<Instant>,
    /// When the queue and history were last asked for (the rate bound counts from here).
    tracks_sent: Option<Instant>,
}

impl ListFetcher {
    pub fn new(every: Duration) -> Self {
        ListFetcher { lists: Arc::default(), every, tracks_due: None, devices_due: None, tracks_sent: None }
    }

    /// The tables to publish (the same `Arc` until something changes).
    pub fn lists(&self) -> Arc<Lists> {
        Arc::clone(&self.lists)
    }

    /// Forgets everything (after a logout): empty tables, everything due at the next chance.
    pub fn reset(&mut self) {
        self.lists = Arc::default();
        self.tracks_due = None;
        self.devices_due = None;
    }

    /// The playing item changed: the queue and history are due, as soon as the poll interval
    /// since their last fetch allows.
    pub fn item_changed(&mut self, min_interval: Duration) {
        self.tracks_due = self.tracks_sent.map(|sent| sent + min_interval);
    }

    /// Whether a table is due at `now`.
    pub fn due(&self, now: Instant) -> bool {
        let due = |at: Option<Instant>| at.is_none_or(|at| now >= at);
        due(self.tracks_due) || due(self.devices_due)
    }

    /// Fetches the tables that are due. Requests are counted in the poller's stats; a 429 makes
    /// the poller wait too (Spotify's limit is per app) and stops this round.
    pub async fn refresh(
        &mut self,
        client: &ApiClient,
        tokens: &dyn TokenProvider,
        poller: &mut Poller,
        now: Instant,
    ) {
        let mut lists = Lists::clone(&self.lists);
        let due = |at: Option<Instant>| at.is_none_or(|at| now >= at);
        let mut limited = false;
        if due(self.tracks_due) {
            self.tracks_sent = Some(now);
            self.tracks_due = Some(now + self.every);
            match fetch::<Queue>(client, tokens, poller, QUEUE_PATH, None).await {
                Ok(queue) => lists.queue = Lists::table(queue.unwrap_or_default().rows()),
                Err(limit) => limited = limit,
            }
            if !limited {
                match fetch::<RecentlyPlayed>(client, tokens, poller, RECENT_PATH, Some(RECENT_QUERY)).await {
                    Ok(recent) => lists.recent = Lists::table(recent.unwrap_or_default().rows()),
                    Err(limit) => limited = limit,
                }
            }
            if limited {
                // Still due: asked again as soon as the rate limit (which holds every call) ends.
                self.tracks_due = None;
            }
        }
        if !limited && due(self.devices_due) {
            self.devices_due = Some(now + self.every);
            if let Ok(devices) = fetch::<Devices>(client, tokens, poller, DEVICES_PATH, None).await {
                lists.devices = Lists::table(devices.unwrap_or_default().rows());
            }
        }
        if lists != *self.lists {
            self.lists = Arc::new(lists);
        }
    }
}

/// One table's `GET`. `Err(true)`: rate limited (the poller now waits); `Err(false)`: another
/// failure, the table keeps its rows until the next round.
async fn fetch<T: DeserializeOwned>(
    client: &ApiClient,
    tokens: &dyn TokenProvider,
    poller: &mut Poller,
    path: &str,
    query: Option<&str>,
) -> Result<Option<T>, bool> {
    let url = client.url(path, query).map_err(|_| false)?;
    let exchange = client.get_json::<T>(&url, tokens).await;
    poller.count(&exchange);
    match exchange.result {
        Ok(answer) => Ok(answer),
        Err(ApiError::RateLimited { retry_after }) => {
            let wait = retry_after.unwrap_or(RATE_LIMIT_FALLBACK);
            poller.rate_limited_until(exchange.received_at + wait);
            Err(true)
        }
        Err(e) => {
            tracing::debug!(error = %e, path, "list fetch failed; keeping the last rows");
            Err(false)
        }
    }
}
