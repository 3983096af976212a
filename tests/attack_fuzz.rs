//! Fuzzing on the stable toolchain: proptest drives hostile input into every parser that reads
//! what the network or the disk hands us, and into the C ABI the way a confused host would.
//!
//! - the Web API models (currently-playing/player, queue, recent, devices, audio features and
//!   analysis): mutated fixtures (byte flips, cuts, inserts) and generated JSON trees built from
//!   the models' own field names, with hostile values (huge and negative numbers, NaN-like
//!   strings, deep nesting, long strings), through the same parse and conversion the engine runs;
//! - the token file parser (`TokenStore::load`): mutated and generated files; a bad file is put
//!   aside with a message that never quotes the token;
//! - the callback query parser: raw requests over a real socket to the loopback server, whose
//!   handler runs the same query and state checks as the login (`Request::single`,
//!   `PendingFlows::take`); the server keeps answering a real callback afterwards;
//! - the C ABI: null pointers, zero and tiny buffers, out-of-range indices, non-UTF-8 and huge
//!   strings, NaN and infinite numbers, calls in a wrong order (cells before a cook, a cook
//!   after a failed set, pulses before parameters).
//!
//! Case counts: `TD_SPOTIFY_FUZZ_CASES` (default 256 per parser target, a quarter of that for the
//! C ABI, whose cases start engines). CI runs the default (well under a minute on 2 cores); a
//! long run: `TD_SPOTIFY_FUZZ_CASES=100000 cargo test --release --test it -- attack_fuzz`. A failing
//! case is shrunk and saved under `proptest-regressions/` (commit it: it is replayed first).

use crate::support;
use std::ffi::{c_char, CString};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value};

use td_spotify::api::client::parse_json;
use td_spotify::api::features::{AudioAnalysis, AudioFeatures};
use td_spotify::api::models::{CurrentPlayback, Devices, ErrorBody, Queue, RecentlyPlayed};
use td_spotify::auth::flows::PendingFlows;
use td_spotify::auth::loopback::{Connection, LoopbackServer, Request, Response};
use td_spotify::auth::store::TokenStore;
use td_spotify::auth::AuthError;
use td_spotify::ffi::api_version::td_spotify_api_version;
use td_spotify::ffi::*;

const SENTINEL: &str = "SENTINEL-access-8c1f";

/// Cases per target: `TD_SPOTIFY_FUZZ_CASES`, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("TD_SPOTIFY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() })
}

fn fixture_bodies() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixtures") {
        let path = entry.expect("fixture").path();
        let text = std::fs::read_to_string(&path).expect("read fixture");
        let body = match text.split_once("\n\n") {
            Some((_, body)) if path.extension().is_some_and(|e| e == "http") => body.to_owned(),
            _ => text,
        };
        out.push((path.file_name().unwrap().to_string_lossy().into_owned(), body));
    }
    out.sort();
    out
}

/// Byte-level mutations: flips, cuts, inserts, duplications.
fn mutate(body: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = body.len().max(1);
    let edit = prop_oneof![
        (0..len, any::<u8>()).prop_map(|(i, b)| (0u8, i, b)),
        (0..len, any::<u8>()).prop_map(|(i, b)| (1u8, i, b)),
        (0..len, Just(0u8)).prop_map(|(i, b)| (2u8, i, b)),
        (0..len, Just(0u8)).prop_map(|(i, b)| (3u8, i, b)),
        (0..len, 0..len).prop_map(|(i, j)| (4u8, i, (j % 251) as u8)),
    ];
    proptest::collection::vec(edit, 1..8).prop_map(move |edits| {
        let mut b = body.clone();
        for (op, i, x) in edits {
            let i = if b.is_empty() { 0 } else { i % b.len() };
            match op {
                0 if !b.is_empty() => b[i] = x,
                1 => b.insert(i, x),
                2 if !b.is_empty() => {
                    b.remove(i);
                }
                3 => b.truncate(i),
                4 if !b.is_empty() => {
                    let end = (i + 1 + x as usize).min(b.len());
                    let piece = b[i..end].to_vec();
                    b.splice(i..i, piece);
                }
                _ => {}
            }
        }
        b
    })
}

