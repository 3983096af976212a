//! The integration tests: one binary, one link, a module per topic (style.md §6).
//!
//! Tests run on parallel threads of one process: heavy or timing-sensitive ones hold
//! `support::isolation::serial`, and those that change or measure the process run in a child of
//! their own (`support::isolation::own_process`).

mod support;

// Windows and macOS (.github/workflows) build this binary and run only these topics; the rest
// need Linux-only tools (the dlopen host, valgrind, Chromium, node's OpenID provider, Redis).
mod abi;
mod cli;
mod docs;
mod header;
mod layers;
mod licences;
mod poller;
mod spotify_source;

#[cfg(target_os = "linux")]
#[path = "host/build_host.rs"]
mod build_host;
#[cfg(target_os = "linux")]
#[path = "oidc/harness.rs"]
mod harness;

#[cfg(target_os = "linux")]
mod attack_fuzz;
#[cfg(target_os = "linux")]
mod attack_host;
#[cfg(target_os = "linux")]
mod attack_loopback;
#[cfg(target_os = "linux")]
mod attack_soak;
#[cfg(target_os = "linux")]
mod jukebox_page;
#[cfg(target_os = "linux")]
mod jukebox_redis;
#[cfg(target_os = "linux")]
mod jukebox_spotify;
#[cfg(target_os = "linux")]
mod login_e2e;
#[cfg(target_os = "linux")]
mod plugin;
#[cfg(target_os = "linux")]
mod token_race;
