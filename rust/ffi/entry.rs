//! TouchDesigner's six entry points, forwarded to the C++ shim in `cpp/`.
//!
//! They live in Rust because a Rust `cdylib` exports only the crate's own `#[no_mangle]`
//! functions: symbols of the static C++ library it links stay hidden. Each one runs inside the
//! same panic guard as the rest of the C ABI, and the shim catches every C++ exception itself,
//! so nothing unwinds into TouchDesigner.
//!
//! TouchDesigner calls them on its main thread: `Fill*PluginInfo` once when it scans plugins at
//! start-up, `Create*Instance` once per node, `Destroy*Instance` when the node is deleted, the
//! project closes or the binary is reloaded. Pointer arguments are TouchDesigner types the C++
//! side declares (cpp/td_abi.h), so here they are opaque.

#![allow(non_snake_case)]

use std::ffi::c_void;
use std::ptr::null_mut;

use super::guard;

// Defined in cpp/entry.cpp; private to the library. The doc line below is an annotation that
// keeps them out of include/td_spotify.h, not documentation.
#[allow(unused_doc_comments)]
/// cbindgen:ignore
extern "C" {
    fn tds_shim_fill_chop_plugin_info(info: *mut c_void);
    fn tds_shim_create_chop(node_info: *const c_void) -> *mut c_void;
    fn tds_shim_destroy_chop(op: *mut c_void);
    fn tds_shim_fill_dat_plugin_info(info: *mut c_void);
    fn tds_shim_create_dat(node_info: *const c_void) -> *mut c_void;
    fn tds_shim_destroy_dat(op: *mut c_void);
}

/// Describes the CHOP to TouchDesigner: API version, opType `Tdspotify`, label, inputs.
///
/// # Safety
/// `info` must be null or point to a `CHOP_PluginInfo` prepared by TouchDesigner.
#[no_mangle]
pub unsafe extern "C" fn FillCHOPPluginInfo(info: *mut c_void) {
    guard(null_mut(), (), || {
        // SAFETY: the shim checks for null and otherwise relies on this function's contract.
        unsafe { tds_shim_fill_chop_plugin_info(info) }
    });
}

/// Creates the CHOP of one node; null if it could not be allocated.
///
/// # Safety
/// `node_info` must be null or point to TouchDesigner's `OP_NodeInfo` for the new node.
#[no_mangle]
pub unsafe extern "C" fn CreateCHOPInstance(node_info: *const c_void) -> *mut c_void {
    guard(null_mut(), null_mut(), || {
        // SAFETY: the shim never dereferences `node_info`; it catches allocation failure.
        unsafe { tds_shim_create_chop(node_info) }
    })
}

/// Deletes a CHOP made by [`CreateCHOPInstance`]; the last operator stops the engine (never
/// waiting on the network).
///
/// # Safety
/// `op` must be null or a pointer [`CreateCHOPInstance`] returned, not yet destroyed.
#[no_mangle]
pub unsafe extern "C" fn DestroyCHOPInstance(op: *mut c_void) {
    guard(null_mut(), (), || {
        // SAFETY: forwarded contract; deleting null is a no-op in C++.
        unsafe { tds_shim_destroy_chop(op) }
    });
}

/// Describes the DAT to TouchDesigner: API version, opType `Tdspotifydat`, label.
///
/// # Safety
/// `info` must be null or point to a `DAT_PluginInfo` prepared by TouchDesigner.
#[no_mangle]
pub unsafe extern "C" fn FillDATPluginInfo(info: *mut c_void) {
    guard(null_mut(), (), || {
        // SAFETY: the shim checks for null and otherwise relies on this function's contract.
        unsafe { tds_shim_fill_dat_plugin_info(info) }
    });
}

/// Creates the DAT of one node; null if it could not be allocated.
///
/// # Safety
/// `node_info` must be null or point to TouchDesigner's `OP_NodeInfo` for the new node.
#[no_mangle]
pub unsafe extern "C" fn CreateDATInstance(node_info: *const c_void) -> *mut c_void {
    guard(null_mut(), null_mut(), || {
        // SAFETY: the shim never dereferences `node_info`; it catches allocation failure.
        unsafe { tds_shim_create_dat(node_info) }
    })
}

/// Deletes a DAT made by [`CreateDATInstance`]; the last operator stops the engine (never
/// waiting on the network).
///
/// # Safety
/// `op` must be null or a pointer [`CreateDATInstance`] returned, not yet destroyed.
#[no_mangle]
pub unsafe extern "C" fn DestroyDATInstance(op: *mut c_void) {
    guard(null_mut(), (), || {
        // SAFETY: forwarded contract; deleting null is a no-op in C++.
        unsafe { tds_shim_destroy_dat(op) }
    });
}