const FIELDS: &[&str] = &[
    "album",
    "analysis",
    "artists",
    "bars",
    "beats",
    "confidence",
    "context",
    "currently_playing",
    "currently_playing_type",
    "danceability",
    "device",
    "devices",
    "duration",
    "duration_ms",
    "energy",
    "error",
    "external_urls",
    "height",
    "id",
    "images",
    "is_active",
    "is_local",
    "is_playing",
    "item",
    "items",
    "key",
    "kind",
    "loudness",
    "loudness_max",
    "loudness_max_time",
    "loudness_start",
    "message",
    "mode",
    "name",
    "played_at",
    "progress_ms",
    "queue",
    "reason",
    "repeat_state",
    "sections",
    "segments",
    "show",
    "shuffle_state",
    "start",
    "status",
    "tempo",
    "time_signature",
    "timestamp",
    "track",
    "type",
    "uri",
    "url",
    "valence",
    "volume_percent",
    "width",
    "pitches",
    "timbre",
    "external_ids",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON has no NaN or infinity", |f| f.is_finite()).prop_map(Value::from),
        prop_oneof![Just(1e308), Just(-1e308), Just(5e-324), Just(-0.0), Just(4294967296.5)]
            .prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        prop_oneof![
            Just("track"),
            Just("episode"),
            Just("ad"),
            Just("unknown"),
            Just("off"),
            Just("context"),
            Just("PREMIUM_REQUIRED"),
            Just("NaN"),
            Just("-Infinity"),
            Just("1e999"),
            Just("\u{0}\u{feff}\u{202e}"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
        (1usize..200_000).prop_map(|n| Value::String("\u{e9}".repeat(n / 2))),
    ]
}

fn json_tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 96, 10, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..10).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(FIELDS), inner), 0..10).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())
            }),
        ]
    })
}

/// Replaces the value at a random path of `base` with `graft_value`.
fn graft(base: &mut Value, path: &[usize], graft_value: Value) {
    let Some((&step, rest)) = path.split_first() else {
        *base = graft_value;
        return;
    };
    match base {
        Value::Object(m) if !m.is_empty() => {
            let key = m.keys().nth(step % m.len()).cloned().unwrap();
            graft(m.get_mut(&key).unwrap(), rest, graft_value);
        }
        Value::Array(a) if !a.is_empty() => {
            let n = a.len();
            graft(&mut a[step % n], rest, graft_value);
        }
        _ => *base = graft_value,
    }
}

/// Everything the engine does with a Web API body. Errors are fine; panics are not.
fn parse_everything(body: &[u8]) {
    if let Ok(p) = parse_json::<CurrentPlayback>(body) {
        let playback = p.to_playback(Instant::now());
        let _ = format!("{playback:?}");
    }
    if let Ok(q) = parse_json::<Queue>(body) {
        let _ = q.rows();
    }
    if let Ok(r) = parse_json::<RecentlyPlayed>(body) {
        let _ = r.rows();
    }
    if let Ok(d) = parse_json::<Devices>(body) {
        let _ = d.rows();
    }
    let analysis = parse_json::<AudioAnalysis>(body).ok().map(|a| a.to_analysis());
    if let Ok(f) = parse_json::<AudioFeatures>(body) {
        let _ = f.to_features(analysis.as_ref());
    }
    let _ = parse_json::<ErrorBody>(body);
    if let Err(e) = parse_json::<CurrentPlayback>(body) {
        // Errors say where the body broke, never what it said.
        let shown = format!("{e} {e:?} {}", e.user_message());
        assert!(!shown.contains(SENTINEL), "an error quotes the body: {shown}");
    }
}

