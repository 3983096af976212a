//! TouchDesigner's plain data structs, laid out as in td-abi.md §4, and the `OP_String` it
//! hands out for text.

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr};

use super::Slot;

#[repr(C)]
pub(super) struct OpString {
    pub(super) vptr: *const [Slot; 3],
    pub(super) reserved: [i32; 20],
    pub(super) value: RefCell<String>,
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
    pub(super) fn new() -> Box<OpString> {
        Box::new(OpString { vptr: &STRING_VTABLE, reserved: [0; 20], value: RefCell::new(String::new()) })
    }

    pub(super) fn take(&self) -> String {
        std::mem::take(&mut *self.value.borrow_mut())
    }
}

#[repr(C)]
pub(super) struct CustomOpInfo {
    pub(super) op_type: *mut OpString,
    pub(super) op_label: *mut OpString,
    pub(super) op_icon: *mut OpString,
    pub(super) min_inputs: i32,
    pub(super) max_inputs: i32,
    pub(super) author_name: *mut OpString,
    pub(super) author_email: *mut OpString,
    pub(super) major_version: i32,
    pub(super) minor_version: i32,
    pub(super) python_version: *mut OpString,
    pub(super) cook_on_start: bool,
    pub(super) rest: [u8; 456 - 65],
}

#[repr(C)]
pub(super) struct PluginInfo {
    pub(super) api_version: i32,
    pub(super) reserved: [i32; 100],
    pub(super) custom_op_info: CustomOpInfo,
    pub(super) reserved2: [i32; 20],
}

const _: () = assert!(std::mem::size_of::<CustomOpInfo>() == 456);
const _: () = assert!(std::mem::offset_of!(PluginInfo, custom_op_info) == 408);
const _: () = assert!(std::mem::size_of::<PluginInfo>() == 944);

#[repr(C)]
pub(super) struct NodeInfo {
    pub(super) op_path: *const c_char,
    pub(super) op_id: u32,
    pub(super) plugin_path: *const c_char,
    pub(super) context: *mut c_void,
    pub(super) cook_count: u32,
    pub(super) reserved: [i32; 14],
}

const _: () = assert!(std::mem::size_of::<NodeInfo>() == 96);

#[repr(C)]
#[derive(Default)]
pub(super) struct ChopGeneralInfo {
    pub(super) cook_every_frame: bool,
    pub(super) cook_every_frame_if_asked: bool,
    pub(super) timeslice: bool,
    pub(super) input_match_index: i32,
    pub(super) reserved: [i32; 20],
}

#[repr(C)]
pub(super) struct ChopOutputInfo {
    pub(super) num_channels: i32,
    pub(super) num_samples: i32,
    pub(super) start_index: u32,
    pub(super) sample_rate: f32,
    pub(super) reserved1: *mut c_void,
    pub(super) reserved: [i32; 20],
}

#[repr(C)]
pub(super) struct ChopOutput {
    pub(super) num_channels: i32,
    pub(super) num_samples: i32,
    pub(super) sample_rate: f32,
    pub(super) start_index: u32,
    pub(super) names: *const *const c_char,
    pub(super) channels: *const *mut f32,
    pub(super) reserved: [i32; 20],
}

#[repr(C)]
#[derive(Default)]
pub(super) struct DatGeneralInfo {
    pub(super) cook_every_frame: bool,
    pub(super) cook_every_frame_if_asked: bool,
    pub(super) reserved: [i32; 20],
}

#[repr(C)]
pub(super) struct TimeInfo {
    pub(super) abs_frame: i64,
    pub(super) frame: f64,
    pub(super) rate: f64,
    pub(super) root_frame: f64,
    pub(super) root_rate: f64,
    pub(super) delta_frames: f64,
    pub(super) delta_ms: f64,
    pub(super) reserved: [i32; 40],
}

const _: () = assert!(std::mem::size_of::<ChopGeneralInfo>() == 88);
const _: () = assert!(std::mem::size_of::<ChopOutputInfo>() == 104);
const _: () = assert!(std::mem::size_of::<ChopOutput>() == 112);
const _: () = assert!(std::mem::size_of::<DatGeneralInfo>() == 84);
const _: () = assert!(std::mem::size_of::<TimeInfo>() == 216);

#[repr(C)]
pub(super) struct NumericParameter {
    pub(super) name: *const c_char,
    pub(super) label: *const c_char,
    pub(super) page: *const c_char,
    pub(super) default_values: [f64; 4],
    pub(super) rest: [u8; 272 - 56],
}

#[repr(C)]
pub(super) struct StringParameter {
    pub(super) name: *const c_char,
    pub(super) label: *const c_char,
    pub(super) page: *const c_char,
    pub(super) default_value: *const c_char,
}
