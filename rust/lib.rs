//! td-spotify: Spotify playback as TouchDesigner channels and rows.
//!
//! The crate is built in layers, each importing only those before it (`tests/layers.rs` checks):
//!
//! - [`model`]: the data every layer shares (playback, beat grid, counters, pulses);
//! - [`config`] and [`schema`]: defaults, and every name the artist sees;
//! - [`api`]: the Spotify Web API; [`auth`]: the PKCE login and the token store;
//! - [`engine`]: follows a source on its own thread and publishes immutable snapshots;
//! - [`jukebox`]: Juke-V-Box, a queue of visitors each with their own engine;
//! - [`operator`]: what one CHOP or DAT does each cook, independent of any host;
//! - [`ffi`]: the C ABI the C++ shim in `cpp/` calls, and nothing else.
//!
//! [`docs`] renders the schema's tables for the README and the artists' guide.

#![deny(unsafe_code)]

pub mod model;

pub mod config;
pub mod schema;

pub mod api;
pub mod auth;
pub mod engine;
pub mod jukebox;
pub mod operator;

#[allow(unsafe_code)]
pub mod ffi;

pub mod docs;
