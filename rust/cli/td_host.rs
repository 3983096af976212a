//! A minimal stand-in for TouchDesigner: loads the plugin through its six entry points, appends
//! its parameters, and cooks CHOP and DAT instances frame by frame.
//!
//! The CLI's `demo` runs through this, so what it shows is what TouchDesigner receives. It lives
//! in the CLI, not in the library TouchDesigner loads. The objects TouchDesigner passes in
//! (`OP_Inputs`, `OP_String`, `DAT_Output`, …) are built here as `#[repr(C)]` structs whose first
//! field points at a table of `extern "C"` functions laid out like the C++ vtable (facts in
//! `shared/td-abi.md`). That only holds for the Itanium C++ ABI (Linux, macOS), where a virtual
//! call passes `this` as the first argument.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;

use abi::{CustomOpInfo, NodeInfo, OpString, PluginInfo, TimeInfo};
use inputs::{Inputs, INPUTS_VTABLE};
pub use params::{AppendedPar, ParKind};

/// The plugin's six entry points.
#[derive(Clone, Copy)]
pub struct EntryPoints {
    pub fill_chop: unsafe extern "C" fn(*mut c_void),
    pub create_chop: unsafe extern "C" fn(*const c_void) -> *mut c_void,
    pub destroy_chop: unsafe extern "C" fn(*mut c_void),
    pub fill_dat: unsafe extern "C" fn(*mut c_void),
    pub create_dat: unsafe extern "C" fn(*const c_void) -> *mut c_void,
    pub destroy_dat: unsafe extern "C" fn(*mut c_void),
}

/// One vtable slot. Entries have other signatures; they are only ever called through the
/// signature of their slot.
type Slot = unsafe extern "C" fn();

/// Stores a function of any signature in a vtable slot.
macro_rules! slot {
    ($f:expr) => {
        // SAFETY: fn pointers have one size and representation; callers cast them back to the
        // slot's real signature before calling.
        unsafe { std::mem::transmute::<*const (), Slot>($f as *const ()) }
    };
}

// After the macro: each module fills a vtable with `slot!`.
mod abi;
mod calls;
mod dat;
mod inputs;
mod params;

pub use calls::Frame;
pub use inputs::ParValue;

/// Reads a possibly-null C string.
///
/// # Safety
/// `s` must be null or NUL-terminated.
unsafe fn lossy(s: *const c_char) -> String {
    if s.is_null() {
        String::new()
    } else {
        // SAFETY: per this function's contract.
        unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned()
    }
}

/// What registration told the host about a plugin family.
#[derive(Debug, Clone)]
#[allow(dead_code)] // recorded as TouchDesigner receives it, for inspection; the demo reads none of it
pub struct PluginInfoSummary {
    pub api_version: i32,
    pub op_type: String,
    pub op_label: String,
    pub max_inputs: i32,
}

/// An emulated TouchDesigner session holding one CHOP and one DAT of the plugin.
#[allow(dead_code)] // `chop_info`, `dat_info`: what registration declared, kept for inspection
pub struct Host {
    entries: EntryPoints,
    pub chop_info: PluginInfoSummary,
    pub dat_info: PluginInfoSummary,
    chop: *mut c_void,
    dat: *mut c_void,
    _chop_node: Box<NodeInfo>,
    _dat_node: Box<NodeInfo>,
    inputs: Box<Inputs>,
    pub chop_params: Vec<AppendedPar>,
    pub dat_params: Vec<AppendedPar>,
    frame: i64,
    names: Vec<String>,
    values: Vec<f32>,
    table: Vec<Vec<String>>,
}

fn fill_info(fill: unsafe extern "C" fn(*mut c_void)) -> PluginInfoSummary {
    let strings: Vec<Box<OpString>> = (0..6).map(|_| OpString::new()).collect();
    let p = |i: usize| &*strings[i] as *const OpString as *mut OpString;
    let mut info = Box::new(PluginInfo {
        api_version: 0,
        reserved: [0; 100],
        custom_op_info: CustomOpInfo {
            op_type: p(0),
            op_label: p(1),
            op_icon: p(2),
            min_inputs: 0,
            max_inputs: 0,
            author_name: p(3),
            author_email: p(4),
            major_version: 0,
            minor_version: 1,
            python_version: p(5),
            cook_on_start: false,
            rest: [0; 456 - 65],
        },
        reserved2: [0; 20],
    });
    // SAFETY: `info` is laid out like TD's plugin info and its strings are live.
    unsafe { fill((&mut *info as *mut PluginInfo).cast()) };
    PluginInfoSummary {
        api_version: info.api_version,
        op_type: strings[0].take(),
        op_label: strings[1].take(),
        max_inputs: info.custom_op_info.max_inputs,
    }
}