#[test]
fn web_api_models_survive_mutated_fixtures() {
    let bodies = fixture_bodies();
    assert!(bodies.len() >= 10, "fixtures missing");
    for (name, body) in bodies {
        let planted = body.replacen("\"name\": \"", &format!("\"name\": \"{SENTINEL}"), 1);
        let mut r = runner(cases(256) / 4 + 1);
        r.run(&mutate(planted.into_bytes()), |b| {
            parse_everything(&b);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn web_api_models_survive_generated_json() {
    let bases: Vec<Value> =
        fixture_bodies().into_iter().filter_map(|(_, b)| serde_json::from_str(&b).ok()).collect();
    let strategy = (0..bases.len(), proptest::collection::vec(any::<usize>(), 0..6), json_tree());
    runner(cases(256) * 4)
        .run(&strategy, |(which, path, tree)| {
            // A wild tree alone, and grafted into a real body at a random depth.
            parse_everything(&serde_json::to_vec(&tree).unwrap());
            let mut base = bases[which].clone();
            graft(&mut base, &path, tree);
            parse_everything(&serde_json::to_vec(&base).unwrap());
            Ok(())
        })
        .unwrap();
}

#[test]
fn web_api_models_refuse_pathological_bodies() {
    let deep = format!("{{\"item\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_obj = format!("{}{}", "{\"item\":".repeat(50_000), "}".repeat(50_000));
    let wide = format!("{{\"queue\":[{}{{}}]}}", "{\"name\":\"x\",\"duration_ms\":-1},".repeat(200_000));
    let long = format!("{{\"item\":{{\"name\":\"{}\",\"duration_ms\":1e400}}}}", "a".repeat(8 << 20));
    for body in
        [deep, deep_obj, wide, long, "\u{feff}{}".into(), "{}".into(), "[]".into(), "".into(), "null".into()]
    {
        parse_everything(body.as_bytes());
    }
}

// --- token file ---------------------------------------------------------------------------

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("td-spotify-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const CLIENT: &str = "fuzzclient";

fn valid_record() -> String {
    format!(
        r#"{{"version":1,"client_id":"{CLIENT}","access_token":"{SENTINEL}","refresh_token":"{SENTINEL}-r","expires_at":1900000000,"lifetime_s":3600,"scope":"user-read-playback-state","user":"Ada","saved_at":1800000000}}"#
    )
}

fn load_once(store: &TokenStore, dir: &Path, bytes: &[u8]) {
    std::fs::write(store.path(), bytes).unwrap();
    match store.load(CLIENT) {
        Ok(_) => {}
        Err(e) => {
            let shown = format!("{e} {e:?} {}", e.user_message());
            assert!(!shown.contains(SENTINEL), "a token-file error quotes a token: {shown}");
            assert!(
                matches!(e, AuthError::CorruptStore { .. }),
                "an unreadable file is put aside, not reported as {e:?}"
            );
        }
    }
    // The file put aside keeps every byte (never deleted); clear the folder for the next case.
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path != store.path() {
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "the corrupt file was not kept as it was");
        }
        let _ = std::fs::remove_file(path);
    }
}

#[test]
fn token_file_parser_survives_mutations_and_generated_files() {
    let dir = temp_dir("fuzz-tokens");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    runner(cases(256))
        .run(&mutate(valid_record().into_bytes()), |b| {
            load_once(&store, &dir, &b);
            Ok(())
        })
        .unwrap();
    let base: Value = serde_json::from_str(&valid_record()).unwrap();
    let keys = proptest::sample::select(vec![
        "version",
        "client_id",
        "access_token",
        "refresh_token",
        "expires_at",
        "lifetime_s",
        "scope",
        "user",
        "saved_at",
    ]);
    runner(cases(256))
        .run(&proptest::collection::vec((keys, leaf()), 1..4), |edits| {
            let mut v = base.clone();
            for (k, val) in edits {
                v[k] = val;
            }
            load_once(&store, &dir, &serde_json::to_vec(&v).unwrap());
            Ok(())
        })
        .unwrap();
    // Larger than a token file can be: put aside without being parsed.
    load_once(&store, &dir, &vec![b' '; 1 << 20]);
    let _ = std::fs::remove_dir_all(&dir);
}

// --- callback query parser ----------------------------------------------------------------

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

// --- the C ABI -----------------------------------------------------------------------------

/// Nothing may reach the internet or the user's own login: every instance gets a private token
/// folder and local (closed) base URLs before its first cook.
fn sandbox() -> PathBuf {
    std::env::set_var("TD_SPOTIFY_API_URL", "http://127.0.0.1:9");
    std::env::set_var("TD_SPOTIFY_ACCOUNTS_URL", "http://127.0.0.1:9");
    std::env::set_var("TD_SPOTIFY_NO_BROWSER", "1");
    temp_dir("fuzz-ffi")
}

fn param_index(name: &str) -> u32 {
    (0..td_spotify_param_count())
        .find(|&i| {
            let mut info = std::mem::MaybeUninit::<TdsParamInfo>::uninit();
            // SAFETY: `info` is writable; the name is a static C string.
            unsafe {
                td_spotify_param_info(i, info.as_mut_ptr()) == TdsResult::Ok
                    && std::ffi::CStr::from_ptr(info.assume_init().name).to_str() == Ok(name)
            }
        })
        .unwrap_or_else(|| panic!("no parameter {name}"))
}

#[derive(Debug, Clone)]
enum Call {
    Number(u32, f64),
    Str(u32, Vec<u8>),
    NullStr(u32),
    Pulse(Vec<u8>),
    NullPulse,
    Cook,
    Channels(u32),
    NullChannels,
    TableSize(bool, bool),
    Cell(u32, u32, usize),
    Messages(usize),
    Info(u32),
    Audio(u32, u32, f64),
    NullAudio,
    Statics(u32, u32),
}

fn hostile_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(1e300),
        Just(-1e300),
        Just(65536.0),
        Just(f64::MIN_POSITIVE),
        -10.0..1000.0f64,
        (0u32..6).prop_map(f64::from),
    ]
}

fn hostile_bytes(names: Vec<&'static str>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::sample::select(names).prop_map(|s| s.as_bytes().to_vec()),
        ".{0,16}".prop_map(String::into_bytes),
        proptest::collection::vec(1u8..=255, 0..24),
        (1usize..(1 << 20)).prop_map(|n| vec![b'x'; n]),
        Just(vec![0xC3]),
        Just(b"\xED\xA0\x80".to_vec()),
    ]
}

fn calls() -> impl Strategy<Value = Vec<Call>> {
    let n = td_spotify_param_count() + 3;
    let names = vec![
        "Login",
        "Logout",
        "Playpause",
        "Next",
        "Previous",
        "Resetcounters",
        "Tap",
        "Spotify",
        "Simulator",
        "queue",
        "recent",
        "devices",
        "status",
        "nowplaying",
        "",
        "Active",
    ];
    let index = prop_oneof![0..n, Just(u32::MAX), Just(n + 1000)];
    let call = prop_oneof![
        4 => (index.clone(), hostile_f64()).prop_map(|(i, v)| Call::Number(i, v)),
        4 => (index.clone(), hostile_bytes(names.clone())).prop_map(|(i, s)| Call::Str(i, s)),
        1 => index.clone().prop_map(Call::NullStr),
        2 => hostile_bytes(names).prop_map(Call::Pulse),
        1 => Just(Call::NullPulse),
        4 => Just(Call::Cook),
        1 => prop_oneof![Just(0u32), Just(1), Just(64), Just(u32::MAX)].prop_map(Call::Channels),
        1 => Just(Call::NullChannels),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Call::TableSize(a, b)),
        2 => (prop_oneof![0u32..40, Just(u32::MAX)], prop_oneof![0u32..12, Just(u32::MAX)], 0usize..300)
            .prop_map(|(r, c, cap)| Call::Cell(r, c, cap)),
        1 => (0usize..300).prop_map(Call::Messages),
        1 => prop_oneof![0u32..40, Just(u32::MAX)].prop_map(Call::Info),
        1 => (0u32..9, prop_oneof![Just(0u32), 1u32..2048], hostile_f64())
            .prop_map(|(c, s, r)| Call::Audio(c, s, r)),
        1 => Just(Call::NullAudio),
        1 => (any::<u32>(), any::<u32>()).prop_map(|(a, b)| Call::Statics(a, b)),
    ];
    proptest::collection::vec(call, 1..40)
}

