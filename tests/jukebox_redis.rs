//! Several machines, one queue: the jukebox's Redis backend against a real `redis-server`
//! (Debian's package; tests/all installs it). Each test starts its own server on a free port,
//! with no persistence, in a temporary folder.
//!
//! Without `redis-server` the tests skip with a note, unless `TD_SPOTIFY_REQUIRE_REDIS` is set
//! (tests/all sets it), where they fail.
//! Run: `cargo test --release --test it -- jukebox_redis --nocapture`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::isolation::serial;
use crate::support::jukebox as jukebox_support;
use jukebox_support::{Events, Jukebox};

use td_spotify::jukebox::backend::{Backend, BackendError, RedisBackend, RedisConfig};
use td_spotify::jukebox::queue::Queue;

/// A `redis-server` of this test; killed on drop.
struct Redis {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Redis {
    /// Starts a server, or `None` (the test skips) when there is none and none is required.
    fn start(test: &str) -> Option<Redis> {
        let binary = std::env::var("TD_SPOTIFY_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        if Command::new(&binary).arg("--version").output().is_err() {
            assert!(
                std::env::var_os("TD_SPOTIFY_REQUIRE_REDIS").is_none(),
                "{test}: `{binary}` not found but TD_SPOTIFY_REQUIRE_REDIS is set: install Debian's \
                 redis-server (tests/all does)"
            );
            eprintln!(
                "SKIPPED {test}: `{binary}` not found (apt-get install redis-server, or run tests/all)"
            );
            return None;
        }
        let dir = std::env::temp_dir().join(format!("td-spotify-redis-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let child = Command::new(&binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start redis-server");
        let redis = Redis { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !redis.answers() {
            assert!(Instant::now() < deadline, "redis-server did not start on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn answers(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn backend(redis: &Redis, lease: Duration) -> RedisBackend {
    RedisBackend::new(&RedisConfig { lease, ..RedisConfig::new(&redis.url()) }).unwrap()
}

fn names(q: &Queue) -> Vec<&str> {
    q.visitors().iter().map(|v| v.display_name.as_str()).collect()
}

/// Waits until `f` holds, polling.
fn eventually(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_machines_share_the_queue_and_the_lease_passes_when_one_dies() {
    let _serial = serial();
    let Some(mut redis) = Redis::start("lease") else { return };
    // Long enough that a starved test thread still renews in time on a busy machine.
    let lease = Duration::from_millis(1500);
    let (mut a, mut b) = (backend(&redis, lease), backend(&redis, lease));
    assert_ne!(a.holder(), b.holder());

    // One queue: what one machine writes, the other reads; concurrent joins both land.
    a.update(&mut |q| {
        q.join("u1", "Ana", None, 1).unwrap();
    })
    .unwrap();
    b.update(&mut |q| {
        q.join("u2", "Ben", None, 2).unwrap();
    })
    .unwrap();
    let seen = a.load().unwrap();
    assert_eq!(names(&seen), ["Ana", "Ben"]);
    assert_eq!(b.load().unwrap(), seen, "both machines agree on the queue");
    assert_eq!(seen.active().unwrap().display_name, "Ana", "and on the active visitor");

    // One lease: the first to ask holds it, and keeps it while it renews.
    assert!(a.hold_lease().unwrap());
    assert!(!b.hold_lease().unwrap());
    let until = Instant::now() + lease * 2;
    while Instant::now() < until {
        assert!(a.hold_lease().unwrap(), "the holder lost a lease it renews");
        assert!(!b.hold_lease().unwrap(), "two machines ran the turns at once");
        std::thread::sleep(Duration::from_millis(50));
    }

    // A dies: it stops renewing, without giving the lease up. B takes over once it expires.
    drop(a);
    let died = Instant::now();
    eventually("B takes the lease over", lease * 3, || b.hold_lease().unwrap());
    let waited = died.elapsed();
    assert!(waited >= lease / 2, "B took the lease {waited:?} after A died: before it expired");
    // The queue survived, and B runs the turns.
    let mut q = b.load().unwrap();
    assert_eq!(names(&q), ["Ana", "Ben"]);
    q = b
        .update(&mut |q| {
            q.skip(3);
        })
        .unwrap();
    assert_eq!(q.active().unwrap().display_name, "Ben");

    // A clean stop gives the lease up at once.
    let mut c = backend(&redis, lease);
    b.release();
    assert!(c.hold_lease().unwrap(), "a released lease is free at once");

    // Redis goes away: a clear error within the timeouts, no panic; and it comes back.
    redis.kill();
    let started = Instant::now();
    let err = c.load().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "a lost Redis held the call {:?}", started.elapsed());
    assert!(matches!(err, BackendError::Unreachable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{}", redis.port)) && text.contains("unreachable"), "{text}");
    assert!(c.update(&mut |_| {}).is_err());
}

#[test]
fn a_password_in_the_url_never_shows_in_errors() {
    let _serial = serial();
    let url = "redis://:s3cret-sentinel@127.0.0.1:1/";
    let mut b = RedisBackend::new(&RedisConfig::new(url)).unwrap();
    let err = b.load().unwrap_err();
    let shown = format!("{err} {err:?} {b:?}");
    assert!(!shown.contains("s3cret-sentinel"), "{shown}");
    assert!(shown.contains("127.0.0.1:1"), "{shown}");
    let bad = RedisBackend::new(&RedisConfig::new("http://example.invalid/")).unwrap_err();
    assert!(bad.to_string().contains("redis://HOST:PORT/"), "{bad}");
}

/// `td-spotify jukebox --redis-url …`, its page's port, and its SSE stream.
/// A `td-spotify jukebox` sharing its queue through `redis`, with turns of 3 s and a 1 s lease.
fn machine(redis: &Redis, cache: &std::path::Path) -> Jukebox {
    let url = redis.url();
    let args = ["--source", "simulator", "--port", "0", "--speed", "20", "--seed", "3", "--turn-length", "3"];
    let more = ["--idle-timeout", "60", "--seconds", "300", "--lease", "1", "--redis-url", url.as_str()];
    Jukebox::start(&[&args[..], &more[..]].concat(), cache, &[])
}

/// Visitor `viewer` presses Join on `jukebox`'s page.
fn join(jukebox: &Jukebox, viewer: &str) {
    let mut s = TcpStream::connect(("127.0.0.1", jukebox.port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let request = format!(
        "POST /join HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: jukebox_viewer={viewer}\r\nContent-Length: 0\r\n\r\n"
    );
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
}

fn queue_names(event: &serde_json::Value) -> Vec<String> {
    event["queue"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn two_jukeboxes_on_one_redis_agree_and_hand_over_when_one_is_killed() {
    let _serial = serial();
    let Some(redis) = Redis::start("machines") else { return };
    let cache = std::env::temp_dir().join(format!("td-spotify-redis-machines-{}", std::process::id()));
    let a = machine(&redis, &cache.join("a"));
    // A holds the lease before B starts (it takes it at its first tick).
    std::thread::sleep(Duration::from_millis(500));
    let b = machine(&redis, &cache.join("b"));
    let mut a_events = Events::open(a.port(), None);
    let mut b_events = Events::open(b.port(), None);

    // Two visitors join, one on each machine's page: both pages show one line, one active visitor.
    join(&a, "viewerA");
    join(&b, "viewerB");
    let both = |e: &serde_json::Value| queue_names(e).len() == 2 && !e["now"].is_null();
    let on_a = a_events.until("A shows both visitors", Duration::from_secs(10), both);
    let on_b = b_events.until("B shows both visitors", Duration::from_secs(10), both);
    assert_eq!(queue_names(&on_a), ["Visitor 1", "Visitor 2"]);
    assert_eq!(queue_names(&on_a), queue_names(&on_b), "{on_a}\n{on_b}");
    assert_eq!(on_a["active"], "Visitor 1");
    assert_eq!(on_b["active"], "Visitor 1", "both machines follow the same visitor");

    // Turns of 3 s pass on both pages.
    let turn = on_b["turn_index"].as_u64().unwrap();
    let next =
        b_events.until("the turn passes", Duration::from_secs(10), |e| e["turn_index"].as_u64() > Some(turn));
    assert_eq!(next["active"], "Visitor 2");

    // A, which ran the turns, is killed: after its lease (1 s) expires B runs them on.
    drop(a);
    let killed = b_events.until("seen after the kill", Duration::from_secs(5), |_| true);
    let at_kill = killed["turn_index"].as_u64().unwrap();
    let later = b_events.until("B passes the turn after A died", Duration::from_secs(15), |e| {
        e["turn_index"].as_u64() >= Some(at_kill + 2)
    });
    assert_eq!(queue_names(&later).len(), 2, "the queue survived: {later}");

    // A machine started afterwards finds the same line.
    drop(b);
    let c = machine(&redis, &cache.join("c"));
    let first = Events::open(c.port(), None)
        .until("C's first event", Duration::from_secs(10), |e| !e["queue"].as_array().unwrap().is_empty());
    let mut names = queue_names(&first);
    names.sort();
    assert_eq!(names, ["Visitor 1", "Visitor 2"], "{first}");
    drop(c);
    let _ = std::fs::remove_dir_all(&cache);
}
