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

mod c_abi;
mod callback;
mod token_file;
mod web_api;

use std::path::PathBuf;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const SENTINEL: &str = "SENTINEL-access-8c1f";

/// Cases per target: `TD_SPOTIFY_FUZZ_CASES`, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("TD_SPOTIFY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() })
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

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("td-spotify-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