impl Host {
    /// Registers the plugin, creates one CHOP and one DAT and appends their parameters.
    pub fn new(entries: EntryPoints) -> Result<Host, String> {
        let chop_info = fill_info(entries.fill_chop);
        let dat_info = fill_info(entries.fill_dat);
        let node = |path: &'static CStr, id| {
            Box::new(NodeInfo {
                op_path: path.as_ptr(),
                op_id: id,
                plugin_path: c"td_spotify".as_ptr(),
                context: ptr::null_mut(),
                cook_count: 0,
                reserved: [0; 14],
            })
        };
        let chop_node = node(c"/project1/spotify_chop", 1);
        let dat_node = node(c"/project1/spotify_dat", 2);
        // SAFETY: the node infos outlive the instances (they are dropped after destroy).
        let chop = unsafe { (entries.create_chop)((&*chop_node as *const NodeInfo).cast()) };
        // SAFETY: as above.
        let dat = unsafe { (entries.create_dat)((&*dat_node as *const NodeInfo).cast()) };
        if chop.is_null() || dat.is_null() {
            return Err("the plugin returned no instance".into());
        }
        let inputs = Box::new(Inputs {
            vptr: &INPUTS_VTABLE,
            values: RefCell::new(HashMap::new()),
            time: TimeInfo {
                abs_frame: 0,
                frame: 0.0,
                rate: 60.0,
                root_frame: 0.0,
                root_rate: 60.0,
                delta_frames: 0.0,
                delta_ms: 0.0,
                reserved: [0; 40],
            },
        });
        let mut host = Host {
            entries,
            chop_info,
            dat_info,
            chop,
            dat,
            _chop_node: chop_node,
            _dat_node: dat_node,
            inputs,
            chop_params: Vec::new(),
            dat_params: Vec::new(),
            frame: 0,
            names: Vec::new(),
            values: Vec::new(),
            table: Vec::new(),
        };
        host.setup_parameters();
        let defaults: Vec<(String, ParValue)> = host
            .chop_params
            .iter()
            .chain(&host.dat_params)
            .map(|p| {
                let value = match p.kind {
                    ParKind::String | ParKind::Folder | ParKind::Menu => {
                        ParValue::Text(p.default_string.clone())
                    }
                    _ => ParValue::Number(p.default_number),
                };
                (p.name.clone(), value)
            })
            .collect();
        for (name, value) in defaults {
            host.set_par(&name, value);
        }
        Ok(host)
    }

    /// Sets a parameter as an artist would in the parameter dialog.
    pub fn set_par(&mut self, name: &str, value: ParValue) {
        let text = text_of(&value);
        let number = match &value {
            ParValue::Number(n) => *n,
            // TouchDesigner's getParInt gives a menu's item index.
            ParValue::Text(t) => self
                .chop_params
                .iter()
                .chain(&self.dat_params)
                .find(|p| p.name == name)
                .and_then(|p| p.menu.iter().position(|m| m == t))
                .map_or(0.0, |i| i as f64),
        };
        self.inputs.values.borrow_mut().insert(name.to_owned(), (value, text, number));
    }
}

fn text_of(value: &ParValue) -> CString {
    let s = match value {
        ParValue::Number(n) => n.to_string(),
        ParValue::Text(t) => t.clone(),
    };
    CString::new(s).unwrap_or_default()
}

impl Drop for Host {
    fn drop(&mut self) {
        // SAFETY: both were created by the matching Create entry point and are destroyed once.
        unsafe {
            (self.entries.destroy_chop)(self.chop);
            (self.entries.destroy_dat)(self.dat);
        }
    }
}