/// One call as a hostile host makes it; every buffer passed really has the size passed.
///
/// # Safety
/// `inst` is null or live.
unsafe fn perform(inst: *mut TdsInstance, call: &Call, cache: &Path, cache_index: u32) {
    let big = [0f32; 64];
    match call {
        Call::Number(i, v) => {
            td_spotify_set_param_number(inst, *i, *v);
        }
        Call::Str(i, s) => {
            // The token folder stays inside the sandbox whatever the fuzzer writes.
            let bytes = if *i == cache_index {
                let mut p = cache.as_os_str().as_encoded_bytes().to_vec();
                p.push(b'/');
                p.extend(s.iter().filter(|&&b| b != b'/' && b != b'.'));
                p
            } else {
                s.clone()
            };
            let c = CString::new(bytes.into_iter().filter(|&b| b != 0).collect::<Vec<u8>>()).unwrap();
            td_spotify_set_param_string(inst, *i, c.as_ptr());
        }
        Call::NullStr(i) => {
            td_spotify_set_param_string(inst, *i, std::ptr::null());
        }
        Call::Pulse(s) => {
            let c = CString::new(s.iter().copied().filter(|&b| b != 0).collect::<Vec<u8>>()).unwrap();
            td_spotify_pulse(inst, c.as_ptr());
        }
        Call::NullPulse => {
            td_spotify_pulse(inst, std::ptr::null());
        }
        Call::Cook => {
            td_spotify_cook(inst);
        }
        Call::Channels(cap) => {
            let mut out = big;
            let cap = (*cap).min(out.len() as u32);
            let n = td_spotify_channels(inst, out.as_mut_ptr(), cap);
            assert!(n <= cap, "wrote {n} floats into {cap}");
        }
        Call::NullChannels => {
            assert_eq!(td_spotify_channels(inst, std::ptr::null_mut(), 64), 0);
        }
        Call::TableSize(r, c) => {
            let (mut rows, mut cols) = (0u32, 0u32);
            let rp = if *r { &mut rows as *mut u32 } else { std::ptr::null_mut() };
            let cp = if *c { &mut cols as *mut u32 } else { std::ptr::null_mut() };
            td_spotify_table_size(inst, rp, cp);
        }
        Call::Cell(r, c, cap) => {
            let mut buf = vec![0x55 as c_char; *cap];
            let ptr = if *cap == 0 { std::ptr::null_mut() } else { buf.as_mut_ptr() };
            td_spotify_table_cell(inst, *r, *c, ptr, *cap);
            if *cap > 0 {
                assert!(buf.contains(&0), "cell not NUL-terminated within {cap} bytes");
                let s = std::ffi::CStr::from_ptr(buf.as_ptr());
                assert!(s.to_str().is_ok(), "cell cut inside a UTF-8 character");
            }
        }
        Call::Messages(cap) => {
            let mut buf = vec![0 as c_char; *cap];
            let ptr = if *cap == 0 { std::ptr::null_mut() } else { buf.as_mut_ptr() };
            td_spotify_warning(inst, ptr, *cap);
            td_spotify_error(inst, ptr, *cap);
            td_spotify_info_popup(inst, ptr, *cap);
        }
        Call::Info(i) => {
            let v = td_spotify_info_value(inst, *i);
            let _ = v;
        }
        Call::Audio(channels, samples, rate) => {
            let data = vec![0.25f32; *samples as usize];
            // At least one pointer, so a zero channel count still passes a valid array.
            let ptrs: Vec<*const f32> = (0..(*channels).max(1)).map(|_| data.as_ptr()).collect();
            td_spotify_push_audio(inst, ptrs.as_ptr(), *channels, *samples, *rate);
        }
        Call::NullAudio => {
            td_spotify_push_audio(inst, std::ptr::null(), 2, 512, 44100.0);
            let nulls = [std::ptr::null::<f32>(); 2];
            td_spotify_push_audio(inst, nulls.as_ptr(), 2, 512, 44100.0);
        }
        Call::Statics(a, b) => {
            let _ = td_spotify_channel_name(*a);
            let _ = td_spotify_row_name(*a);
            let _ = td_spotify_info_name(*a);
            let mut info = std::mem::MaybeUninit::<TdsParamInfo>::uninit();
            td_spotify_param_info(*a, info.as_mut_ptr());
            td_spotify_param_info(*a, std::ptr::null_mut());
            let (mut n, mut l) = (std::ptr::null(), std::ptr::null());
            td_spotify_param_menu_item(*a, *b, &mut n, &mut l);
            td_spotify_param_menu_item(*a, *b, std::ptr::null_mut(), std::ptr::null_mut());
            let _ = td_spotify_api_version(*a, *b as i32, (*a ^ *b) as i32);
        }
    }
}

