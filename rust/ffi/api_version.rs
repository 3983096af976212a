//! Which TouchDesigner plugin API a `Fill*PluginInfo` declares.
//!
//! TouchDesigner 2022–2023 (the 9/3 series) reads a plain number: CHOP 9, DAT 3. TouchDesigner
//! 2025 instead offers a range, `MinAPIVersion`/`MaxAPIVersion` at bytes 936/940 of the plugin
//! info, and accepts a declared `family | common << 16` only if each 16-bit half is inside the
//! range's halves. Older builds leave those bytes zero. Every struct and vtable this plugin uses
//! has the same layout in all three series (new fields came out of reserved space, new virtuals
//! replaced reserved slots or were appended), so one binary can answer whichever asks, instead of
//! one build per series.

use super::{TDS_FAMILY_CHOP, TDS_FAMILY_DAT};

/// The version to write at offset 0 of the plugin info, and whether TouchDesigner will take it.
/// When `accepted` is false, write `version` and return from `Fill*PluginInfo` at once: the rest
/// of the info may not be set up.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TdsApiVersion {
    pub version: i32,
    pub accepted: bool,
}

/// Common API versions of TouchDesigner 2025 this plugin's declarations cover, newest first:
/// 2 from build 2025.33060, 1 before it.
const COMMON_VERSIONS: [i32; 2] = [2, 1];

/// Family versions: (before 2025, 2025).
fn family_versions(family: u32) -> Option<(i32, i32)> {
    match family {
        TDS_FAMILY_CHOP => Some((9, 10)),
        TDS_FAMILY_DAT => Some((3, 4)),
        _ => None,
    }
}

fn halves(v: i32) -> (i32, i32) {
    (v & 0xFFFF, (v >> 16) & 0xFFFF)
}

/// A range TouchDesigner 2025 could have written; anything else is read as the zeroed reserved
/// space of an older build.
fn plausible_range(min: i32, max: i32) -> bool {
    let ((fam_min, common_min), (fam_max, common_max)) = (halves(min), halves(max));
    min > 0 && max > 0 && common_min >= 1 && common_min <= common_max && fam_min <= fam_max
}

/// Chooses the API version for `family` ([`TDS_FAMILY_CHOP`] or [`TDS_FAMILY_DAT`]) from the
/// range TouchDesigner wrote at bytes 936 (`min`) and 940 (`max`) of the plugin info.
#[no_mangle]
pub extern "C" fn td_spotify_api_version(family: u32, min: i32, max: i32) -> TdsApiVersion {
    let Some((legacy, current)) = family_versions(family) else {
        return TdsApiVersion { version: 0, accepted: false };
    };
    if !plausible_range(min, max) {
        return TdsApiVersion { version: legacy, accepted: true };
    }
    let ((fam_min, common_min), (fam_max, common_max)) = (halves(min), halves(max));
    let family_ok = (fam_min..=fam_max).contains(&current);
    let fits = |common: &i32| family_ok && (common_min..=common_max).contains(common);
    match COMMON_VERSIONS.iter().find(|c| fits(c)) {
        Some(common) => TdsApiVersion { version: current | common << 16, accepted: true },
        // A TouchDesigner newer (or older) than anything declared here: it will say so itself.
        None => TdsApiVersion { version: current | COMMON_VERSIONS[0] << 16, accepted: false },
    }
}
