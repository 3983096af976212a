//! The callback query parser, over a real socket to the loopback server a login runs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use td_spotify::auth::flows::PendingFlows;
use td_spotify::auth::loopback::{Connection, LoopbackServer, Request, Response};

use super::{cases, runner};

fn exchange(port: u16, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A login's server: the handler checks the callback as the session does.
fn callback_server() -> (LoopbackServer, Arc<Mutex<PendingFlows>>) {
    let flows = Arc::new(Mutex::new(PendingFlows::default()));
    let shared = Arc::clone(&flows);
    let server = LoopbackServer::start(
        0,
        Box::new(move |req: Request, conn: Connection| {
            let verdict = match (req.single("state"), req.single("code"), req.single("error")) {
                (Ok(state), Ok(code), Ok(_)) => {
                    let taken = shared.lock().unwrap().take(state.unwrap_or(""), Instant::now());
                    match taken {
                        Ok(_) if code.is_some_and(|c| !c.is_empty()) => "accepted",
                        Ok(_) => "no code",
                        Err(_) => "refused",
                    }
                }
                _ => "repeated",
            };
            conn.respond(&Response::html(200, format!("{} {verdict}", req.path)));
        }),
    )
    .unwrap();
    (server, flows)
}

fn request_bytes() -> impl Strategy<Value = Vec<u8>> {
    let key =
        prop_oneof![Just("state".to_owned()), Just("code".to_owned()), Just("error".to_owned()), ".{0,6}"];
    let val = prop_oneof![".{0,40}", "[%+&=#?a-f0-9]{0,40}", (1usize..20_000).prop_map(|n| "%".repeat(n))];
    let query = proptest::collection::vec((key, val), 0..6).prop_map(|kv| {
        kv.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&").into_bytes()
    });
    let raw_target = proptest::collection::vec(any::<u8>(), 0..64);
    (prop_oneof![query, raw_target], any::<bool>(), proptest::collection::vec(any::<u8>(), 0..32)).prop_map(
        |(q, well_formed, junk)| {
            let mut b = b"GET /callback?".to_vec();
            b.extend_from_slice(&q);
            b.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
            if !well_formed {
                b.extend_from_slice(&junk);
            }
            b.extend_from_slice(b"\r\n");
            b
        },
    )
}

#[test]
fn callback_query_parser_survives_hostile_requests() {
    let (server, flows) = callback_server();
    let port = server.port();
    runner(cases(256))
        .run(&request_bytes(), |b| {
            let out = exchange(port, &b);
            prop_assert!(out.is_empty() || out.starts_with("HTTP/1.1 "), "not HTTP: {out:?}");
            prop_assert!(!out.contains("accepted"), "a forged callback was accepted: {out}");
            Ok(())
        })
        .unwrap();
    // The login in progress still completes.
    let flow = flows.lock().unwrap().start(Instant::now());
    let state: String = url::form_urlencoded::byte_serialize(flow.state.secret().as_bytes()).collect();
    let out = exchange(
        port,
        format!("GET /callback?code=abc&state={state} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes(),
    );
    assert!(out.ends_with("/callback accepted"), "{out}");
    server.stop();
}
