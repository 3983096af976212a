//! The two operators TouchDesigner registers: the opType it saves in `.toe` files (and in every
//! network that uses the plugin as a Custom OP), the label and icon it shows. Defined once here;
//! the shim reads them through the C ABI.

use std::ffi::CStr;

use super::family;

/// One operator TouchDesigner registers.
#[derive(Debug)]
pub struct OperatorSpec {
    /// [`family`] bit.
    pub family: u32,
    /// First letter A–Z, then a–z/0–9 only, or TouchDesigner refuses to register it.
    pub op_type: &'static CStr,
    pub label: &'static CStr,
    /// Three letters on the node's tile.
    pub icon: &'static CStr,
    /// Inputs it accepts (the CHOP takes audio for beat tracking).
    pub max_inputs: i32,
    /// The plugin API version of this family before TouchDesigner 2025 (9/3 series), and in 2025.
    pub api: (i32, i32),
}

/// The CHOP and the DAT, by family bit.
pub const OPERATORS: &[OperatorSpec] = &[
    OperatorSpec {
        family: family::CHOP,
        op_type: c"Tdspotify",
        label: c"Spotify",
        icon: c"SPT",
        max_inputs: 1,
        api: (9, 10),
    },
    OperatorSpec {
        family: family::DAT,
        op_type: c"Tdspotifydat",
        label: c"Spotify DAT",
        icon: c"SPD",
        max_inputs: 0,
        api: (3, 4),
    },
];

/// Common API versions of TouchDesigner 2025 this plugin's declarations cover, newest first:
/// 2 from build 2025.33060, 1 before it.
const COMMON_VERSIONS: [i32; 2] = [2, 1];

fn halves(v: i32) -> (i32, i32) {
    (v & 0xFFFF, (v >> 16) & 0xFFFF)
}

/// A range TouchDesigner 2025 could have written; anything else is read as the zeroed reserved
/// space of an older build.
fn plausible_range(min: i32, max: i32) -> bool {
    let ((fam_min, common_min), (fam_max, common_max)) = (halves(min), halves(max));
    min > 0 && max > 0 && common_min >= 1 && common_min <= common_max && fam_min <= fam_max
}

impl OperatorSpec {
    /// The API version to declare, and whether TouchDesigner will take it, from the range it
    /// wrote (`min`, `max`; zero before 2025). TouchDesigner 2025 accepts `family | common << 16`
    /// only if each 16-bit half is inside the range's halves.
    pub fn api_version(&self, min: i32, max: i32) -> (i32, bool) {
        let (legacy, current) = self.api;
        if !plausible_range(min, max) {
            return (legacy, true);
        }
        let ((fam_min, common_min), (fam_max, common_max)) = (halves(min), halves(max));
        let family_ok = (fam_min..=fam_max).contains(&current);
        let fits = |common: &i32| family_ok && (common_min..=common_max).contains(common);
        match COMMON_VERSIONS.iter().find(|c| fits(c)) {
            Some(common) => (current | common << 16, true),
            // A TouchDesigner newer (or older) than anything declared here: it will say so itself.
            None => (current | COMMON_VERSIONS[0] << 16, false),
        }
    }
}

/// The operator of `family` ([`family::CHOP`] or [`family::DAT`]).
pub fn operator(family: u32) -> Option<&'static OperatorSpec> {
    OPERATORS.iter().find(|o| o.family == family)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_types_follow_touchdesigner_rules() {
        for o in OPERATORS {
            let mut bytes = o.op_type.to_bytes().iter();
            assert!(bytes.next().is_some_and(u8::is_ascii_uppercase), "{:?}", o.op_type);
            assert!(bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{:?}", o.op_type);
            assert_eq!(o.icon.to_bytes().len(), 3);
        }
        assert_eq!(operator(family::CHOP).unwrap().op_type, c"Tdspotify");
        assert!(operator(family::BOTH).is_none());
    }
}
