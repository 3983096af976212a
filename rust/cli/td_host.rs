//! A minimal stand-in for TouchDesigner: loads the plugin through its six entry points, appends
//! its parameters, and cooks CHOP and DAT instances frame by frame.
//!
//! The CLI's `demo` runs through this, so what it shows is what TouchDesigner receives. It lives
//! in the CLI, not in the library TouchDesigner loads. The
//! objects TouchDesigner passes in (`OP_Inputs`, `OP_String`, `DAT_Output`, …) are built here as
//! `#[repr(C)]` structs whose first field points at a table of `extern "C"` functions laid out
//! like the C++ vtable (facts in `shared/td-abi.md`). That only holds for the Itanium C++ ABI
//! (Linux, macOS), where a virtual call passes `this` as the first argument.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;

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

// ---------------------------------------------------------------------------------------------
// Plain data structs, laid out as in td-abi.md §4.

#[repr(C)]
struct OpString {
    vptr: *const [Slot; 3],
    reserved: [i32; 20],
    value: RefCell<String>,
}

unsafe extern "C" fn string_dtor(_this: *mut OpString) {}

unsafe extern "C" fn string_set(this: *mut OpString, utf8: *const c_char) {
    // SAFETY: TD contract: `this` is one of our strings and `utf8` a NUL-terminated string.
    unsafe {
        if let Some(s) = this.as_ref() {
            *s.value.borrow_mut() = if utf8.is_null() {
                String::new()
            } else {
                CStr::from_ptr(utf8).to_string_lossy().into_owned()
            };
        }
    }
}

static STRING_VTABLE: [Slot; 3] = [slot!(string_dtor), slot!(string_dtor), slot!(string_set)];

impl OpString {
    fn new() -> Box<OpString> {
        Box::new(OpString { vptr: &STRING_VTABLE, reserved: [0; 20], value: RefCell::new(String::new()) })
    }

    fn take(&self) -> String {
        std::mem::take(&mut *self.value.borrow_mut())
    }
}

#[repr(C)]
struct CustomOpInfo {
    op_type: *mut OpString,
    op_label: *mut OpString,
    op_icon: *mut OpString,
    min_inputs: i32,
    max_inputs: i32,
    author_name: *mut OpString,
    author_email: *mut OpString,
    major_version: i32,
    minor_version: i32,
    python_version: *mut OpString,
    cook_on_start: bool,
    rest: [u8; 456 - 65],
}

#[repr(C)]
struct PluginInfo {
    api_version: i32,
    reserved: [i32; 100],
    custom_op_info: CustomOpInfo,
    reserved2: [i32; 20],
}

const _: () = assert!(std::mem::size_of::<CustomOpInfo>() == 456);
const _: () = assert!(std::mem::offset_of!(PluginInfo, custom_op_info) == 408);
const _: () = assert!(std::mem::size_of::<PluginInfo>() == 944);

#[repr(C)]
struct NodeInfo {
    op_path: *const c_char,
    op_id: u32,
    plugin_path: *const c_char,
    context: *mut c_void,
    cook_count: u32,
    reserved: [i32; 14],
}

const _: () = assert!(std::mem::size_of::<NodeInfo>() == 96);

#[repr(C)]
#[derive(Default)]
struct ChopGeneralInfo {
    cook_every_frame: bool,
    cook_every_frame_if_asked: bool,
    timeslice: bool,
    input_match_index: i32,
    reserved: [i32; 20],
}

#[repr(C)]
struct ChopOutputInfo {
    num_channels: i32,
    num_samples: i32,
    start_index: u32,
    sample_rate: f32,
    reserved1: *mut c_void,
    reserved: [i32; 20],
}

#[repr(C)]
struct ChopOutput {
    num_channels: i32,
    num_samples: i32,
    sample_rate: f32,
    start_index: u32,
    names: *const *const c_char,
    channels: *const *mut f32,
    reserved: [i32; 20],
}

#[repr(C)]
#[derive(Default)]
struct DatGeneralInfo {
    cook_every_frame: bool,
    cook_every_frame_if_asked: bool,
    reserved: [i32; 20],
}

#[repr(C)]
struct TimeInfo {
    abs_frame: i64,
    frame: f64,
    rate: f64,
    root_frame: f64,
    root_rate: f64,
    delta_frames: f64,
    delta_ms: f64,
    reserved: [i32; 40],
}

const _: () = assert!(std::mem::size_of::<ChopGeneralInfo>() == 88);
const _: () = assert!(std::mem::size_of::<ChopOutputInfo>() == 104);
const _: () = assert!(std::mem::size_of::<ChopOutput>() == 112);
const _: () = assert!(std::mem::size_of::<DatGeneralInfo>() == 84);
const _: () = assert!(std::mem::size_of::<TimeInfo>() == 216);

#[repr(C)]
struct NumericParameter {
    name: *const c_char,
    label: *const c_char,
    page: *const c_char,
    default_values: [f64; 4],
    rest: [u8; 272 - 56],
}

