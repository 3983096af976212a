//! The Web API models: mutated fixtures and generated JSON trees through the engine's parsing.

use std::path::Path;
use std::time::Instant;

use proptest::prelude::*;
use serde_json::{Map, Value};

use td_spotify::api::client::parse_json;
use td_spotify::api::features::{AudioAnalysis, AudioFeatures};
use td_spotify::api::models::{CurrentPlayback, Devices, ErrorBody, Queue, RecentlyPlayed};

use super::{cases, mutate, runner, SENTINEL};

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

pub(super) fn leaf() -> impl Strategy<Value = Value> {
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
