//! What a cook hands back to TouchDesigner: channels, DAT cells, messages, Info CHOP values; and
//! the audio the CHOP's input hands in.

use std::ffi::{c_char, CStr};
use std::time::Instant;

use super::{copy_out, guard, with_instance, TdsInstance, TdsResult};
use crate::schema::INFOS;

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
    pick: fn(&TdsInstance) -> Option<&str>,
) -> usize {
    let mut len = copy_out(b"", buf, cap);
    guard(instance, (), || {
        // SAFETY: the caller passed null or a live instance.
        len = match unsafe { instance.as_ref() } {
            None => 0,
            Some(inst) => copy_out(pick(inst).unwrap_or("").as_bytes(), buf, cap),
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
    message(instance, buf, cap, |i| i.operator.warning())
}

/// Copies the current error into `buf`; returns its length, 0 when there is none.
/// A poisoned instance always has one.
///
/// # Safety
/// `instance` must be null or live; `buf` null or writable for `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn td_spotify_error(instance: *mut TdsInstance, buf: *mut c_char, cap: usize) -> usize {
    message(instance, buf, cap, |i| i.poisoned.as_deref().or_else(|| i.operator.error()))
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
    message(instance, buf, cap, |i| Some(i.operator.info_popup()))
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
