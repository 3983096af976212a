//! The C ABI called as C would call it (sahou's `core/tests/cffi.rs` pattern): only exported
//! functions, raw pointers in, results and copies out. The dlopen host (`tests/plugin.rs`) does
//! the same through the real shared library and the C++ shim.

use std::ffi::{c_char, CStr};

use td_spotify::ffi::api_version::{td_spotify_api_version, TdsApiVersion};
use td_spotify::ffi::*;
use td_spotify::schema::{Param, QUEUE_COLUMNS};

#[test]
fn null_handles_are_errors_not_crashes() {
    // SAFETY: null is allowed everywhere.
    unsafe {
        assert_eq!(td_spotify_cook(std::ptr::null_mut()), TdsResult::NullArgument);
        assert_eq!(td_spotify_pulse(std::ptr::null_mut(), std::ptr::null()), TdsResult::NullArgument);
        assert_eq!(td_spotify_channels(std::ptr::null_mut(), std::ptr::null_mut(), 3), 0);
        td_spotify_instance_free(std::ptr::null_mut());
    }
}

#[test]
fn bad_strings_are_refused() {
    let inst = td_spotify_instance_new(TDS_FAMILY_DAT);
    let bad = [0xFFu8 as c_char, 0];
    // SAFETY: `inst` is live, `bad` is NUL-terminated.
    unsafe {
        assert_eq!(td_spotify_set_param_string(inst, 1, bad.as_ptr()), TdsResult::InvalidUtf8);
        assert_eq!(td_spotify_pulse(inst, c"Nope".as_ptr()), TdsResult::UnknownName);
        assert_eq!(td_spotify_set_param_number(inst, 9999, 1.0), TdsResult::OutOfRange);
        td_spotify_instance_free(inst);
    }
}

fn block(
    number_index: &[u32],
    numbers: &[f64],
    text_index: &[u32],
    texts: &[*const c_char],
) -> TdsParamBlock {
    TdsParamBlock {
        number_index: number_index.as_ptr(),
        numbers: numbers.as_ptr(),
        number_count: numbers.len() as u32,
        text_index: text_index.as_ptr(),
        texts: texts.as_ptr(),
        text_count: texts.len() as u32,
    }
}

/// Cooks `inst` and reads back what the settings in force show: (inactive, table columns).
///
/// # Safety
/// `inst` must be live.
unsafe fn cooked(inst: *mut TdsInstance) -> (bool, u32) {
    let mut popup = [0 as c_char; 256];
    let (mut rows, mut cols) = (0, 0);
    // SAFETY: per this function's contract; the buffers hold what they are said to.
    unsafe {
        assert_eq!(td_spotify_cook(inst), TdsResult::Ok);
        td_spotify_info_popup(inst, popup.as_mut_ptr(), popup.len());
        assert_eq!(td_spotify_table_size(inst, &mut rows, &mut cols), TdsResult::Ok);
        (CStr::from_ptr(popup.as_ptr()).to_str().unwrap().starts_with("Inactive"), cols)
    }
}

#[test]
fn set_params_sets_what_changed_and_reports_the_first_error() {
    let inst = td_spotify_instance_new(TDS_FAMILY_DAT);
    let bad = [0xFFu8 as c_char, 0];
    let numbers_at = [Param::Active as u32, 9999];
    let texts_at = [Param::Clientid as u32, Param::Mode as u32, Param::Tokencache as u32];
    let texts = [bad.as_ptr(), c"queue".as_ptr(), std::ptr::null()];
    let queue = QUEUE_COLUMNS.len() as u32;
    // SAFETY: `inst` is live; every array holds the count given, texts NUL-terminated or null.
    unsafe {
        let first = block(&numbers_at, &[0.0, 1.0], &texts_at, &texts);
        assert_eq!(td_spotify_set_params(inst, &first), TdsResult::OutOfRange);
        assert_eq!(cooked(inst), (true, queue), "Active off, Mode queue");
        // The same values again change nothing and cost no string work.
        let again = block(&numbers_at[..1], &[0.0], &texts_at[1..2], &texts[1..2]);
        assert_eq!(td_spotify_set_params(inst, &again), TdsResult::Ok);
        assert_eq!(td_spotify_set_params(inst, &again), TdsResult::Ok);
        // A value set one by one in between is not mistaken for the block's.
        assert_eq!(td_spotify_set_param_number(inst, Param::Active as u32, 1.0), TdsResult::Ok);
        assert_eq!(td_spotify_set_params(inst, &again), TdsResult::Ok);
        assert_eq!(cooked(inst), (true, queue), "the block's Active off wins");
        let invalid_utf8 = block(&[], &[], &texts_at[..1], &texts[..1]);
        assert_eq!(td_spotify_set_params(inst, &invalid_utf8), TdsResult::InvalidUtf8);
        let empty = block(&[], &[], &[], &[]);
        assert_eq!(td_spotify_set_params(inst, &empty), TdsResult::Ok);
        assert_eq!(td_spotify_set_params(inst, std::ptr::null()), TdsResult::NullArgument);
        let dangling = TdsParamBlock { numbers: std::ptr::null(), ..empty };
        assert_eq!(
            td_spotify_set_params(inst, &TdsParamBlock { number_count: 1, ..dangling }),
            TdsResult::NullArgument
        );
        td_spotify_instance_free(inst);
    }
}

// Which plugin API a `Fill*PluginInfo` declares, for the range TouchDesigner wrote.

fn chop(min: i32, max: i32) -> TdsApiVersion {
    td_spotify_api_version(TDS_FAMILY_CHOP, min, max)
}

fn dat(min: i32, max: i32) -> TdsApiVersion {
    td_spotify_api_version(TDS_FAMILY_DAT, min, max)
}

#[test]
fn zero_range_is_the_9_3_series() {
    assert_eq!(chop(0, 0), TdsApiVersion { version: 9, accepted: true });
    assert_eq!(dat(0, 0), TdsApiVersion { version: 3, accepted: true });
}

#[test]
fn the_newest_common_version_in_range_is_declared() {
    // The values the facts sheet gives: C2 CHOP 0x2000A, C2 DAT 0x20004, C1 DAT 0x10004.
    assert_eq!(chop(0x1_0009, 0x2_000A), TdsApiVersion { version: 0x2_000A, accepted: true });
    assert_eq!(dat(0x2_0004, 0x2_0004), TdsApiVersion { version: 131076, accepted: true });
    assert_eq!(dat(0x1_0004, 0x1_0004), TdsApiVersion { version: 65540, accepted: true });
    assert_eq!(chop(0x1_000A, 0x1_000A), TdsApiVersion { version: 0x1_000A, accepted: true });
}

#[test]
fn a_range_without_our_versions_is_refused() {
    // Common version 3 only, or a family range that excludes ours.
    assert!(!chop(0x3_000A, 0x3_000B).accepted);
    assert!(!dat(0x2_0005, 0x2_0006).accepted);
    assert_eq!(chop(0x3_000A, 0x3_000B).version, 0x2_000A);
}

#[test]
fn garbage_in_old_reserved_bytes_is_read_as_the_9_3_series() {
    for (min, max) in [(-1, -1), (0x2_000A, 0x1_000A), (0x000A, 0x000A), (5, 0), (0, 0x2_000A)] {
        assert_eq!(chop(min, max), TdsApiVersion { version: 9, accepted: true }, "{min:#x}..{max:#x}");
    }
}

#[test]
fn unknown_family_is_refused() {
    assert!(!td_spotify_api_version(7, 0, 0).accepted);
}
