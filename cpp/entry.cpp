// entry.cpp: the C functions rust/ffi/entry.rs forwards TouchDesigner's entry points to
// (MIT OR Apache-2.0).
//
// The six TouchDesigner symbols themselves are defined in Rust: a Rust cdylib exports only the
// Rust crate's own #[no_mangle] functions, never symbols of a static C++ library it links. No
// exception may cross into Rust or TouchDesigner, so each body catches everything.
#include "shim.h"

using namespace TD;

extern "C" {

void tds_shim_fill_chop_plugin_info(void* info) noexcept {
    try {
        if (info) {
            tds::fill_chop_plugin_info(static_cast<CHOP_PluginInfo*>(info));
        }
    } catch (...) {
    }
}

void* tds_shim_create_chop(const void* node_info) noexcept {
    try {
        return tds::new_chop(static_cast<const OP_NodeInfo*>(node_info));
    } catch (...) {
        return nullptr;
    }
}

void tds_shim_destroy_chop(void* op) noexcept {
    try {
        tds::delete_chop(static_cast<CHOP_CPlusPlusBase*>(op));
    } catch (...) {
    }
}

void tds_shim_fill_dat_plugin_info(void* info) noexcept {
    try {
        if (info) {
            tds::fill_dat_plugin_info(static_cast<DAT_PluginInfo*>(info));
        }
    } catch (...) {
    }
}

void* tds_shim_create_dat(const void* node_info) noexcept {
    try {
        return tds::new_dat(static_cast<const OP_NodeInfo*>(node_info));
    } catch (...) {
        return nullptr;
    }
}

void tds_shim_destroy_dat(void* op) noexcept {
    try {
        tds::delete_dat(static_cast<DAT_CPlusPlusBase*>(op));
    } catch (...) {
    }
}

}  // extern "C"
