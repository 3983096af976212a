//! `OP_Inputs`: the parameter values and the time the plugin reads in a cook.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, CString};

use super::abi::TimeInfo;
use super::{lossy, Slot};

/// A parameter value as the host holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum ParValue {
    Number(f64),
    Text(String),
}

#[repr(C)]
pub(super) struct Inputs {
    pub(super) vptr: *const [Slot; 33],
    /// Each value, its text (getParString), and its number (getParInt/Double; a menu's item
    /// index).
    pub(super) values: RefCell<HashMap<String, (ParValue, CString, f64)>>,
    pub(super) time: TimeInfo,
}

/// # Safety
/// `this` is our inputs; `name` null or NUL-terminated.
unsafe fn lookup(this: *const Inputs, name: *const c_char) -> Option<(f64, *const c_char)> {
    // SAFETY: per this function's contract.
    let (inputs, name) = unsafe { (&*this, lossy(name)) };
    let values = inputs.values.borrow();
    let (_, text, number) = values.get(&name)?;
    Some((*number, text.as_ptr()))
}

unsafe extern "C" fn in_num_inputs(_this: *const Inputs) -> i32 {
    0
}
unsafe extern "C" fn in_par_double(this: *const Inputs, name: *const c_char, _index: i32) -> f64 {
    // SAFETY: forwarded TD contract.
    unsafe { lookup(this, name) }.map_or(0.0, |(n, _)| n)
}
unsafe extern "C" fn in_par_int(this: *const Inputs, name: *const c_char, _index: i32) -> i32 {
    // SAFETY: forwarded TD contract.
    unsafe { lookup(this, name) }.map_or(0, |(n, _)| n.round() as i32)
}
unsafe extern "C" fn in_par_string(this: *const Inputs, name: *const c_char) -> *const c_char {
    // SAFETY: forwarded TD contract; the CString lives in the map until the value changes.
    unsafe { lookup(this, name) }.map_or(c"".as_ptr(), |(_, s)| s)
}
unsafe extern "C" fn in_time(this: *const Inputs) -> *const TimeInfo {
    // SAFETY: `this` is our inputs.
    unsafe { &(*this).time }
}
unsafe extern "C" fn in_enable_par(_this: *const Inputs, _name: *const c_char, _on: bool) {}
/// Every other slot: no inputs, no operators by path, no Python.
unsafe extern "C" fn in_none() -> usize {
    0
}

pub(super) static INPUTS_VTABLE: [Slot; 33] = {
    let mut t = [slot!(in_none); 33];
    t[0] = slot!(in_num_inputs);
    t[7] = slot!(in_par_double);
    t[11] = slot!(in_par_int);
    t[15] = slot!(in_par_string);
    t[16] = slot!(in_par_string);
    t[18] = slot!(in_enable_par);
    t[29] = slot!(in_time);
    t
};
