//! Which TouchDesigner plugin API a `Fill*PluginInfo` declares.
//!
//! TouchDesigner 2022–2023 (the 9/3 series) reads a plain number: CHOP 9, DAT 3. TouchDesigner
//! 2025 instead offers a range, `MinAPIVersion`/`MaxAPIVersion` at bytes 936/940 of the plugin
//! info, and accepts a declared `family | common << 16` only if each 16-bit half is inside the
//! range's halves. Older builds leave those bytes zero. Every struct and vtable this plugin uses
//! has the same layout in all three series (new fields came out of reserved space, new virtuals
//! replaced reserved slots or were appended), so one binary can answer whichever asks, instead of
//! one build per series.

use crate::schema::operator;

/// The version to write at offset 0 of the plugin info, and whether TouchDesigner will take it.
/// When `accepted` is false, write `version` and return from `Fill*PluginInfo` at once: the rest
/// of the info may not be set up.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TdsApiVersion {
    pub version: i32,
    pub accepted: bool,
}

/// Chooses the API version for `family` ([`super::TDS_FAMILY_CHOP`] or [`super::TDS_FAMILY_DAT`])
/// from the range TouchDesigner wrote at bytes 936 (`min`) and 940 (`max`) of the plugin info.
#[no_mangle]
pub extern "C" fn td_spotify_api_version(family: u32, min: i32, max: i32) -> TdsApiVersion {
    let (version, accepted) = operator(family).map_or((0, false), |o| o.api_version(min, max));
    TdsApiVersion { version, accepted }
}
