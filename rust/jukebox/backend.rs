//! Where the queue lives: a file on this machine (the default) or a Redis several machines share.
//!
//! The jukebox thread only sees [`Backend`]: it reads the queue, changes it, and asks whether it
//! holds the *turn lease*, the right to run the turns (watch the active visitor's player, pass
//! the turn on, skip an idle visitor). With one machine the lease is always held. With Redis,
//! every machine reads and changes one queue (so all agree on the active visitor and the line),
//! and the machine holding the lease is the only one that moves turns on; a lease has an expiry
//! and is renewed while its holder runs, so a crashed machine loses it and another one takes
//! over within [`RedisConfig::lease`].
//!
//! Every Redis call has a connect, read and write timeout ([`IO_TIMEOUT`]) and a lost server is
//! retried at most every [`RECONNECT`], so a Redis that hangs or goes away delays a jukebox tick
//! by a bounded time and shows a note; it never blocks TouchDesigner (the jukebox has its own
//! threads) and never panics.

use std::time::{Duration, Instant};

use super::queue::Queue;
use super::store::{QueueStore, StoreError};

/// Connect, read and write timeout of every Redis call.
pub const IO_TIMEOUT: Duration = Duration::from_millis(750);
/// After a failed call, how long before connecting again (each try may take [`IO_TIMEOUT`]).
pub const RECONNECT: Duration = Duration::from_secs(1);
/// Default lifetime of the turn lease when its holder stops renewing it.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(5);
/// Every key the jukebox uses starts with this (one Redis can hold other data too).
pub const KEY_PREFIX: &str = "td-spotify:jukebox";

/// Why the queue could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "Redis URL not understood ({reason}): use redis://HOST:PORT/ (optionally redis://:PASSWORD@HOST:PORT/DB)"
    )]
    BadUrl { reason: String },
    /// `server` is host and port only: the URL may carry a password.
    #[error(
        "Redis at {server} is unreachable ({source}); the jukebox keeps the last queue it saw and retries"
    )]
    Unreachable { server: String, source: redis::RedisError },
    #[error("Redis at {server} refused a command ({source})")]
    Refused { server: String, source: redis::RedisError },
}

/// Where the queue is kept and who runs the turns.
pub trait Backend: Send {
    /// `file` or `redis` (for the status and logs).
    fn name(&self) -> &'static str;
    /// The queue as stored now.
    fn load(&mut self) -> Result<Queue, BackendError>;
    /// Applies `change` to the stored queue (the newest one, also when another machine changed
    /// it meanwhile), stores the result if it differs, and returns it.
    fn update(&mut self, change: &mut dyn FnMut(&mut Queue)) -> Result<Queue, BackendError>;
    /// Takes or renews the turn lease: whether this machine runs the turns now.
    fn hold_lease(&mut self) -> Result<bool, BackendError>;
    /// Gives the lease up (a clean stop), so another machine takes over at once.
    fn release(&mut self);
}

/// The queue in `jukebox-queue.json` beside the token store; this machine alone runs the turns.
#[derive(Debug)]
pub struct FileBackend {
    store: QueueStore,
    /// Read from disk at the first call, on the jukebox thread.
    queue: Option<Queue>,
    /// The queue as last saved.
    saved: Option<Queue>,
    /// Why the last save failed (logged once, not every tick).
    save_error: Option<String>,
}

impl FileBackend {
    pub fn new(store: QueueStore) -> FileBackend {
        FileBackend { store, queue: None, saved: None, save_error: None }
    }

    fn queue(&mut self) -> Result<&mut Queue, BackendError> {
        if self.queue.is_none() {
            let q = self.store.load()?;
            self.saved = Some(q.clone());
            self.queue = Some(q);
        }
        Ok(self.queue.get_or_insert_with(Queue::new))
    }
}

