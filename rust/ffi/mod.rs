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
//! 4. Each cook: [`td_spotify_set_params`] with every parameter (or, one at a time,
//!    [`td_spotify_set_param_number`] / [`td_spotify_set_param_string`]),
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
pub mod instance;

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use crate::schema::{ParamKind, CHANNELS, CHANNEL_COUNT, INFOS, PARAMS, ROWS};
use instance::Instance;

/// Opaque per-operator handle.
pub struct TdsInstance(Instance);

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

/// How a parameter is shown.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TdsParamKind {
    Toggle = 0,
    Int = 1,
    Float = 2,
    Menu = 3,
    String = 4,
    Pulse = 5,
    Folder = 6,
}

/// Description of one custom parameter. Every string is static and NUL-terminated.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TdsParamInfo {
    pub name: *const c_char,
    pub label: *const c_char,
    pub page: *const c_char,
    pub help: *const c_char,
    pub kind: TdsParamKind,
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
                    inst.0.poisoned =
                        Some(format!("internal error ({what}); please report it and recreate the operator"));
                }));
            }
            fallback
        }
    }
}

/// Runs `f` on a live, unpoisoned instance.
fn with_instance(instance: *mut TdsInstance, f: impl FnOnce(&mut Instance) -> TdsResult) -> TdsResult {
    guard(instance, TdsResult::Panicked, || {
        // SAFETY: the caller passed either null or a live pointer from `td_spotify_instance_new`,
        // and TouchDesigner calls us from one thread at a time.
        match unsafe { instance.as_mut() } {
            None => TdsResult::NullArgument,
            Some(inst) if inst.0.poisoned.is_some() => TdsResult::Poisoned,
            Some(inst) => f(&mut inst.0),
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
        let kind = match p.kind {
            ParamKind::Toggle => TdsParamKind::Toggle,
            ParamKind::Int => TdsParamKind::Int,
            ParamKind::Float => TdsParamKind::Float,
            ParamKind::Menu => TdsParamKind::Menu,
            ParamKind::String => TdsParamKind::String,
            ParamKind::Pulse => TdsParamKind::Pulse,
            ParamKind::Folder => TdsParamKind::Folder,
        };
        let info = TdsParamInfo {
            name: p.name.as_ptr(),
            label: p.label.as_ptr(),
            page: p.page.as_ptr(),
            help: p.help.as_ptr(),
            kind,
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

/// Creates the state of one operator of `family` ([`TDS_FAMILY_CHOP`] or [`TDS_FAMILY_DAT`]).
/// Never returns null unless out of memory. Free it with [`td_spotify_instance_free`].
#[no_mangle]
pub extern "C" fn td_spotify_instance_new(family: u32) -> *mut TdsInstance {
    guard(std::ptr::null_mut(), std::ptr::null_mut(), || {
        Box::into_raw(Box::new(TdsInstance(Instance::new(family))))
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

/// Copies up to `cap` channel values of the last cook into `out`; returns how many it wrote.
///
/// # Safety
/// `instance` must be null or live; `out` null or writable for `cap` floats.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_channels(instance: *mut TdsInstance, out: *mut f32, cap: u32) -> u32 {
    let mut written = 0;
    with_instance(instance, |inst| {
        if out.is_null() {
            return TdsResult::NullArgument;
        }
        let values = inst.channels();
        let n = values.len().min(cap as usize);
        // SAFETY: `out` is non-null and the caller promises room for `cap >= n` floats.
        unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), out, n) };
        written = n as u32;
        TdsResult::Ok
    });
    written
}

/// Writes the channels of the last cook straight into the host's output: every sample of
/// `channels[c]` (`num_samples` floats) gets channel `c`'s value, 0 past the last channel; a null
/// channel pointer is skipped. Returns how many channels it wrote. What the CHOP's `execute` does
/// with [`td_spotify_channels`] and a copy, in one straight loop.
///
/// # Safety
/// `instance` must be null or live; `channels` null or valid for `num_channels` pointers, each
/// null or writable for `num_samples` floats.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_write_channels(
    instance: *mut TdsInstance,
    channels: *const *mut f32,
    num_channels: i32,
    num_samples: i32,
) -> u32 {
    let mut written = 0;
    with_instance(instance, |inst| {
        if channels.is_null() || num_channels <= 0 || num_samples <= 0 {
            return TdsResult::NullArgument;
        }
        let values = inst.channels();
        // SAFETY: non-null; the caller promises `num_channels` pointers.
        let outputs = unsafe { std::slice::from_raw_parts(channels, num_channels as usize) };
        let ours = outputs.len().min(values.len());
        if num_samples == 1 {
            // What a CHOP of one sample per channel asks every cook: a straight loop.
            for (&samples, &value) in outputs[..ours].iter().zip(&values[..ours]) {
                // SAFETY: non-null; the caller promises room for `num_samples` floats.
                if let Some(sample) = unsafe { samples.as_mut() } {
                    *sample = value;
                }
            }
        } else {
            for (&samples, &value) in outputs[..ours].iter().zip(&values[..ours]) {
                if !samples.is_null() {
                    // SAFETY: as above.
                    unsafe { std::slice::from_raw_parts_mut(samples, num_samples as usize) }.fill(value);
                }
            }
        }
        for &samples in outputs[ours..].iter().filter(|s| !s.is_null()) {
            // SAFETY: as above.
            unsafe { std::slice::from_raw_parts_mut(samples, num_samples as usize) }.fill(0.0);
        }
        written = ours as u32;
        TdsResult::Ok
    });
    written
}

/// Size of the DAT table of the last cook, header row included.
///
/// # Safety
/// `instance` must be null or live; `rows`, `cols` null or writable.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_table_size(
    instance: *mut TdsInstance,
    rows: *mut u32,
    cols: *mut u32,
) -> TdsResult {
    with_instance(instance, |inst| {
        let (r, c) = inst.table_size();
        // SAFETY: each pointer is checked for null; the caller promises they are writable.
        unsafe {
            if let Some(rows) = rows.as_mut() {
                *rows = r as u32;
            }
            if let Some(cols) = cols.as_mut() {
                *cols = c as u32;
            }
        }
        TdsResult::Ok
    })
}

/// Copies cell (`row`, `col`) of the DAT table into `buf` (`cap` bytes, NUL-terminated,
/// truncated on a UTF-8 boundary). Returns the cell's full length in bytes (0 past the end).
///
/// # Safety
/// `instance` must be null or live; `buf` null or writable for `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_table_cell(
    instance: *mut TdsInstance,
    row: u32,
    col: u32,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    // An empty string until the cell is known, so a null or poisoned instance leaves no garbage.
    let mut len = copy_out(b"", buf, cap);
    with_instance(instance, |inst| {
        let cell = inst.table_cell(row as usize, col as usize).map_or(&b""[..], CStr::to_bytes);
        len = copy_out(cell, buf, cap);
        TdsResult::Ok
    });
    len
}

/// Points `out[0..cap]` at the DAT table's cells of the last cook, row by row from cell `first`
/// (cell `i` is row `i / cols`, column `i % cols`; header row included); returns how many it set.
/// The strings are NUL-terminated and stay valid until the next [`td_spotify_cook`] or
/// [`td_spotify_instance_free`]; missing cells are empty strings. One call per cook instead of one
/// [`td_spotify_table_cell`] per cell, and nothing is copied.
///
/// # Safety
/// `instance` must be null or live; `out` null or writable for `cap` pointers.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_table_cells(
    instance: *mut TdsInstance,
    first: u32,
    out: *mut *const c_char,
    cap: u32,
) -> u32 {
    let mut written = 0;
    with_instance(instance, |inst| {
        if out.is_null() {
            return TdsResult::NullArgument;
        }
        // SAFETY: non-null; the caller promises room for `cap` pointers.
        let out = unsafe { std::slice::from_raw_parts_mut(out, cap as usize) };
        written = inst.table_cells(first as usize, out) as u32;
        TdsResult::Ok
    });
    written
}

