//! The C ABI: what the C++ shim (and any other host) calls. Everything `unsafe` lives here.
//!
//! # Call order and threads
//!
//! TouchDesigner calls every entry point on its main thread, one at a time:
//!
//! 1. `Fill*PluginInfo` once at start-up ([`entry`], forwarded to the C++ shim), which asks
//!    [`api_version::td_spotify_api_version`] what to declare.
//! 2. `Create*Instance` per operator → [`td_spotify_instance_new`].
//! 3. `setupParameters` → [`td_spotify_param_count`], [`td_spotify_param_info`],
//!    [`td_spotify_param_menu_item`].
//! 4. Each cook: [`td_spotify_read_params`], which asks the host for the parameters in use (or,
//!    one at a time, [`td_spotify_set_param_number`] / [`td_spotify_set_param_string`]),
//!    [`td_spotify_push_audio`] when the CHOP has an input, then [`td_spotify_cook`], then
//!    [`td_spotify_write_channels`] (CHOP; [`td_spotify_channels`] copies them out) or [`td_spotify_table_size`] + [`td_spotify_table_cells`]
//!    (DAT; [`td_spotify_table_cell`] copies one cell), then [`td_spotify_info_value`] per Info CHOP channel,
//!    [`td_spotify_warning`], [`td_spotify_error`] and [`td_spotify_info_popup`]. None of these
//!    allocate, except the cook after a parameter changed and the first audio (which starts the
//!    beat tracker).
//! 5. `pulsePressed` between cooks → [`td_spotify_pulse`].
//! 6. `Destroy*Instance` → [`td_spotify_instance_free`]; the last one tells the engine to stop
//!    and returns without waiting on the network (see [`crate::engine`]'s lifecycle).
//!
//! # Errors
//!
//! Functions return a [`TdsResult`] or a neutral value; none unwinds. A panic inside a call is
//! caught, the instance is marked poisoned and [`td_spotify_error`] reports it.

#![warn(clippy::undocumented_unsafe_blocks)]

pub mod api_version;
pub mod entry;
mod output;
mod params;

pub use output::*;
pub use params::*;

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use crate::operator::Operator;
use crate::schema::{CHANNELS, CHANNEL_COUNT, ROWS};

/// Opaque per-operator handle.
pub struct TdsInstance {
    operator: Operator,
    /// Set when a call panicked: the operator shows this error and stops cooking.
    poisoned: Option<String>,
}

/// Outcome of a call.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TdsResult {
    Ok = 0,
    /// A required pointer was null.
    NullArgument = 1,
    /// An index was past the end.
    OutOfRange = 2,
    /// A string was not UTF-8.
    InvalidUtf8 = 3,
    /// The call panicked; the instance is poisoned (see `td_spotify_error`).
    Panicked = 4,
    /// No parameter or pulse has that name.
    UnknownName = 5,
    /// The instance is poisoned by an earlier panic.
    Poisoned = 6,
}

/// Operator family bits, for [`td_spotify_instance_new`] and [`TdsParamInfo::families`].
pub const TDS_FAMILY_CHOP: u32 = 1;
/// See [`TDS_FAMILY_CHOP`].
pub const TDS_FAMILY_DAT: u32 = 2;

const _: () =
    assert!(TDS_FAMILY_CHOP == crate::schema::family::CHOP && TDS_FAMILY_DAT == crate::schema::family::DAT);
/// Upper bound of [`td_spotify_channel_count`], for callers' stack buffers.
pub const TDS_MAX_CHANNELS: u32 = 64;

const _: () = assert!(CHANNEL_COUNT <= TDS_MAX_CHANNELS as usize);

/// Runs `f`, turning a panic into `fallback` and, when there is an instance, poisoning it.
fn guard<R>(instance: *mut TdsInstance, fallback: R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            // SAFETY: the caller passed either null or a pointer from `td_spotify_instance_new`.
            if let Some(inst) = unsafe { instance.as_mut() } {
                let _ = catch_unwind(AssertUnwindSafe(|| {
                    inst.poisoned =
                        Some(format!("internal error ({what}); please report it and recreate the operator"));
                }));
            }
            fallback
        }
    }
}

/// Runs `f` on a live, unpoisoned instance.
fn with_instance(instance: *mut TdsInstance, f: impl FnOnce(&mut Operator) -> TdsResult) -> TdsResult {
    guard(instance, TdsResult::Panicked, || {
        // SAFETY: the caller passed either null or a live pointer from `td_spotify_instance_new`,
        // and TouchDesigner calls us from one thread at a time.
        match unsafe { instance.as_mut() } {
            None => TdsResult::NullArgument,
            Some(inst) if inst.poisoned.is_some() => TdsResult::Poisoned,
            Some(inst) => f(&mut inst.operator),
        }
    })
}