#[test]
fn c_abi_survives_hostile_hosts() {
    // Sets the environment overrides every instance reads, and starts engines.
    if !support::isolation::own_process() {
        return;
    }
    let dir = sandbox();
    let cache_index = param_index("Tokencache");
    let strategy =
        (prop_oneof![Just(TDS_FAMILY_CHOP), Just(TDS_FAMILY_DAT), Just(0u32), Just(7u32)], calls());
    runner(cases(256) / 4 + 1)
        .run(&strategy, |(family, calls)| {
            let inst = td_spotify_instance_new(family);
            prop_assert!(!inst.is_null());
            // SAFETY: `inst` is live until freed below; null is allowed everywhere.
            unsafe {
                // Set before anything could read the user's own token folder.
                let cache = CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
                prop_assert_eq!(
                    td_spotify_set_param_string(inst, cache_index, cache.as_ptr()),
                    TdsResult::Ok
                );
                for call in &calls {
                    perform(inst, call, &dir, cache_index);
                    perform(std::ptr::null_mut(), call, &dir, cache_index);
                }
                // Whatever happened, the instance still answers and reports no internal error.
                let mut buf = [0 as c_char; 512];
                td_spotify_error(inst, buf.as_mut_ptr(), buf.len());
                let error = std::ffi::CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned();
                prop_assert!(!error.contains("internal error"), "a call panicked: {}", error);
                let started = Instant::now();
                td_spotify_instance_free(inst);
                prop_assert!(started.elapsed() < Duration::from_secs(5), "free took {:?}", started.elapsed());
            }
            Ok(())
        })
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
