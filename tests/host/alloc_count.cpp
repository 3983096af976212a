// alloc_count.cpp: interposes the C allocator in the host executable.
//
// An executable's definitions come first in the dynamic linker's search, so the plugin's Rust
// allocator and C++ operator new (both built on malloc) land here. Each call forwards to glibc's
// own entry points; counting is a thread-local flag and two counters, so it never allocates or
// locks itself.
#include "alloc_count.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t n, size_t size);
void* __libc_realloc(void* p, size_t size);
void __libc_free(void* p);
void* __libc_memalign(size_t alignment, size_t size);
}

namespace {
__thread bool counting = false;
__thread uint64_t allocs = 0;
__thread uint64_t frees = 0;

inline void count_alloc() {
    if (counting) {
        ++allocs;
    }
}
}  // namespace

namespace host {

void alloc_count_begin() {
    allocs = 0;
    frees = 0;
    counting = true;
}

AllocCounts alloc_count_end() {
    counting = false;
    return AllocCounts{allocs, frees};
}

}  // namespace host

extern "C" {

void* malloc(size_t size) noexcept {
    count_alloc();
    return __libc_malloc(size);
}

void* calloc(size_t n, size_t size) noexcept {
    count_alloc();
    return __libc_calloc(n, size);
}

void* realloc(void* p, size_t size) noexcept {
    count_alloc();
    return __libc_realloc(p, size);
}

void free(void* p) noexcept {
    if (counting && p) {
        ++frees;
    }
    __libc_free(p);
}

int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
    count_alloc();
    if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) {
        return EINVAL;
    }
    void* p = __libc_memalign(alignment, size);
    if (!p) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}

void* aligned_alloc(size_t alignment, size_t size) noexcept {
    count_alloc();
    return __libc_memalign(alignment, size);
}

void* memalign(size_t alignment, size_t size) noexcept {
    count_alloc();
    return __libc_memalign(alignment, size);
}

}  // extern "C"
