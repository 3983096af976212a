//! Calling the plugin's virtual functions: one frame of the CHOP and the DAT, in
//! TouchDesigner's order.

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CString};
use std::ptr;

use super::abi::{ChopGeneralInfo, ChopOutput, ChopOutputInfo, DatGeneralInfo, OpString};
use super::dat::{DatOutput, DAT_OUTPUT_VTABLE};
use super::inputs::Inputs;
use super::params::{AppendedPar, ParamManager, PARAM_MANAGER_VTABLE};
use super::Host;

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

/// What one frame produced.
pub struct Frame<'a> {
    pub names: &'a [String],
    pub values: &'a [f32],
    pub table: &'a [Vec<String>],
    pub warning: Option<String>,
    pub error: Option<String>,
}

impl Host {
    /// Asks both instances to append their parameters, as TouchDesigner does after Create.
    pub(super) fn setup_parameters(&mut self) {
        self.chop_params = self.setup(self.chop, chop_slot::SETUP_PARAMETERS);
        self.dat_params = self.setup(self.dat, dat_slot::SETUP_PARAMETERS);
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

    /// Cooks both operators once, in TouchDesigner's order, `dt` seconds after the last frame.
    pub fn cook(&mut self, dt: f64) -> Frame<'_> {
        self.frame += 1;
        let t = &mut self.inputs.time;
        t.abs_frame = self.frame;
        t.frame = self.frame as f64;
        t.root_frame = self.frame as f64;
        t.delta_frames = dt * t.rate;
        t.delta_ms = dt * 1000.0;
        self.cook_chop();
        self.cook_dat();
        let (chop, dat) = (self.chop, self.dat);
        let warning = self.message(chop, chop_slot::WARNING).or_else(|| self.message(dat, dat_slot::WARNING));
        let error = self.message(chop, chop_slot::ERROR).or_else(|| self.message(dat, dat_slot::ERROR));
        Frame { names: &self.names, values: &self.values, table: &self.table, warning, error }
    }

    /// The CHOP's cook: general info, output info, channel names when their count changed, then
    /// execute into one sample a channel.
    fn cook_chop(&mut self) {
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
    }

    /// The DAT's cook: general info, then execute into a fresh table.
    fn cook_dat(&mut self) {
        let inputs: *const Inputs = &*self.inputs;
        let dat = self.dat;
        // SAFETY: `dat` is a live DAT instance; every slot is called with the signature of
        // td-abi.md §3 and objects that live for the call.
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
