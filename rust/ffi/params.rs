//! The operators and their parameters across the ABI: descriptions for `Fill*PluginInfo` and
//! `setupParameters`, and their values each cook, read through the host's getters and compared
//! with the values in force so an unchanged cook does no string work.

use std::ffi::{c_char, c_void, CStr};

use super::{arg_str, guard, with_instance, TdsInstance, TdsResult};
use crate::operator::read::{ParamSource, Text};
use crate::schema::{operator, ParamKind, PARAMS};

/// Description of one custom parameter. Every string is static and NUL-terminated.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TdsParamInfo {
    pub name: *const c_char,
    pub label: *const c_char,
    pub page: *const c_char,
    pub help: *const c_char,
    pub kind: ParamKind,
    /// [`TDS_FAMILY_CHOP`] / [`TDS_FAMILY_DAT`] bits of the operators that show it.
    pub families: u32,
    pub default_value: f64,
    pub min_value: f64,
    pub max_value: f64,
    pub clamp: bool,
    /// Default of a String or Menu parameter (a menu item's name).
    pub default_string: *const c_char,
    pub menu_count: u32,
}

/// What TouchDesigner registers for one operator family. Every string is static.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TdsOperatorInfo {
    /// Saved in `.toe` files: never changes once shipped.
    pub op_type: *const c_char,
    pub label: *const c_char,
    pub icon: *const c_char,
    pub max_inputs: i32,
}

/// Describes the operator of `family` ([`super::TDS_FAMILY_CHOP`] or [`super::TDS_FAMILY_DAT`]).
///
/// # Safety
/// `out` must be null or point to writable memory for one [`TdsOperatorInfo`].
#[no_mangle]
pub unsafe extern "C" fn td_spotify_operator_info(family: u32, out: *mut TdsOperatorInfo) -> TdsResult {
    guard(std::ptr::null_mut(), TdsResult::Panicked, || {
        let Some(o) = operator(family) else { return TdsResult::OutOfRange };
        let info = TdsOperatorInfo {
            op_type: o.op_type.as_ptr(),
            label: o.label.as_ptr(),
            icon: o.icon.as_ptr(),
            max_inputs: o.max_inputs,
        };
        // SAFETY: null is refused; the caller promises it is writable otherwise.
        match unsafe { out.as_mut() } {
            Some(out) => *out = info,
            None => return TdsResult::NullArgument,
        }
        TdsResult::Ok
    })
}

/// Number of custom parameters.
#[no_mangle]
pub extern "C" fn td_spotify_param_count() -> u32 {
    PARAMS.len() as u32
}

/// Describes parameter `index`.
///
/// # Safety
/// `out` must be null or point to writable memory for one [`TdsParamInfo`].
#[no_mangle]
pub unsafe extern "C" fn td_spotify_param_info(index: u32, out: *mut TdsParamInfo) -> TdsResult {
    guard(std::ptr::null_mut(), TdsResult::Panicked, || {
        let Some(p) = PARAMS.get(index as usize) else { return TdsResult::OutOfRange };
        if out.is_null() {
            return TdsResult::NullArgument;
        }
        let info = TdsParamInfo {
            name: p.name.as_ptr(),
            label: p.label.as_ptr(),
            page: p.page.as_ptr(),
            help: p.help.as_ptr(),
            kind: p.kind,
            families: p.families,
            default_value: p.default,
            min_value: p.min,
            max_value: p.max,
            clamp: p.clamp,
            default_string: p.default_str.as_ptr(),
            menu_count: p.menu.len() as u32,
        };
        // SAFETY: checked non-null; the caller promises it is writable.
        unsafe { out.write(info) };
        TdsResult::Ok
    })
}

/// Name (token) and label of item `item` of menu parameter `param`. Static strings.
///
/// # Safety
/// `name` and `label` must each be null or writable for one pointer.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_param_menu_item(
    param: u32,
    item: u32,
    name: *mut *const c_char,
    label: *mut *const c_char,
) -> TdsResult {
    guard(std::ptr::null_mut(), TdsResult::Panicked, || {
        let Some(entry) = PARAMS.get(param as usize).and_then(|p| p.menu.get(item as usize)) else {
            return TdsResult::OutOfRange;
        };
        // SAFETY: each pointer is checked for null; the caller promises they are writable.
        unsafe {
            if let Some(n) = name.as_mut() {
                *n = entry.name.as_ptr();
            }
            if let Some(l) = label.as_mut() {
                *l = entry.label.as_ptr();
            }
        }
        TdsResult::Ok
    })
}

/// Sets numeric parameter `index` (toggle, int, float or menu index). Cheap when unchanged.
///
/// # Safety
/// `instance` must be null or live.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_set_param_number(
    instance: *mut TdsInstance,
    index: u32,
    value: f64,
) -> TdsResult {
    with_instance(instance, |inst| {
        if index as usize >= PARAMS.len() {
            return TdsResult::OutOfRange;
        }
        inst.set_number(index as usize, value);
        TdsResult::Ok
    })
}

/// Sets string or menu parameter `index` (a menu passes its token). Cheap when unchanged.
///
/// # Safety
/// `instance` must be null or live; `value` null or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_set_param_string(
    instance: *mut TdsInstance,
    index: u32,
    value: *const c_char,
) -> TdsResult {
    with_instance(instance, |inst| {
        if index as usize >= PARAMS.len() {
            return TdsResult::OutOfRange;
        }
        // SAFETY: forwarded contract of this function.
        match unsafe { arg_str(value) } {
            Ok(v) => {
                inst.set_string(index as usize, v);
                TdsResult::Ok
            }
            Err(e) => e,
        }
    })
}