impl Backend for FileBackend {
    fn name(&self) -> &'static str {
        "file"
    }

    fn load(&mut self) -> Result<Queue, BackendError> {
        self.queue().cloned()
    }

    fn update(&mut self, change: &mut dyn FnMut(&mut Queue)) -> Result<Queue, BackendError> {
        let queue = self.queue()?;
        change(queue);
        let queue = queue.clone();
        if self.saved.as_ref() != Some(&queue) {
            // A failed save keeps the queue in memory and the show going; the next change tries
            // again. Only a restart would lose what was not saved.
            match self.store.save(&queue) {
                Ok(()) => {
                    self.saved = Some(queue.clone());
                    self.save_error = None;
                }
                Err(e) => {
                    let text = e.to_string();
                    if self.save_error.as_ref() != Some(&text) {
                        tracing::warn!("{text}");
                        self.save_error = Some(text);
                    }
                }
            }
        }
        Ok(queue)
    }

    fn hold_lease(&mut self) -> Result<bool, BackendError> {
        Ok(true)
    }

    fn release(&mut self) {}
}

/// A Redis shared by several machines (`Redisurl`, `--redis-url`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedisConfig {
    /// `redis://[:password@]host[:port][/db]`.
    pub url: String,
    /// How long the turn lease outlives its holder's last renewal.
    pub lease: Duration,
}

impl RedisConfig {
    pub fn new(url: &str) -> RedisConfig {
        RedisConfig { url: url.trim().to_owned(), lease: DEFAULT_LEASE }
    }
}

/// Takes the lease when free, renews it when ours; answers 1 when we hold it.
const HOLD_LEASE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// Deletes the lease only when it is still ours.
const RELEASE_LEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// The queue and the turn lease in Redis.
pub struct RedisBackend {
    client: redis::Client,
    /// `host:port`, for messages (never the password).
    server: String,
    conn: Option<redis::Connection>,
    /// No new connection before this, after a failure.
    retry_at: Option<Instant>,
    lease: Duration,
    /// This machine's name in the lease: host, process and a random part.
    holder: String,
    /// Until when the lease is ours for sure (renewed well before).
    held_until: Option<Instant>,
    queue_key: String,
    lease_key: String,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("server", &self.server)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// Checks the URL; connects at the first call (on the jukebox thread), never here.
    pub fn new(config: &RedisConfig) -> Result<RedisBackend, BackendError> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| BackendError::BadUrl { reason: e.to_string() })?;
        let server = match &client.get_connection_info().addr() {
            redis::ConnectionAddr::Tcp(host, port) | redis::ConnectionAddr::TcpTls { host, port, .. } => {
                format!("{host}:{port}")
            }
            other => other.to_string(),
        };
        let lease = config.lease.max(Duration::from_millis(100));
        Ok(RedisBackend {
            client,
            server,
            conn: None,
            retry_at: None,
            lease,
            holder: format!("{}-{}-{:08x}", host_name(), std::process::id(), rand::random::<u32>()),
            held_until: None,
            queue_key: format!("{KEY_PREFIX}:queue"),
            lease_key: format!("{KEY_PREFIX}:lease"),
        })
    }

    /// This machine's name in the lease.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Runs `call` on a connection, connecting first if needed; a broken connection is dropped
    /// and retried after [`RECONNECT`].
    fn with<T>(
        &mut self,
        call: impl FnOnce(&mut redis::Connection, &RedisKeys<'_>) -> redis::RedisResult<T>,
    ) -> Result<T, BackendError> {
        let unreachable =
            |server: &str, source| BackendError::Unreachable { server: server.to_owned(), source };
        if self.conn.is_none() {
            if let Some(at) = self.retry_at {
                if Instant::now() < at {
                    let source = redis::RedisError::from(std::io::Error::new(
                        std::io::ErrorKind::NotConnected,
                        "retrying shortly",
                    ));
                    return Err(unreachable(&self.server, source));
                }
            }
            let conn = self.client.get_connection_with_timeout(IO_TIMEOUT).and_then(|c| {
                c.set_read_timeout(Some(IO_TIMEOUT))?;
                c.set_write_timeout(Some(IO_TIMEOUT))?;
                Ok(c)
            });
            match conn {
                Ok(c) => self.conn = Some(c),
                Err(e) => {
                    self.retry_at = Some(Instant::now() + RECONNECT);
                    return Err(unreachable(&self.server, e));
                }
            }
        }
        let keys = RedisKeys { queue: &self.queue_key, lease: &self.lease_key };
        let Some(conn) = self.conn.as_mut() else { unreachable!("connected above") };
        match call(conn, &keys) {
            Ok(v) => Ok(v),
            Err(e)
                if e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_unrecoverable_error() =>
            {
                self.conn = None;
                self.held_until = None;
                self.retry_at = Some(Instant::now() + RECONNECT);
                Err(unreachable(&self.server, e))
            }
            Err(e) => Err(BackendError::Refused { server: self.server.clone(), source: e }),
        }
    }
}

