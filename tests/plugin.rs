//! The plugin as TouchDesigner uses it: a C++ host (`tests/host`) loads the built library with
//! dlopen, calls the six entry points and cooks a CHOP and a DAT frame by frame.
//!
//! This test only prepares what the host cannot know (the simulator's schedule, from
//! [`Timeline`]) and reports the host's verdict; the checks themselves are in `tests/host/host.cpp`.
#![cfg(target_os = "linux")]

#[path = "host/build_host.rs"]
mod build_host;

use std::fmt::Write as _;
use std::process::Command;

use td_spotify::engine::simulator::{SegmentKind, Timeline};
use td_spotify::schema::Status;

const ENTRY_POINTS: [&str; 6] = [
    "FillCHOPPluginInfo",
    "CreateCHOPInstance",
    "DestroyCHOPInstance",
    "FillDATPluginInfo",
    "CreateDATInstance",
    "DestroyDATInstance",
];

/// Frames per phase: five seconds at 60 fps.
const FRAMES: u32 = 300;
/// Simulated seconds per second in the fast phase: tracks and a gap within 300 frames.
const FAST_SPEED: f64 = 60.0;

#[test]
fn library_exports_the_touchdesigner_entry_points() {
    let plugin = build_host::plugin_path();
    let output = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&plugin)
        .output()
        .expect("run nm (binutils) on the plugin");
    assert!(output.status.success(), "nm failed: {}", String::from_utf8_lossy(&output.stderr));
    let symbols = String::from_utf8_lossy(&output.stdout);
    let exported: Vec<&str> = symbols.lines().filter_map(|l| l.split_whitespace().nth(2)).collect();
    for name in ENTRY_POINTS {
        assert!(
            exported.contains(&name),
            "{} does not export {name}; it exports:\n{symbols}",
            plugin.display()
        );
    }
    // The shim's C++ stays private: only the C ABI and the entry points are visible.
    let cpp: Vec<&&str> =
        exported.iter().filter(|s| s.starts_with("_Z") || s.starts_with("tds_shim")).collect();
    assert!(cpp.is_empty(), "C++ symbols leak from the plugin: {cpp:?}");
}

/// The first seed (TouchDesigner's `Simseed` range) whose first track is short and followed by a
/// long gap, so the fast phase shows a track, a gap and the next track even on a loaded machine.
fn fast_seed() -> u64 {
    (1..=1000)
        .find(|&seed| {
            let mut t = Timeline::new(seed);
            t.extend_past(400.0);
            let s = t.segments();
            s[0].end_s() <= 200.0
                && matches!(s[1].kind, SegmentKind::Gap)
                && s[1].len_s >= 8.0
                && matches!(s[2].kind, SegmentKind::Play { track: 1, .. })
        })
        .expect("no simulator seed in 1..=1000 has a short first track followed by a gap")
}

/// The file the host reads: status codes, phases, and each seed's playlist and schedule.
fn expectations(phases: &[(&str, u64, f64)]) -> String {
    let mut out = String::new();
    for s in Status::all() {
        writeln!(out, "status\t{s:?}\t{}\t{}", s as u8, s.text()).unwrap();
    }
    for &(name, seed, speed) in phases {
        writeln!(out, "phase\t{name}\t{seed}\t{speed}\t{FRAMES}").unwrap();
        let mut t = Timeline::new(seed);
        // Everything the phase can reach, with room for a slow start.
        t.extend_past(speed * f64::from(FRAMES) / 60.0 * 2.0 + 30.0);
        for (i, track) in t.tracks().iter().enumerate() {
            let tempo = track.features.map_or(0.0, |f| f.tempo);
            writeln!(
                out,
                "track\t{seed}\t{i}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{tempo}",
                track.id.as_deref().unwrap_or(""),
                track.uri,
                track.name,
                track.artists.join(", "),
                track.album,
                track.album_art_url.as_deref().unwrap_or(""),
                track.duration_ms,
            )
            .unwrap();
        }
        for seg in t.segments() {
            let (kind, track) = match seg.kind {
                SegmentKind::Play { track, .. } => ("play", track as i64),
                SegmentKind::Pause { track, .. } => ("pause", track as i64),
                SegmentKind::Gap => ("gap", -1),
            };
            writeln!(out, "segment\t{seed}\t{}\t{}\t{kind}\t{track}", seg.start_s, seg.len_s).unwrap();
        }
    }
    out
}

#[test]
fn host_cooks_the_plugin_like_touchdesigner() {
    // The wording artists see in a gap is part of the spec, not just of the engine.
    assert_eq!(Status::Waiting.text(), "Waiting for signal…");
    let plugin = build_host::plugin_path();
    let host = build_host::build_host("td-spotify-host", false);
    let seed = fast_seed();
    let path = build_host::profile_dir().join(format!("td-spotify-host-{}.tsv", std::process::id()));
    std::fs::write(&path, expectations(&[("realtime", 1, 1.0), ("fast", seed, FAST_SPEED)]))
        .expect("write the expectations file");

    let output =
        Command::new(&host).arg("check").arg(&plugin).arg(&path).output().expect("run the test host");
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the test host failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
}
