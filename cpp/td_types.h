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

#if defined(TDS_USE_TD_SDK)
#include "CHOP_CPlusPlusBase.h"
#include "DAT_CPlusPlusBase.h"
#else
#include "td_abi.h"
#endif

#endif  // TDS_TD_TYPES_H
