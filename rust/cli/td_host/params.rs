//! `OP_ParameterManager`: records the parameters the plugin appends, as TouchDesigner would.

use std::cell::RefCell;
use std::ffi::c_char;

use super::abi::{NumericParameter, StringParameter};
use super::{lossy, Slot};

/// How a parameter was appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParKind {
    Float,
    Int,
    Toggle,
    Pulse,
    String,
    Folder,
    Menu,
}

/// One appended parameter, as TouchDesigner would record it.
#[derive(Debug, Clone)]
#[allow(dead_code)] // recorded as TouchDesigner receives it; the host reads back names, kinds, defaults
pub struct AppendedPar {
    pub name: String,
    pub label: String,
    pub page: String,
    pub kind: ParKind,
    pub default_number: f64,
    pub default_string: String,
    pub menu: Vec<String>,
}

#[repr(C)]
pub(super) struct ParamManager {
    pub(super) vptr: *const [Slot; 30],
    pub(super) appended: RefCell<Vec<AppendedPar>>,
}

/// # Safety
/// `this` is our manager, `np` a valid `OP_NumericParameter`.
unsafe fn append_numeric(this: *mut ParamManager, np: *const NumericParameter, kind: ParKind) -> i32 {
    // SAFETY: per this function's contract.
    let (m, np) = unsafe { (&*this, &*np) };
    // SAFETY: the plugin passes NUL-terminated strings or null.
    let (name, label, page) = unsafe { (lossy(np.name), lossy(np.label), lossy(np.page)) };
    let mut appended = m.appended.borrow_mut();
    if !valid_name(&name) || appended.iter().any(|p| p.name == name) {
        return 1; // InvalidName
    }
    appended.push(AppendedPar {
        name,
        label,
        page,
        kind,
        default_number: np.default_values[0],
        default_string: String::new(),
        menu: Vec::new(),
    });
    0
}

/// # Safety
/// `this` is our manager, `sp` a valid `OP_StringParameter`.
unsafe fn append_string(
    this: *mut ParamManager,
    sp: *const StringParameter,
    kind: ParKind,
    menu: Vec<String>,
) -> i32 {
    // SAFETY: per this function's contract.
    let (m, sp) = unsafe { (&*this, &*sp) };
    // SAFETY: the plugin passes NUL-terminated strings or null.
    let (name, label, page, default_string) =
        unsafe { (lossy(sp.name), lossy(sp.label), lossy(sp.page), lossy(sp.default_value)) };
    let mut appended = m.appended.borrow_mut();
    if !valid_name(&name) || appended.iter().any(|p| p.name == name) {
        return 1;
    }
    appended.push(AppendedPar { name, label, page, kind, default_number: 0.0, default_string, menu });
    0
}

/// TouchDesigner's rule for custom parameter names: `Capitalised`, then lowercase or digits.
pub fn valid_name(name: &str) -> bool {
    let mut b = name.bytes();
    b.next().is_some_and(|c| c.is_ascii_uppercase())
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

unsafe extern "C" fn pm_float(this: *mut ParamManager, np: *const NumericParameter, _size: i32) -> i32 {
    // SAFETY: forwarded TD contract.
    unsafe { append_numeric(this, np, ParKind::Float) }
}
unsafe extern "C" fn pm_int(this: *mut ParamManager, np: *const NumericParameter, _size: i32) -> i32 {
    // SAFETY: forwarded TD contract.
    unsafe { append_numeric(this, np, ParKind::Int) }
}
unsafe extern "C" fn pm_toggle(this: *mut ParamManager, np: *const NumericParameter) -> i32 {
    // SAFETY: forwarded TD contract.
    unsafe { append_numeric(this, np, ParKind::Toggle) }
}
unsafe extern "C" fn pm_pulse(this: *mut ParamManager, np: *const NumericParameter) -> i32 {
    // SAFETY: forwarded TD contract.
    unsafe { append_numeric(this, np, ParKind::Pulse) }
}
unsafe extern "C" fn pm_string(this: *mut ParamManager, sp: *const StringParameter) -> i32 {
    // SAFETY: forwarded TD contract.
    unsafe { append_string(this, sp, ParKind::String, Vec::new()) }
}
unsafe extern "C" fn pm_folder(this: *mut ParamManager, sp: *const StringParameter) -> i32 {
    // SAFETY: forwarded TD contract.
    unsafe { append_string(this, sp, ParKind::Folder, Vec::new()) }
}
unsafe extern "C" fn pm_menu(
    this: *mut ParamManager,
    sp: *const StringParameter,
    n: i32,
    names: *const *const c_char,
    _labels: *const *const c_char,
) -> i32 {
    let menu = (0..n.max(0) as usize)
        // SAFETY: TD contract: `names` holds `n` strings.
        .map(|i| unsafe { lossy(*names.add(i)) })
        .collect();
    // SAFETY: forwarded TD contract.
    unsafe { append_string(this, sp, ParKind::Menu, menu) }
}
/// Every other slot: a kind of parameter the plugin has no business appending.
unsafe extern "C" fn pm_unsupported() -> i32 {
    1
}

pub(super) static PARAM_MANAGER_VTABLE: [Slot; 30] = {
    let mut t = [slot!(pm_unsupported); 30];
    t[0] = slot!(pm_float);
    t[1] = slot!(pm_int);
    t[8] = slot!(pm_toggle);
    t[9] = slot!(pm_pulse);
    t[10] = slot!(pm_string);
    t[12] = slot!(pm_folder);
    t[17] = slot!(pm_menu);
    t[18] = slot!(pm_menu);
    t
};
