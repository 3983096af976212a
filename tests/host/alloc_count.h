// alloc_count.h: counts heap calls made on the calling thread between begin and end.
#ifndef TDS_ALLOC_COUNT_H
#define TDS_ALLOC_COUNT_H

#include <stdint.h>

namespace host {

struct AllocCounts {
    uint64_t allocs;  // malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign
    uint64_t frees;
};

// Starts counting on this thread (other threads, like the engine's, are never counted).
void alloc_count_begin();
// Stops counting and returns what happened since alloc_count_begin.
AllocCounts alloc_count_end();

}  // namespace host

#endif  // TDS_ALLOC_COUNT_H