/// Copies `text` into `buf` (capacity `cap` bytes, NUL included), truncating on a UTF-8
/// boundary. Returns the full length of `text` in bytes, so a caller can tell it was cut.
fn copy_out(text: &[u8], buf: *mut c_char, cap: usize) -> usize {
    if !buf.is_null() && cap > 0 {
        let mut n = text.len().min(cap - 1);
        while n > 0 && n < text.len() && (text[n] & 0xC0) == 0x80 {
            n -= 1;
        }
        // SAFETY: the caller promises `buf` holds `cap` bytes; we write `n + 1 <= cap`.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
            *buf.add(n) = 0;
        }
    }
    text.len()
}

/// Reads a C string argument.
///
/// # Safety
/// `s` must be null or a NUL-terminated string valid for the call.
unsafe fn arg_str<'a>(s: *const c_char) -> Result<&'a str, TdsResult> {
    if s.is_null() {
        return Err(TdsResult::NullArgument);
    }
    // SAFETY: non-null and NUL-terminated per this function's contract.
    unsafe { CStr::from_ptr(s) }.to_str().map_err(|_| TdsResult::InvalidUtf8)
}

/// The library's version, e.g. `"0.1.0"`. Static; never free it.
#[no_mangle]
pub extern "C" fn td_spotify_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Number of CHOP channels (at most [`TDS_MAX_CHANNELS`]).
#[no_mangle]
pub extern "C" fn td_spotify_channel_count() -> u32 {
    CHANNEL_COUNT as u32
}

/// Name of channel `index`, or null past the end. Static; never free it.
#[no_mangle]
pub extern "C" fn td_spotify_channel_name(index: u32) -> *const c_char {
    CHANNELS.get(index as usize).map_or(std::ptr::null(), |c| c.c_name.as_ptr())
}

/// Number of rows of the `Now playing` table, header excluded.
#[no_mangle]
pub extern "C" fn td_spotify_row_count() -> u32 {
    ROWS.len() as u32
}

/// Name of row `index` (the `field` column), or null past the end. Static; never free it.
#[no_mangle]
pub extern "C" fn td_spotify_row_name(index: u32) -> *const c_char {
    ROWS.get(index as usize).map_or(std::ptr::null(), |r| r.c_name.as_ptr())
}

/// Creates the state of one operator of `family` ([`TDS_FAMILY_CHOP`] or [`TDS_FAMILY_DAT`]).
/// Never returns null unless out of memory. Free it with [`td_spotify_instance_free`].
#[no_mangle]
pub extern "C" fn td_spotify_instance_new(family: u32) -> *mut TdsInstance {
    guard(std::ptr::null_mut(), std::ptr::null_mut(), || {
        Box::into_raw(Box::new(TdsInstance { operator: Operator::new(family), poisoned: None }))
    })
}

/// Destroys an instance; the last one using an engine tells it to stop, without waiting on the network.
/// `td_spotify_instance_free(NULL)` does nothing.
///
/// # Safety
/// `instance` must be null or a pointer from [`td_spotify_instance_new`] not yet freed.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_instance_free(instance: *mut TdsInstance) {
    guard(std::ptr::null_mut(), (), || {
        if !instance.is_null() {
            // SAFETY: per the contract, this is the pointer `Box::into_raw` returned, freed once.
            drop(unsafe { Box::from_raw(instance) });
        }
    });
}

/// Handles pulse parameter `name` (e.g. `"Login"`).
///
/// # Safety
/// `instance` must be null or live; `name` null or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_pulse(instance: *mut TdsInstance, name: *const c_char) -> TdsResult {
    with_instance(instance, |inst| {
        // SAFETY: forwarded contract of this function.
        match unsafe { arg_str(name) } {
            Ok(n) if inst.pulse(n) => TdsResult::Ok,
            Ok(_) => TdsResult::UnknownName,
            Err(e) => e,
        }
    })
}

/// Starts a cook: applies parameter changes, pins the current snapshot, computes channels.
///
/// # Safety
/// `instance` must be null or live.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_cook(instance: *mut TdsInstance) -> TdsResult {
    with_instance(instance, |inst| {
        inst.cook(Instant::now());
        TdsResult::Ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_out_truncates_on_char_boundary() {
        let mut buf = [0 as c_char; 4];
        let text = "aé€".as_bytes(); // 1 + 2 + 3 bytes
        assert_eq!(copy_out(text, buf.as_mut_ptr(), buf.len()), 6);
        // SAFETY: copy_out NUL-terminated the buffer.
        let got = unsafe { CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(got.to_str().unwrap(), "aé");
        assert_eq!(copy_out(text, std::ptr::null_mut(), 0), 6);
    }

    #[test]
    fn a_panic_poisons_the_instance() {
        let inst = td_spotify_instance_new(TDS_FAMILY_CHOP);
        let r = with_instance(inst, |_| panic!("boom"));
        assert_eq!(r, TdsResult::Panicked);
        // SAFETY: `inst` is live.
        unsafe {
            assert_eq!(td_spotify_cook(inst), TdsResult::Poisoned);
            let mut buf = [0 as c_char; 256];
            assert!(td_spotify_error(inst, buf.as_mut_ptr(), buf.len()) > 0);
            assert!(CStr::from_ptr(buf.as_ptr()).to_str().unwrap().contains("boom"));
            td_spotify_instance_free(inst);
        }
    }
}