/// Shared body of the three message getters.
fn message(
    instance: *mut TdsInstance,
    buf: *mut c_char,
    cap: usize,
    pick: fn(&Instance) -> Option<&str>,
) -> usize {
    let mut len = copy_out(b"", buf, cap);
    guard(instance, (), || {
        // SAFETY: the caller passed null or a live instance.
        len = match unsafe { instance.as_ref() } {
            None => 0,
            Some(inst) => copy_out(pick(&inst.0).unwrap_or("").as_bytes(), buf, cap),
        };
    });
    len
}

/// Copies the current warning into `buf`; returns its length, 0 when there is none.
///
/// # Safety
/// `instance` must be null or live; `buf` null or writable for `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_warning(
    instance: *mut TdsInstance,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    message(instance, buf, cap, Instance::warning)
}

/// Copies the current error into `buf`; returns its length, 0 when there is none.
/// A poisoned instance always has one.
///
/// # Safety
/// `instance` must be null or live; `buf` null or writable for `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_error(instance: *mut TdsInstance, buf: *mut c_char, cap: usize) -> usize {
    message(instance, buf, cap, Instance::error)
}

/// Copies a one-line summary for the node's info popup into `buf`; returns its length.
///
/// # Safety
/// `instance` must be null or live; `buf` null or writable for `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_info_popup(
    instance: *mut TdsInstance,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    message(instance, buf, cap, |i| Some(i.info_popup()))
}