#[repr(C)]
struct StringParameter {
    name: *const c_char,
    label: *const c_char,
    page: *const c_char,
    default_value: *const c_char,
}

// ---------------------------------------------------------------------------------------------
// OP_ParameterManager: records what the plugin appends.

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
#[allow(dead_code)] // recorded as TouchDesigner receives it; the demo prints only some of it
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
struct ParamManager {
    vptr: *const [Slot; 30],
    appended: RefCell<Vec<AppendedPar>>,
}

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

static PARAM_MANAGER_VTABLE: [Slot; 30] = {
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

// ---------------------------------------------------------------------------------------------
// OP_Inputs: parameter values and time.

/// A parameter value as the host holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum ParValue {
    Number(f64),
    Text(String),
}

#[repr(C)]
struct Inputs {
    vptr: *const [Slot; 33],
    values: RefCell<HashMap<String, (ParValue, CString)>>,
    time: TimeInfo,
}

/// # Safety
/// `this` is our inputs; `name` null or NUL-terminated.
unsafe fn lookup(this: *const Inputs, name: *const c_char) -> Option<(f64, *const c_char)> {
    // SAFETY: per this function's contract.
    let (inputs, name) = unsafe { (&*this, lossy(name)) };
    let values = inputs.values.borrow();
    let (value, text) = values.get(&name)?;
    let number = match value {
        ParValue::Number(n) => *n,
        ParValue::Text(_) => 0.0,
    };
    Some((number, text.as_ptr()))
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

static INPUTS_VTABLE: [Slot; 33] = {
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

// ---------------------------------------------------------------------------------------------
// DAT_Output: a table of strings.

#[repr(C)]
struct DatOutput {
    vptr: *const [Slot; 13],
    reserved: [i32; 20],
    table: RefCell<Vec<Vec<String>>>,
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

static DAT_OUTPUT_VTABLE: [Slot; 13] = [
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

// ---------------------------------------------------------------------------------------------
// Calling the plugin's virtual functions.

/// Slot `slot` of the vtable of the C++ object at `obj`.
///
/// # Safety
/// `obj` must be a live C++ object with at least `slot + 1` virtual slots.
unsafe fn slot(obj: *mut c_void, slot: usize) -> usize {
    // SAFETY: per this function's contract, the vptr at offset 0 points at the slots.
    unsafe { *(*(obj as *const *const usize)).add(slot) }
}

/// Itanium slots of `CHOP_CPlusPlusBase` (td-abi.md §3).
mod chop_slot {
    pub(super) const GENERAL_INFO: usize = 2;
    pub(super) const OUTPUT_INFO: usize = 3;
    pub(super) const CHANNEL_NAME: usize = 4;
    pub(super) const EXECUTE: usize = 5;
    pub(super) const WARNING: usize = 10;
    pub(super) const ERROR: usize = 11;
    pub(super) const SETUP_PARAMETERS: usize = 13;
}

/// Itanium slots of `DAT_CPlusPlusBase`.
mod dat_slot {
    pub(super) const GENERAL_INFO: usize = 2;
    pub(super) const EXECUTE: usize = 3;
    pub(super) const WARNING: usize = 8;
    pub(super) const ERROR: usize = 9;
    pub(super) const SETUP_PARAMETERS: usize = 11;
}

type MessageFn = unsafe extern "C" fn(*mut c_void, *mut OpString, *mut c_void);
type SetupFn = unsafe extern "C" fn(*mut c_void, *mut ParamManager, *mut c_void);

/// What registration told the host about a plugin family.
#[derive(Debug, Clone)]
#[allow(dead_code)] // recorded as TouchDesigner receives it; the demo prints only some of it
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

/// What one frame produced.
pub struct Frame<'a> {
    pub names: &'a [String],
    pub values: &'a [f32],
    pub table: &'a [Vec<String>],
    pub warning: Option<String>,
    pub error: Option<String>,
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
        host.chop_params = host.setup(chop, chop_slot::SETUP_PARAMETERS);
        host.dat_params = host.setup(dat, dat_slot::SETUP_PARAMETERS);
        for p in host.chop_params.iter().chain(&host.dat_params) {
            let value = match p.kind {
                ParKind::String | ParKind::Folder | ParKind::Menu => ParValue::Text(p.default_string.clone()),
                _ => ParValue::Number(p.default_number),
            };
            host.inputs.values.borrow_mut().insert(p.name.clone(), (value.clone(), text_of(&value)));
        }
        Ok(host)
    }

    fn setup(&self, obj: *mut c_void, slot_index: usize) -> Vec<AppendedPar> {
        let mut manager = ParamManager { vptr: &PARAM_MANAGER_VTABLE, appended: RefCell::new(Vec::new()) };
        // SAFETY: `obj` is a live instance; the slot has the setupParameters signature.
        unsafe {
            let f: SetupFn = std::mem::transmute(slot(obj, slot_index));
            f(obj, &mut manager, ptr::null_mut());
        }
        manager.appended.into_inner()
    }

    /// Sets a parameter as an artist would in the parameter dialog.
    pub fn set_par(&mut self, name: &str, value: ParValue) {
        let text = text_of(&value);
        self.inputs.values.borrow_mut().insert(name.to_owned(), (value, text));
    }

    /// Cooks both operators once, in TouchDesigner's order, `dt` seconds after the last frame.
    pub fn cook(&mut self, dt: f64) -> Frame<'_> {
        self.frame += 1;
        let t = &mut self.inputs.time;
        t.abs_frame = self.frame;
        t.frame = self.frame as f64;
        t.root_frame = self.frame as f64;
        t.delta_frames = dt * t.rate;
        t.delta_ms = dt * 1000.0;
        let inputs: *const Inputs = &*self.inputs;
        let chop = self.chop;
        // SAFETY: `chop` is a live CHOP instance; every slot is called with the signature of
        // td-abi.md §3 and objects that live for the call.
        unsafe {
            let mut general = ChopGeneralInfo::default();
            let f: unsafe extern "C" fn(*mut c_void, *mut ChopGeneralInfo, *const Inputs, *mut c_void) =
                std::mem::transmute(slot(chop, chop_slot::GENERAL_INFO));
            f(chop, &mut general, inputs, ptr::null_mut());
            let mut info = ChopOutputInfo {
                num_channels: 0,
                num_samples: 1,
                start_index: 0,
                sample_rate: 60.0,
                reserved1: ptr::null_mut(),
                reserved: [0; 20],
            };
            let f: unsafe extern "C" fn(
                *mut c_void,
                *mut ChopOutputInfo,
                *const Inputs,
                *mut c_void,
            ) -> bool = std::mem::transmute(slot(chop, chop_slot::OUTPUT_INFO));
            f(chop, &mut info, inputs, ptr::null_mut());
            let n = info.num_channels.max(0) as usize;
            let samples = info.num_samples.max(1) as usize;
            if self.names.len() != n {
                let name = OpString::new();
                let f: unsafe extern "C" fn(*mut c_void, i32, *mut OpString, *const Inputs, *mut c_void) =
                    std::mem::transmute(slot(chop, chop_slot::CHANNEL_NAME));
                self.names = (0..n)
                    .map(|i| {
                        f(
                            chop,
                            i as i32,
                            &*name as *const OpString as *mut OpString,
                            inputs,
                            ptr::null_mut(),
                        );
                        name.take()
                    })
                    .collect();
            }
            let names: Vec<CString> =
                self.names.iter().map(|s| CString::new(s.as_str()).unwrap_or_default()).collect();
            let name_ptrs: Vec<*const c_char> = names.iter().map(|s| s.as_ptr()).collect();
            let mut data = vec![vec![0.0f32; samples]; n];
            let chan_ptrs: Vec<*mut f32> = data.iter_mut().map(|c| c.as_mut_ptr()).collect();
            let mut output = ChopOutput {
                num_channels: n as i32,
                num_samples: samples as i32,
                sample_rate: info.sample_rate,
                start_index: 0,
                names: name_ptrs.as_ptr(),
                channels: chan_ptrs.as_ptr(),
                reserved: [0; 20],
            };
            let f: unsafe extern "C" fn(*mut c_void, *mut ChopOutput, *const Inputs, *mut c_void) =
                std::mem::transmute(slot(chop, chop_slot::EXECUTE));
            f(chop, &mut output, inputs, ptr::null_mut());
            self.values = data.iter().map(|c| c[0]).collect();
        }
        let dat = self.dat;
        // SAFETY: as above, for the DAT instance.
        unsafe {
            let mut general = DatGeneralInfo::default();
            let f: unsafe extern "C" fn(*mut c_void, *mut DatGeneralInfo, *const Inputs, *mut c_void) =
                std::mem::transmute(slot(dat, dat_slot::GENERAL_INFO));
            f(dat, &mut general, inputs, ptr::null_mut());
            let mut output =
                DatOutput { vptr: &DAT_OUTPUT_VTABLE, reserved: [0; 20], table: RefCell::new(Vec::new()) };
            let f: unsafe extern "C" fn(*mut c_void, *mut DatOutput, *const Inputs, *mut c_void) =
                std::mem::transmute(slot(dat, dat_slot::EXECUTE));
            f(dat, &mut output, inputs, ptr::null_mut());
            self.table = output.table.into_inner();
        }
        let warning = self.message(chop, chop_slot::WARNING).or_else(|| self.message(dat, dat_slot::WARNING));
        let error = self.message(chop, chop_slot::ERROR).or_else(|| self.message(dat, dat_slot::ERROR));
        Frame { names: &self.names, values: &self.values, table: &self.table, warning, error }
    }

    fn message(&self, obj: *mut c_void, slot_index: usize) -> Option<String> {
        let s = OpString::new();
        // SAFETY: live instance; the slot has the get*String signature.
        unsafe {
            let f: MessageFn = std::mem::transmute(slot(obj, slot_index));
            f(obj, &*s as *const OpString as *mut OpString, ptr::null_mut());
        }
        Some(s.take()).filter(|m| !m.is_empty())
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
