// td_types.h: picks the declarations of TouchDesigner's plugin interface the shim compiles
// against (MIT OR Apache-2.0).
//
// By default, our own clean-room declarations (td_abi.h). When build.rs is given TD_SDK_DIR it
// defines TDS_USE_TD_SDK and adds that directory to the include path, so the same shim code is
// checked against Derivative's official headers (never committed here: they are under
// Derivative's licence).
#ifndef TDS_TD_TYPES_H
#define TDS_TD_TYPES_H

// First: the official headers use int32_t and friends without including <stdint.h> themselves.
#include <stdint.h>

#include <stddef.h>
#include <string.h>

#if defined(TDS_USE_TD_SDK)
#include "CHOP_CPlusPlusBase.h"
#include "DAT_CPlusPlusBase.h"
#else
#include "td_abi.h"
#endif

namespace tds {

// Fields that only some series name: the 2025 headers make apiVersion private and add the
// version range and the parameters' size and help, where the 9/3 headers have reserved space.
// The shim reaches them by offset (identical in every series), so it builds against any header.
namespace layout {
constexpr size_t kApiVersion = 0;
constexpr size_t kMinApiVersion = 936;
constexpr size_t kMaxApiVersion = 940;
constexpr size_t kNumericSize = 192;
constexpr size_t kNumericHelp = 200;
constexpr size_t kStringSize = 32;
constexpr size_t kStringHelp = 40;
}  // namespace layout

template <typename T, typename S>
inline void put_at(S& s, size_t offset, T value) {
    memcpy(reinterpret_cast<char*>(&s) + offset, &value, sizeof value);
}

template <typename T, typename S>
inline T get_at(const S& s, size_t offset) {
    T value;
    memcpy(&value, reinterpret_cast<const char*>(&s) + offset, sizeof value);
    return value;
}

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
static_assert(sizeof(TD::CHOP_PluginInfo) == 944 && sizeof(TD::DAT_PluginInfo) == 944, "PluginInfo");
static_assert(sizeof(TD::OP_NumericParameter) == 272, "OP_NumericParameter");
static_assert(sizeof(TD::OP_StringParameter) == 112, "OP_StringParameter");
#endif

}  // namespace tds

#endif  // TDS_TD_TYPES_H