struct RedisKeys<'a> {
    queue: &'a str,
    lease: &'a str,
}

/// The stored queue; a value that is not a queue is reported and replaced by an empty one (the
/// next change overwrites it), as the file store does with a corrupt file.
fn parse_queue(raw: Option<Vec<u8>>) -> Queue {
    let Some(raw) = raw else { return Queue::new() };
    match serde_json::from_slice::<Queue>(&raw) {
        Ok(q) => q,
        Err(e) => {
            tracing::warn!(error = %e, "the queue in Redis is unreadable; starting an empty one");
            Queue::new()
        }
    }
}

impl Backend for RedisBackend {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn load(&mut self) -> Result<Queue, BackendError> {
        self.with(|c, keys| redis::cmd("GET").arg(keys.queue).query::<Option<Vec<u8>>>(c)).map(parse_queue)
    }

    fn update(&mut self, change: &mut dyn FnMut(&mut Queue)) -> Result<Queue, BackendError> {
        self.with(|c, keys| {
            // WATCH, read, change, MULTI/EXEC; retried when another machine wrote in between.
            redis::transaction(c, &[keys.queue], |c, pipe| {
                let mut queue = parse_queue(redis::cmd("GET").arg(keys.queue).query::<Option<Vec<u8>>>(c)?);
                let before = queue.clone();
                change(&mut queue);
                if queue == before {
                    return Ok(Some(queue));
                }
                let json = serde_json::to_vec(&queue).map_err(|e| {
                    redis::RedisError::from((
                        redis::ErrorKind::Client,
                        "queue not serializable",
                        e.to_string(),
                    ))
                })?;
                let done: Option<()> = pipe.cmd("SET").arg(keys.queue).arg(json).ignore().query(c)?;
                Ok(done.map(|()| queue))
            })
        })
    }

    fn hold_lease(&mut self) -> Result<bool, BackendError> {
        let now = Instant::now();
        // Renewed once a third of the lease has passed: a missed renewal or two still keeps it.
        if self.held_until.is_some_and(|until| now + self.lease * 2 / 3 < until) {
            return Ok(true);
        }
        let (holder, ms) = (self.holder.clone(), self.lease.as_millis() as u64);
        let held = self.with(|c, keys| {
            redis::cmd("EVAL").arg(HOLD_LEASE).arg(1).arg(keys.lease).arg(&holder).arg(ms).query::<i64>(c)
        })? == 1;
        self.held_until = held.then_some(now + self.lease);
        Ok(held)
    }

    fn release(&mut self) {
        if self.conn.is_none() {
            return;
        }
        let holder = self.holder.clone();
        let _ = self.with(|c, keys| {
            redis::cmd("EVAL").arg(RELEASE_LEASE).arg(1).arg(keys.lease).arg(&holder).query::<i64>(c)
        });
        self.held_until = None;
    }
}

/// The machine's name for the lease holder (who runs the turns, for the logs).
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(32).collect())
        .filter(|h: &String| !h.is_empty())
        .unwrap_or_else(|| "machine".into())
}
