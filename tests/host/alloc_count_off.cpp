// alloc_count_off.cpp: the allocation counter's interface without replacing malloc, for hosts
// built under AddressSanitizer or run under valgrind, whose own allocators must see every call
// (tests/attack_host.rs). It counts nothing.
#include "alloc_count.h"

namespace host {

void alloc_count_begin() {}

AllocCounts alloc_count_end() { return AllocCounts{0, 0}; }

}  // namespace host
