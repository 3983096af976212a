//! The `td-spotify` command line, run as a user would.

use crate::support::isolation::serial;
use std::process::Command;

#[cfg(all(unix, target_pointer_width = "64"))]
use td_spotify::schema::{CHANNELS, ROWS};

fn td_spotify() -> Command {
    Command::new(env!("CARGO_BIN_EXE_td-spotify"))
}

/// `demo --json` prints one object per frame with every channel and row, in the plugin's order,
/// and the simulated position moves. (The demo's stand-in host follows the Itanium C++ ABI.)
#[cfg(all(unix, target_pointer_width = "64"))]
#[test]
fn demo_json_streams_frames_through_the_plugin() {
    let _serial = serial();
    let out = td_spotify()
        .args(["demo", "--json", "--seconds", "1.5", "--speed", "4", "--fps", "30"])
        .output()
        .expect("run td-spotify demo");
    assert!(out.status.success(), "demo failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    let frames: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert!(frames.len() >= 20, "only {} frames in 1.5 s at 30 fps", frames.len());
    let last = frames.last().unwrap();
    let channel_names: Vec<&str> = last["channels"].as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected: Vec<&str> = CHANNELS.iter().map(|c| c.name).collect();
    expected.sort_unstable();
    let mut got = channel_names.clone();
    got.sort_unstable();
    assert_eq!(got, expected);
    for row in ROWS {
        assert!(last["rows"].get(row.name).is_some(), "row {} missing", row.name);
    }
    assert_eq!(last["rows"]["source"], "simulator");
    assert_eq!(last["rows"]["status"], "Playing");
    let position = last["channels"]["position"].as_f64().unwrap();
    assert!((3.0..7.0).contains(&position), "position {position} after ~1.5 s at speed 4");
}

/// The simulator's covers reach `demo --json`: the palette channels change with each track and
/// glide between covers instead of jumping.
#[test]
fn demo_json_palette_changes_with_each_track_and_glides() {
    let _serial = serial();
    let out = td_spotify()
        .args(["demo", "--json", "--seconds", "6", "--speed", "120", "--fps", "30", "--colorfade", "0.6"])
        .args(["--seed", "3"])
        .output()
        .expect("run td-spotify demo");
    assert!(out.status.success(), "demo failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    let frames: Vec<(u64, [f64; 3])> = stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let c = &v["channels"];
            for i in 1..=5 {
                for k in ["r", "g", "b"] {
                    let x = c[format!("palette{i}_{k}")].as_f64().unwrap();
                    assert!((0.0..=1.0).contains(&x), "palette{i}_{k} = {x}");
                }
            }
            let count = c["track_count"].as_f64().unwrap() as u64;
            (count, ["art_r", "art_g", "art_b"].map(|k| c[k].as_f64().unwrap()))
        })
        .collect();
    // The colour each track settled on (its last frame), per track.
    let mut settled: Vec<(u64, [f64; 3])> = Vec::new();
    for &(count, rgb) in &frames {
        match settled.last_mut() {
            Some(last) if last.0 == count => last.1 = rgb,
            _ => settled.push((count, rgb)),
        }
    }
    assert!(settled.len() >= 3, "only {} track(s) in 6 s at speed 120", settled.len());
    for pair in settled.windows(2) {
        assert_ne!(pair[0].1, pair[1].1, "tracks {} and {} share a colour", pair[0].0, pair[1].0);
    }
    // Between two settled colours the channels pass through colours of neither: a glide.
    let gliding = frames
        .iter()
        .filter(|(count, rgb)| {
            let i = settled.iter().position(|s| s.0 == *count).unwrap();
            i > 0 && *rgb != settled[i].1 && *rgb != settled[i - 1].1
        })
        .count();
    assert!(gliding >= 5, "only {gliding} frame(s) between colours: the palette jumps");
}

#[test]
fn demo_refuses_a_bad_frame_rate() {
    let _serial = serial();
    let out = td_spotify().args(["demo", "--fps", "0"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fps"));
}

/// On Windows the demo says where to go instead of failing obscurely.
#[cfg(not(all(unix, target_pointer_width = "64")))]
#[test]
fn demo_explains_it_runs_on_linux_and_macos() {
    let _serial = serial();
    let out = td_spotify().args(["demo", "--seconds", "1"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Linux and macOS"));
}
