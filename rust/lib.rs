//! td-spotify: Spotify playback as TouchDesigner channels and rows.
//!
//! The engine ([`engine`]) follows a data source on its own thread and publishes immutable
//! snapshots; the C ABI ([`ffi`]) lets the C++ shim in `cpp/` copy them into TouchDesigner's
//! buffers every cook. [`schema`] names everything the artist sees.

#![deny(unsafe_code)]

pub mod api;
pub mod auth;
pub mod config;
pub mod docs;
pub mod engine;
#[allow(unsafe_code)]
pub mod ffi;
pub mod jukebox;
pub mod model;
pub mod operator;
pub mod schema;