/// How the library reads TouchDesigner's parameters during a cook: the host's `OP_Inputs`
/// (opaque here) and one function per getter, each called as `get(inputs, name)` for index 0.
/// The library decides which parameters a cook needs (see [`td_spotify_read_params`]).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TdsParamReader {
    pub inputs: *const c_void,
    /// `getParInt`: toggles, integers and menus (the item index).
    pub get_int: Option<unsafe extern "C" fn(inputs: *const c_void, name: *const c_char) -> i32>,
    /// `getParDouble`: floats.
    pub get_double: Option<unsafe extern "C" fn(inputs: *const c_void, name: *const c_char) -> f64>,
    /// `getParString`: strings. Null keeps the value in force.
    pub get_string: Option<unsafe extern "C" fn(inputs: *const c_void, name: *const c_char) -> *const c_char>,
    /// `getParFilePath`: folders, resolved by the host. Null keeps the value in force.
    pub get_file_path:
        Option<unsafe extern "C" fn(inputs: *const c_void, name: *const c_char) -> *const c_char>,
}

/// A [`TdsParamReader`] whose getters are all present.
struct Host {
    inputs: *const c_void,
    get_int: unsafe extern "C" fn(*const c_void, *const c_char) -> i32,
    get_double: unsafe extern "C" fn(*const c_void, *const c_char) -> f64,
    get_string: unsafe extern "C" fn(*const c_void, *const c_char) -> *const c_char,
    get_file_path: unsafe extern "C" fn(*const c_void, *const c_char) -> *const c_char,
}

impl ParamSource for Host {
    fn int(&self, name: &'static CStr) -> i32 {
        // SAFETY: the getters are valid for `inputs` during this call (td_spotify_read_params).
        unsafe { (self.get_int)(self.inputs, name.as_ptr()) }
    }

    fn float(&self, name: &'static CStr) -> f64 {
        // SAFETY: as above.
        unsafe { (self.get_double)(self.inputs, name.as_ptr()) }
    }

    fn text(&self, name: &'static CStr, folder: bool, current: &str) -> Text<'_> {
        let get = if folder { self.get_file_path } else { self.get_string };
        // SAFETY: as above; the host returns null or a NUL-terminated string that stays valid
        // until it is asked for the same name again.
        unsafe {
            let text = get(self.inputs, name.as_ptr());
            if text.is_null() {
                Text::Unanswered
            } else if same_c_string(current.as_bytes(), text) {
                Text::Same
            } else {
                arg_str(text).map_or(Text::NotUtf8, Text::Changed)
            }
        }
    }
}

// The doc line below is an annotation that keeps libc's function out of include/td_spotify.h.
#[allow(unused_doc_comments)]
/// cbindgen:ignore
extern "C" {
    // The C library's, in every C runtime TouchDesigner loads (vectorised, and stops at the first
    // difference or NUL, so it never reads past either string).
    fn strncmp(a: *const c_char, b: *const c_char, n: usize) -> i32;
}

/// Whether the NUL-terminated `text` holds exactly `cached` (which has no NUL), reading no byte
/// past the first difference: the per-cook check of an unchanged string, without `strlen` or
/// UTF-8 validation.
///
/// # Safety
/// `text` must be non-null and NUL-terminated.
unsafe fn same_c_string(cached: &[u8], text: *const c_char) -> bool {
    // SAFETY: `cached` has `len` bytes; `text` is NUL-terminated and strncmp stops at its NUL
    // (which differs from every byte of `cached`), so byte `len` is read only when the first
    // `len` matched.
    unsafe { strncmp(text, cached.as_ptr().cast(), cached.len()) == 0 && *text.add(cached.len()) == 0 }
}

/// Reads this cook's parameters through `reader`: those that can change what the operator does
/// now (a page not in use is skipped; a parameter that comes into use is read in the same cook),
/// each compared with the value in force, so an unchanged cook does no string work and no
/// allocation. A text that is not UTF-8 keeps the value in force and the call returns
/// `InvalidUtf8` (the other parameters are still read).
///
/// # Safety
/// `instance` must be null or live; `reader` null or valid, each getter callable with its
/// `inputs` for the whole call and returning null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_read_params(
    instance: *mut TdsInstance,
    reader: *const TdsParamReader,
) -> TdsResult {
    with_instance(instance, |inst| {
        // SAFETY: null or valid per this function's contract.
        let Some(r) = (unsafe { reader.as_ref() }) else { return TdsResult::NullArgument };
        let (Some(get_int), Some(get_double), Some(get_string), Some(get_file_path)) =
            (r.get_int, r.get_double, r.get_string, r.get_file_path)
        else {
            return TdsResult::NullArgument;
        };
        let host = Host { inputs: r.inputs, get_int, get_double, get_string, get_file_path };
        match inst.read_params(&host) {
            Ok(()) => TdsResult::Ok,
            Err(_) => TdsResult::InvalidUtf8,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchanged_string_is_compared_byte_by_byte() {
        // SAFETY: every pointer is a NUL-terminated literal.
        unsafe {
            assert!(same_c_string(b"queue", c"queue".as_ptr()));
            assert!(same_c_string(b"", c"".as_ptr()));
            assert!(!same_c_string(b"queue", c"queu".as_ptr()));
            assert!(!same_c_string(b"queu", c"queue".as_ptr()));
            assert!(!same_c_string(b"", c"x".as_ptr()));
        }
    }
}
