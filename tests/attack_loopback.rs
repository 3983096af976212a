//! The loopback login server under attack keeps serving `/callback`.
//!
//! While a login waits for Spotify's redirect, anything on the machine (another user, a page
//! in the browser making requests to 127.0.0.1) can talk to the server. Here 1,000 hostile
//! requests arrive from several connections at once: binary junk, oversized heads, too many
//! headers, wrong methods, half requests left open (slow clients that send a byte now and
//! then and never finish), connect-and-hang-up. Meanwhile a "browser" brings real callbacks
//! every few milliseconds; each must be answered, and quickly.

use crate::support::isolation::serial;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use td_spotify::auth::loopback::{Connection, LoopbackServer, Request, Response};

const HOSTILE: usize = 1_000;
const ATTACKERS: usize = 8;

fn exchange(port: u16, bytes: &[u8], timeout: Duration) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The `n`th hostile request, by kind.
fn attack(port: u16, n: usize, slow: &mut Vec<TcpStream>) {
    let timeout = Duration::from_secs(5);
    match n % 8 {
        0 => {
            let junk: Vec<u8> = (0..512).map(|i| ((i * 7919 + n * 31) % 256) as u8).collect();
            let _ = exchange(port, &junk, timeout);
        }
        1 => {
            let mut big = b"GET /callback?code=x&state=y HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ".to_vec();
            big.extend(std::iter::repeat_n(b'a', 64 * 1024));
            big.extend_from_slice(b"\r\n\r\n");
            let _ = exchange(port, &big, timeout);
        }
        2 => {
            let many: String = (0..100).map(|i| format!("X-{i}: y\r\n")).collect();
            let _ = exchange(port, format!("GET /callback HTTP/1.1\r\n{many}\r\n").as_bytes(), timeout);
        }
        3 => {
            let _ = exchange(port, b"POST /callback HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", timeout);
        }
        4 | 5 => {
            // A slow client: half a request, a byte more from time to time, never finished.
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = s.write_all(b"GET /callback?state=");
                slow.push(s);
            }
            for s in slow.iter_mut() {
                let _ = s.write_all(b"a");
            }
            if slow.len() > 24 {
                slow.remove(0);
            }
        }
        6 => drop(TcpStream::connect(("127.0.0.1", port))),
        _ => {
            let target = format!("/callback?state={}&code=%ZZ%00&state=dup", "%".repeat(n % 4000));
            let _ = exchange(
                port,
                format!("GET {target} HTTP/1.1\r\nHost: evil.example\r\n\r\n").as_bytes(),
                timeout,
            );
        }
    }
}

/// A server that answers the real callback and counts every request reaching its handler.
fn counting_server(served: &Arc<AtomicUsize>) -> LoopbackServer {
    let counter = Arc::clone(served);
    LoopbackServer::start(
        0,
        Box::new(move |req: Request, conn: Connection| {
            counter.fetch_add(1, Ordering::Relaxed);
            let body = match (req.path.as_str(), req.single("code")) {
                ("/callback", Ok(Some("real"))) => "callback ok".to_owned(),
                _ => "refused".to_owned(),
            };
            conn.respond(&Response::html(200, body));
        }),
    )
    .unwrap()
}

/// `ATTACKERS` clients sharing `HOSTILE` hostile requests between them.
fn start_attackers(port: u16) -> Vec<thread::JoinHandle<()>> {
    let next = Arc::new(AtomicUsize::new(0));
    (0..ATTACKERS)
        .map(|_| {
            let next = Arc::clone(&next);
            thread::spawn(move || {
                let mut slow = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= HOSTILE {
                        break;
                    }
                    attack(port, n, &mut slow);
                    // Spread over a second or so, so the callbacks meet every kind of attack.
                    thread::sleep(Duration::from_millis(8));
                }
            })
        })
        .collect()
}

/// The browser's callbacks until `done` (and at least 20): their latencies, the failures, and
/// how many were answered while the attack went on.
fn start_browser(
    port: u16,
    done: Arc<AtomicBool>,
) -> thread::JoinHandle<(Vec<Duration>, Vec<String>, usize)> {
    thread::spawn(move || {
        let mut latencies = Vec::new();
        let mut failures = Vec::new();
        let mut during = 0;
        while !done.load(Ordering::Acquire) || latencies.len() < 20 {
            let started = Instant::now();
            let out = exchange(
                port,
                b"GET /callback?code=real&state=s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                Duration::from_secs(10),
            );
            let took = started.elapsed();
            if out.starts_with("HTTP/1.1 200") && out.ends_with("callback ok") {
                latencies.push(took);
                during += usize::from(!done.load(Ordering::Acquire));
            } else {
                failures.push(format!("after {took:?}: {out:?}"));
            }
            thread::sleep(Duration::from_millis(5));
        }
        (latencies, failures, during)
    })
}

#[test]
fn callback_is_served_through_a_thousand_hostile_requests() {
    let _serial = serial();
    let served = Arc::new(AtomicUsize::new(0));
    let server = counting_server(&served);
    let port = server.port();

    let done = Arc::new(AtomicBool::new(false));
    let attackers = start_attackers(port);
    let browser = start_browser(port, Arc::clone(&done));

    let started = Instant::now();
    for a in attackers {
        a.join().expect("attacker");
    }
    let attack_time = started.elapsed();
    done.store(true, Ordering::Release);
    let (mut latencies, failures, during) = browser.join().expect("browser");
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "{HOSTILE} hostile requests from {ATTACKERS} clients in {attack_time:?}; {} callbacks answered \
         ({during} during the attack; median {:?}, p99 {:?}, max {:?}), {} failed; {} requests reached the handler",
        latencies.len(),
        p(0.5),
        p(0.99),
        p(1.0),
        failures.len(),
        served.load(Ordering::Relaxed)
    );
    assert!(during >= 50, "only {during} callbacks ran during the attack: it proves little");
    assert!(failures.is_empty(), "callbacks not served during the attack: {failures:#?}");
    assert!(p(1.0) < Duration::from_secs(2), "a callback waited {:?}", p(1.0));
    // And afterwards, as before.
    let out = exchange(
        port,
        b"GET /callback?code=real HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        Duration::from_secs(5),
    );
    assert!(out.ends_with("callback ok"), "{out}");
    let stopping = Instant::now();
    server.stop();
    assert!(stopping.elapsed() < Duration::from_secs(1), "stop took {:?}", stopping.elapsed());
}

/// Bursts of silent connections right before and after a callback: the callback is read before
/// the flood can push it out (each turn accepts a few connections, then reads them all).
#[test]
fn callback_survives_bursts_of_silent_connections() {
    let _serial = serial();
    let server = LoopbackServer::start(
        0,
        Box::new(|_: Request, conn: Connection| conn.respond(&Response::html(200, "callback ok".into()))),
    )
    .unwrap();
    let port = server.port();
    let mut lost = 0;
    for _ in 0..20 {
        let mut flood: Vec<TcpStream> =
            (0..40).filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok()).collect();
        let mut browser = TcpStream::connect(("127.0.0.1", port)).unwrap();
        browser.write_all(b"GET /callback?code=real HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        flood.extend((0..40).filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok()));
        browser.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut out = String::new();
        let _ = browser.read_to_string(&mut out);
        lost += usize::from(!out.ends_with("callback ok"));
        drop(flood);
    }
    println!("bursts of 80 silent connections: {lost} of 20 callbacks lost");
    assert_eq!(lost, 0, "callbacks lost to bursts of silent connections");
    server.stop();
}
