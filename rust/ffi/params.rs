//! The operators and their parameters across the ABI: descriptions for `Fill*PluginInfo` and
//! `setupParameters`, and their values each cook, compared with the values in force so an
//! unchanged cook does no string work.

use std::ffi::c_char;

use super::{arg_str, guard, with_instance, TdsInstance, TdsResult};
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

/// Every parameter value of one cook, as the host read them: numbers (toggles, ints, floats) in
/// one array, texts (strings, menu tokens, folders) in another, each with the parameter indices
/// ([`td_spotify_param_info`]) they belong to. The shim fills it in place every cook.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TdsParamBlock {
    /// `number_count` parameter indices.
    pub number_index: *const u32,
    /// `number_count` values, in `number_index` order.
    pub numbers: *const f64,
    pub number_count: u32,
    /// `text_count` parameter indices.
    pub text_index: *const u32,
    /// `text_count` NUL-terminated values; a null entry keeps the value in force.
    pub texts: *const *const c_char,
    pub text_count: u32,
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

/// Sets every parameter of one cook in one call, each value compared with the one in force, so
/// an unchanged cook costs a comparison per parameter: no string is measured, copied or
/// validated unless it changed. Does what [`td_spotify_set_param_number`] /
/// [`td_spotify_set_param_string`] do per value; returns the first error (a bad value is skipped,
/// the others are still set).
///
/// # Safety
/// `instance` must be null or live; `block` null or valid, its arrays valid for their counts,
/// each text null or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_set_params(
    instance: *mut TdsInstance,
    block: *const TdsParamBlock,
) -> TdsResult {
    with_instance(instance, |inst| {
        // SAFETY: null or valid per this function's contract.
        let Some(b) = (unsafe { block.as_ref() }) else { return TdsResult::NullArgument };
        // SAFETY: as above; a null array must come with a count of 0.
        let (number_index, numbers, text_index, texts) = unsafe {
            (
                arg_slice(b.number_index, b.number_count),
                arg_slice(b.numbers, b.number_count),
                arg_slice(b.text_index, b.text_count),
                arg_slice(b.texts, b.text_count),
            )
        };
        let (Some(number_index), Some(numbers), Some(text_index), Some(texts)) =
            (number_index, numbers, text_index, texts)
        else {
            return TdsResult::NullArgument;
        };
        let mut result = TdsResult::Ok;
        let mut first_error = |outcome: TdsResult| {
            if result == TdsResult::Ok {
                result = outcome;
            }
        };
        if !inst.same_numbers(numbers) {
            for (&index, &value) in number_index.iter().zip(numbers) {
                match index as usize {
                    i if i < PARAMS.len() => inst.set_number(i, value),
                    _ => first_error(TdsResult::OutOfRange),
                }
            }
            inst.remember_numbers(numbers);
        }
        for (&index, &text) in text_index.iter().zip(texts) {
            let index = index as usize;
            if text.is_null() {
                continue;
            }
            let Some(cached) = inst.string_param(index) else {
                first_error(TdsResult::OutOfRange);
                continue;
            };
            // SAFETY: non-null, NUL-terminated per this function's contract.
            if unsafe { same_c_string(cached.as_bytes(), text) } {
                continue;
            }
            // SAFETY: as above.
            match unsafe { arg_str(text) } {
                Ok(text) => inst.set_string(index, text),
                Err(e) => first_error(e),
            }
        }
        result
    })
}

/// `count` elements at `ptr`; `None` for a null pointer with a non-zero count.
///
/// # Safety
/// `ptr` must be null or valid for `count` elements.
unsafe fn arg_slice<'a, T>(ptr: *const T, count: u32) -> Option<&'a [T]> {
    match (ptr.is_null(), count) {
        (_, 0) => Some(&[]),
        (true, _) => None,
        // SAFETY: non-null; the caller promises `count` elements.
        (false, n) => Some(unsafe { std::slice::from_raw_parts(ptr, n as usize) }),
    }
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
