//! The C ABI called as C would call it (sahou's `core/tests/cffi.rs` pattern): only exported
//! functions, raw pointers in, results and copies out. The dlopen host (`tests/plugin.rs`) does
//! the same through the real shared library and the C++ shim.

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr};

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

/// What a host holds for one cook: each parameter's number (a menu's item index) or text, and
/// the names the library asked for.
#[derive(Default)]
struct Host {
    numbers: Vec<(&'static str, f64)>,
    texts: Vec<(&'static str, *const c_char)>,
    asked: RefCell<Vec<String>>,
}

impl Host {
    /// # Safety
    /// `inputs` is a live `Host`, `name` NUL-terminated.
    unsafe fn of<'a>(inputs: *const c_void, name: *const c_char) -> (&'a Host, String) {
        // SAFETY: per this function's contract.
        let (host, name) = unsafe { (&*inputs.cast::<Host>(), CStr::from_ptr(name)) };
        let name = name.to_str().unwrap().to_owned();
        host.asked.borrow_mut().push(name.clone());
        (host, name)
    }

    fn number(&self, name: &str) -> f64 {
        self.numbers.iter().find(|(n, _)| *n == name).map_or(0.0, |(_, v)| *v)
    }

    fn text(&self, name: &str) -> *const c_char {
        self.texts.iter().find(|(n, _)| *n == name).map_or(c"".as_ptr(), |(_, t)| *t)
    }

    fn reader(&self) -> TdsParamReader {
        unsafe extern "C" fn int(inputs: *const c_void, name: *const c_char) -> i32 {
            // SAFETY: the library passes back our `inputs` and a parameter name.
            let (host, name) = unsafe { Host::of(inputs, name) };
            host.number(&name) as i32
        }
        unsafe extern "C" fn double(inputs: *const c_void, name: *const c_char) -> f64 {
            // SAFETY: as above.
            let (host, name) = unsafe { Host::of(inputs, name) };
            host.number(&name)
        }
        unsafe extern "C" fn text(inputs: *const c_void, name: *const c_char) -> *const c_char {
            // SAFETY: as above.
            let (host, name) = unsafe { Host::of(inputs, name) };
            host.text(&name)
        }
        TdsParamReader {
            inputs: std::ptr::from_ref(self).cast(),
            get_int: Some(int),
            get_double: Some(double),
            get_string: Some(text),
            get_file_path: Some(text),
        }
    }

    fn take_asked(&self) -> Vec<String> {
        std::mem::take(&mut *self.asked.borrow_mut())
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
fn a_cook_reads_the_parameters_in_use_and_reports_a_bad_text() {
    let inst = td_spotify_instance_new(TDS_FAMILY_DAT);
    let bad = [0xFFu8 as c_char, 0];
    let queue_item = Param::Mode.spec().menu.iter().position(|m| m.name == c"queue").unwrap();
    let mut host = Host {
        numbers: vec![("Active", 0.0), ("Mode", queue_item as f64)],
        texts: vec![("Clientid", bad.as_ptr()), ("Tokencache", std::ptr::null())],
        ..Host::default()
    };
    let queue = QUEUE_COLUMNS.len() as u32;
    // SAFETY: `inst` is live; the reader's getters serve `host`, which outlives every call.
    unsafe {
        assert_eq!(td_spotify_read_params(inst, &host.reader()), TdsResult::Ok);
        assert_eq!(cooked(inst), (true, queue), "Active off, Mode queue (a menu read as its index)");
        let asked = host.take_asked();
        for unused in ["Clientid", "Port", "Pollinterval", "Tokencache", "Turnlength", "Redisurl"] {
            assert!(
                !asked.iter().any(|a| a == unused),
                "{unused} read while its page is not in use: {asked:?}"
            );
        }
        assert!(asked.iter().any(|a| a == "Simseed"), "the simulator's page is in use: {asked:?}");

        // Source turns to Spotify: its parameters are read in the same cook. The client ID is
        // not UTF-8 (refused, reported); the folder is not answered (kept).
        host.numbers.push(("Source", 1.0));
        assert_eq!(td_spotify_read_params(inst, &host.reader()), TdsResult::InvalidUtf8);
        let asked = host.take_asked();
        for used in ["Clientid", "Port", "Pollinterval", "Tokencache"] {
            assert!(asked.iter().any(|a| a == used), "{used} not read in the cook Source changed: {asked:?}");
        }
        assert!(!asked.iter().any(|a| a == "Simseed"), "the simulator's page is not in use: {asked:?}");
        host.texts[0].1 = c"abc".as_ptr();
        assert_eq!(td_spotify_read_params(inst, &host.reader()), TdsResult::Ok);
        assert_eq!(td_spotify_read_params(inst, &host.reader()), TdsResult::Ok, "unchanged");
        assert_eq!(cooked(inst), (true, queue));

        assert_eq!(td_spotify_read_params(inst, std::ptr::null()), TdsResult::NullArgument);
        let missing = TdsParamReader { get_file_path: None, ..host.reader() };
        assert_eq!(td_spotify_read_params(inst, &missing), TdsResult::NullArgument);
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
