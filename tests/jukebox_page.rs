//! The Juke-V-Box page end to end: `td-spotify jukebox --source simulator` serves it, Debian's
//! headless chromium (playwright-core, tests/oidc/jukebox.mjs) opens it as a projector and as a
//! phone, two visitors join, the card follows a track change live (within 1 s, no reload) and
//! the turn passes; then the jukebox restarts and the queue is still there.
//!
//! Needs node, chromium and `npm ci` in tests/oidc; skips loudly without them, fails without
//! them under CI. Screenshots: `target/tmp/jukebox-*.png`.
//! Run: `cargo test --release --test it -- jukebox_page --nocapture`.

use crate::harness;
use crate::support::isolation::serial;
use crate::support::jukebox as jukebox_support;

use jukebox_support::{Events, Jukebox, BIN};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The simulator's jukebox with turns of 12 s, its queue in `cache`.
fn start_jukebox(cache: &Path) -> Jukebox {
    let args =
        ["--source", "simulator", "--port", "0", "--speed", "20", "--seed", "3", "--turn-length", "12"];
    Jukebox::start(&[&args[..], &["--idle-timeout", "60", "--seconds", "300"][..]].concat(), cache, &[])
}

/// The first Server-Sent Event of `/events`.
fn first_event(port: u16) -> serde_json::Value {
    Events::open(port, None).until("the first event", Duration::from_secs(10), |_| true)
}

#[test]
fn two_visitors_join_and_the_page_follows_live() {
    let _serial = serial();
    let Some(tools) = harness::tools("jukebox_page") else { return };
    let cache = std::env::temp_dir().join(format!("td-spotify-jukebox-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let jukebox = start_jukebox(&cache);

    let out = Command::new(&tools.node)
        .arg(harness::oidc_dir().join("jukebox.mjs"))
        .arg(&jukebox.url)
        .arg(&shots)
        .env("TD_SPOTIFY_CHROMIUM", &tools.chromium)
        .output()
        .expect("run node jukebox.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("jukebox.mjs: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(seen["ok"], true, "{seen}");
    // Nothing plays: the loader and "Waiting for signal…".
    assert_eq!(seen["idle"]["waiting"], "Waiting for signal…");
    assert_eq!(seen["idle"]["loaderVisible"], true);
    assert_eq!(seen["idle"]["trackHidden"], true);
    // The card, and each browser its own place.
    assert!(!seen["card"]["name"].as_str().unwrap().is_empty(), "{seen}");
    assert!(!seen["card"]["artist"].as_str().unwrap().is_empty(), "{seen}");
    let debug = seen["card"]["debug"].as_str().unwrap();
    assert_eq!(debug.split(" / ").count(), 3, "ID / TS / POS: {debug}");
    assert_eq!(seen["card"]["waitingVisible"], false);
    assert!(seen["badgeA"].as_str().unwrap().contains("File d'attente : #1"), "{seen}");
    assert_eq!(seen["badgeB"], "File d'attente : #2");
    assert_eq!(seen["queueText"], "#1 Visitor 1 · #2 Visitor 2");
    // A simulated track change reached the page within 1 s, without a reload.
    let change = &seen["change"];
    assert_eq!(change["marker"], "same-document", "the page was reloaded: {seen}");
    assert_eq!(change["navigations"], 1);
    let delay = change["delayMs"].as_f64().unwrap();
    assert!((0.0..1000.0).contains(&delay), "page updated {delay} ms after the track changed");
    // The turn passed: the card follows the second visitor, and both see their new places.
    assert_eq!(seen["afterTurn"]["badgeA"], "File d'attente : #2");
    assert!(seen["afterTurn"]["badgeB"].as_str().unwrap().contains("#1"), "{seen}");
    assert_eq!(seen["afterTurn"]["active"], "Visitor 2");
    assert_eq!(seen["afterTurn"]["marker"], "same-document");
    assert_eq!(seen["external"], serde_json::json!([]), "the page loaded something from elsewhere");
    for shot in ["jukebox-idle.png", "jukebox-projector.png", "jukebox-phone.png"] {
        assert!(shots.join(shot).metadata().is_ok_and(|m| m.len() > 1000), "{shot}");
    }

    // Killed without warning, then restarted: the queue is read back from beside the token store.
    drop(jukebox);
    let saved = std::fs::read_to_string(cache.join("jukebox-queue.json")).unwrap();
    assert!(saved.contains("Visitor 1") && saved.contains("Visitor 2"), "{saved}");
    assert!(!saved.to_ascii_lowercase().contains("token"), "{saved}");
    let again = start_jukebox(&cache);
    let event = first_event(again.port());
    let names: Vec<&str> =
        event["queue"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "{event}");
    assert!(names.contains(&"Visitor 1") && names.contains(&"Visitor 2"), "{event}");
    drop(again);
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn spotify_visitors_need_a_client_id() {
    let _serial = serial();
    let out = Command::new(BIN)
        .args(["jukebox", "--source", "spotify", "--client-id", ""])
        .env_remove("TD_SPOTIFY_CLIENT_ID")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--source spotify needs the Client ID"), "{err}");
}
