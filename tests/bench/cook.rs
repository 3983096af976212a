//! `cargo bench --bench cook`: cooks the CHOP through the C++ host the way TouchDesigner does and
//! prints median and p99 nanoseconds per `execute` and heap allocations per cook.
//!
//! The host counts allocations by interposing malloc and friends in its own executable, around
//! each cook only, on the cook thread only. It exits non-zero if a cook allocated.

#[path = "../host/build_host.rs"]
mod build_host;

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    if !cfg!(target_os = "linux") {
        eprintln!("the cook benchmark drives the plugin through a dlopen host on Linux only");
        return ExitCode::SUCCESS;
    }
    // `cargo bench` passes --bench; anything else (e.g. `cargo test --benches`) is a smoke run.
    let executes = if std::env::args().any(|a| a == "--bench") { 10_000 } else { 1_000 };
    let host = build_host::build_host("td-spotify-host-bench", true);
    let status = Command::new(host)
        .arg("bench")
        .arg(build_host::plugin_path())
        .arg(executes.to_string())
        .status()
        .expect("run the benchmark host");
    if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
