//! The `td-spotify` command line, run as a user would.

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

#[test]
fn demo_refuses_a_bad_frame_rate() {
    let out = td_spotify().args(["demo", "--fps", "0"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fps"));
}

/// On Windows the demo says where to go instead of failing obscurely.
#[cfg(not(all(unix, target_pointer_width = "64")))]
#[test]
fn demo_explains_it_runs_on_linux_and_macos() {
    let out = td_spotify().args(["demo", "--seconds", "1"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Linux and macOS"));
}
