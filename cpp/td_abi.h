// td_abi.h: td-spotify's own declarations of TouchDesigner's CPlusPlus CHOP (API 9) and DAT
// (API 3) plugin interfaces (MIT OR Apache-2.0).
//
// Written from the clean-room facts sheet (layouts, sizes, vtable order) only; nothing here is
// copied from Derivative's headers. TouchDesigner never sees these names: it finds six extern "C"
// entry points and then talks to objects purely through their memory layout and vtable order, so
// every declaration in td_abi/ is there to reproduce a layout. The static_asserts (td_abi/layout.h)
// pin each size and offset the sheet gives; tests/host checks the vtable slot of every method on
// Itanium.
//
// Set TD_SDK_DIR when building to compile against Derivative's official headers instead
// (see cpp/td_types.h).
#ifndef TDS_TD_ABI_H
#define TDS_TD_ABI_H

// The declarations are split by concern; the order below is the order they need each other.
#include "td_abi/types.h"
#include "td_abi/classes.h"
#include "td_abi/layout.h"

#endif  // TDS_TD_ABI_H