/// Number of Info CHOP channels (also the rows of the Info DAT).
#[no_mangle]
pub extern "C" fn td_spotify_info_count() -> u32 {
    INFOS.len() as u32
}

/// Name of Info CHOP channel `index`, or null past the end. Static; never free it.
#[no_mangle]
pub extern "C" fn td_spotify_info_name(index: u32) -> *const c_char {
    INFOS.get(index as usize).map_or(std::ptr::null(), |i| i.c_name.as_ptr())
}

/// Value of Info CHOP channel `index` for the last cook (0 past the end).
///
/// # Safety
/// `instance` must be null or live.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_info_value(instance: *mut TdsInstance, index: u32) -> f64 {
    let mut value = 0.0;
    with_instance(instance, |inst| {
        value = inst.info(index as usize, Instant::now());
        TdsResult::Ok
    });
    value
}

/// Hands the CHOP's input audio to the beat tracker: `channels[c]` points to `num_samples`
/// floats for each of `num_channels` channels. Call before [`td_spotify_cook`]. The first call
/// (and a change of sample rate) allocates the tracker's ring and starts its thread; every later
/// call only copies into the ring, without allocating or locking.
///
/// # Safety
/// `instance` must be null or live; `channels` null or valid for `num_channels` pointers, each
/// valid for `num_samples` floats, for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_push_audio(
    instance: *mut TdsInstance,
    channels: *const *const f32,
    num_channels: u32,
    num_samples: u32,
    sample_rate: f64,
) -> TdsResult {
    with_instance(instance, |inst| {
        if channels.is_null() {
            return TdsResult::NullArgument;
        }
        // At most 8 channels are used; a fixed array keeps this allocation-free.
        let mut slices: [&[f32]; 8] = [&[]; 8];
        let n = (num_channels as usize).min(slices.len());
        for (c, slot) in slices.iter_mut().enumerate().take(n) {
            // SAFETY: the caller promises `num_channels` valid pointers of `num_samples` floats.
            let ptr = unsafe { *channels.add(c) };
            if ptr.is_null() {
                return TdsResult::NullArgument;
            }
            // SAFETY: as above.
            *slot = unsafe { std::slice::from_raw_parts(ptr, num_samples as usize) };
        }
        inst.push_audio(&slices[..n], sample_rate);
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

    #[test]
    fn set_params_sets_what_changed_and_reports_the_first_error() {
        use crate::schema::Param;
        let inst = td_spotify_instance_new(TDS_FAMILY_DAT);
        let bad = [0xFFu8 as c_char, 0];
        let block = |number_index: &[u32], numbers: &[f64], text_index: &[u32], texts: &[*const c_char]| {
            TdsParamBlock {
                number_index: number_index.as_ptr(),
                numbers: numbers.as_ptr(),
                number_count: numbers.len() as u32,
                text_index: text_index.as_ptr(),
                texts: texts.as_ptr(),
                text_count: texts.len() as u32,
            }
        };
        let numbers_at = [Param::Active as u32, 9999];
        let texts_at = [Param::Clientid as u32, Param::Mode as u32, Param::Tokencache as u32];
        let texts = [bad.as_ptr(), c"queue".as_ptr(), std::ptr::null()];
        // SAFETY: `inst` is live; every array holds the count given, texts NUL-terminated or null.
        unsafe {
            let first = block(&numbers_at, &[0.0, 1.0], &texts_at, &texts);
            assert_eq!(td_spotify_set_params(inst, &first), TdsResult::OutOfRange);
            assert_eq!((*inst).0.string_param(Param::Mode as usize), Some("queue"));
            assert_eq!(td_spotify_cook(inst), TdsResult::Ok);
            assert!(!(*inst).0.settings().active);
            assert_eq!((*inst).0.settings().dat_mode, crate::schema::DatMode::Queue);
            // The same values again change nothing and cost no string work.
            let again = block(&numbers_at[..1], &[0.0], &texts_at[1..2], &texts[1..2]);
            assert_eq!(td_spotify_set_params(inst, &again), TdsResult::Ok);
            assert_eq!(td_spotify_set_params(inst, &again), TdsResult::Ok);
            // A value set one by one in between is not mistaken for the block's.
            assert_eq!(td_spotify_set_param_number(inst, Param::Active as u32, 1.0), TdsResult::Ok);
            assert_eq!(td_spotify_set_params(inst, &again), TdsResult::Ok);
            assert_eq!(td_spotify_cook(inst), TdsResult::Ok);
            assert!(!(*inst).0.settings().active);
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
