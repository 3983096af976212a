//! `DAT_Output`: the table of strings a DAT fills in its cook.

use std::cell::RefCell;
use std::ffi::c_char;
use std::ptr;

use super::{lossy, Slot};

#[repr(C)]
pub(super) struct DatOutput {
    pub(super) vptr: *const [Slot; 13],
    pub(super) reserved: [i32; 20],
    pub(super) table: RefCell<Vec<Vec<String>>>,
}

unsafe extern "C" fn dat_set_type(_this: *mut DatOutput, _kind: i32) {}
unsafe extern "C" fn dat_get_type(_this: *mut DatOutput) -> i32 {
    0
}
unsafe extern "C" fn dat_set_size(this: *mut DatOutput, rows: i32, cols: i32) {
    // SAFETY: `this` is our output.
    let out = unsafe { &*this };
    *out.table.borrow_mut() = vec![vec![String::new(); cols.max(0) as usize]; rows.max(0) as usize];
}
unsafe extern "C" fn dat_get_size(this: *mut DatOutput, rows: *mut i32, cols: *mut i32) {
    // SAFETY: `this` is our output; the plugin passes writable pointers.
    unsafe {
        let t = (*this).table.borrow();
        *rows = t.len() as i32;
        *cols = t.first().map_or(0, Vec::len) as i32;
    }
}
unsafe extern "C" fn dat_set_text(_this: *mut DatOutput, _utf8: *const c_char) -> bool {
    true
}
unsafe extern "C" fn dat_find(_this: *mut DatOutput, _name: *const c_char, _hint: i32) -> i32 {
    -1
}
unsafe extern "C" fn dat_set_cell(this: *mut DatOutput, row: i32, col: i32, utf8: *const c_char) -> bool {
    // SAFETY: `this` is our output; `utf8` NUL-terminated per TD contract.
    let (out, text) = unsafe { (&*this, lossy(utf8)) };
    let mut table = out.table.borrow_mut();
    match table.get_mut(row as usize).and_then(|r| r.get_mut(col as usize)) {
        Some(cell) if row >= 0 && col >= 0 => {
            *cell = text;
            true
        }
        _ => false,
    }
}
unsafe extern "C" fn dat_false() -> bool {
    false
}
unsafe extern "C" fn dat_null() -> *const c_char {
    ptr::null()
}

pub(super) static DAT_OUTPUT_VTABLE: [Slot; 13] = [
    slot!(dat_set_type),
    slot!(dat_get_type),
    slot!(dat_set_size),
    slot!(dat_get_size),
    slot!(dat_set_text),
    slot!(dat_find),
    slot!(dat_find),
    slot!(dat_set_cell),
    slot!(dat_false),
    slot!(dat_false),
    slot!(dat_null),
    slot!(dat_false),
    slot!(dat_false),
];
