//! Builds the C++ test host in `tests/host` and finds the plugin cargo just built.
//!
//! Shared by the integration tests (`tests/it.rs`) and the cook and instruction benchmarks
//! (`#[path]` modules), so all drive the same host the same way.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<profile>/deps`, where the running test binary lives; it follows `CARGO_TARGET_DIR`
/// and `--target`.
fn deps_dir() -> PathBuf {
    let exe = env::current_exe().expect("path of the running test");
    exe.parent().expect("test binary has a directory").to_path_buf()
}

/// `target/<profile>`.
pub fn profile_dir() -> PathBuf {
    deps_dir().parent().expect("deps has a parent").to_path_buf()
}

/// The plugin built together with this test (`libtd_spotify.so` on Linux).
///
/// It is the copy in `deps/`: cargo copies the cdylib up to `target/<profile>/` only when the
/// library itself is what was asked for, so that copy may be older than the code under test.
pub fn plugin_path() -> PathBuf {
    let name = format!("{}td_spotify{}", env::consts::DLL_PREFIX, env::consts::DLL_SUFFIX);
    let path = deps_dir().join(&name);
    assert!(path.is_file(), "the plugin {} was not built", path.display());
    path
}

/// Compiles the host into `target/<profile>/<name>` with `$CXX` (default `c++`).
pub fn build_host(name: &str, optimize: bool) -> PathBuf {
    build_host_with(name, &[if optimize { "-O2" } else { "-O1" }], "alloc_count.cpp")
}

/// The host's sources besides its allocation counter: one list, so every build of the host
/// (plain, sanitized, under valgrind) has every mode.
const HOST_SOURCES: [&str; 13] = [
    "host.cpp",
    "parameters.cpp",
    "phases.cpp",
    "transport.cpp",
    "modes.cpp",
    "messages.cpp",
    "check.cpp",
    "spotify.cpp",
    "bench.cpp",
    "lifecycle.cpp",
    "cycles.cpp",
    "vtable_slots.cpp",
    "count.cpp",
];

/// Compiles the host with extra compiler `flags` and `alloc` as its allocation counter
/// (`alloc_count_off.cpp` leaves malloc to a sanitizer or valgrind).
pub fn build_host_with(name: &str, flags: &[&str], alloc: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = profile_dir().join(name);
    let cxx = env::var("CXX").unwrap_or_else(|_| "c++".to_owned());
    let host = root.join("tests/host");
    let output = Command::new(&cxx)
        .args(["-std=c++17", "-g", "-Wall", "-Wextra"])
        .args(flags)
        .arg("-I")
        .arg(root.join("include"))
        .arg("-I")
        .arg(root.join("cpp"))
        .arg("-I")
        .arg(&host)
        .args(HOST_SOURCES.iter().chain([&alloc]).map(|f| host.join(f)))
        .arg("-o")
        .arg(&out)
        .args(["-ldl", "-pthread"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C++ compiler `{cxx}` (set CXX): {e}"));
    assert!(
        output.status.success(),
        "compiling the test host {name} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    out
}
