// cycles.cpp: `cycles`, create/destroy and load/unload cycles (tests/attack_host.rs).
#include "world.h"

namespace host {

// ---------------------------------------------------------------------------------------------
// Attack: create/destroy and load/unload cycles (tests/attack_host.rs runs it natively, under
// AddressSanitizer and under valgrind)

long rss_kib() {
    FILE* f = fopen("/proc/self/statm", "r");
    if (!f) {
        return -1;
    }
    long pages = 0, resident = 0;
    const int got = fscanf(f, "%ld %ld", &pages, &resident);
    fclose(f);
    return got == 2 ? resident * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

// `loads` load/unload cycles, back to the counts from before the first load.
void load_unload_cycles(const char* lib, int loads, int threads0, int fds0) {
    std::string err;
    int unloaded = 0;
    long rss_load_mid = -1;
    const int64_t t1 = now_ns();
    for (int i = 0; i < loads; ++i) {
        Plugin q;
        if (!q.open(lib, err)) {
            fail("load %d: %s", i, err.c_str());
            break;
        }
        quick_cycle(q, 42 + i);
        // As in a show, "Unload Plugin" comes after the operators' engines have finished
        // stopping; one still ending keeps the library mapped until a later dlclose.
        settle(threads0, fds0);
        q.close();
        if (!still_mapped(lib)) {
            ++unloaded;
        }
        if (i == loads / 2) {
            rss_load_mid = rss_kib();
        }
    }
    settle(threads0, fds0);
    const long rss3 = rss_kib();
    printf("cycles: %d load/unload in %.1f s: threads %d -> %d, fds %d -> %d, RSS %ld -> %ld KiB; "
           "unmapped by %d of %d dlclose calls\n",
           loads, (now_ns() - t1) * 1e-9, threads0, thread_count(), fds0, fd_count(), rss_load_mid, rss3, unloaded,
           loads);
    CHECK(thread_count() == threads0, "threads grew from %d to %d over load/unload", threads0, thread_count());
    CHECK(fd_count() == fds0, "open fds grew from %d to %d over load/unload", fds0, fd_count());
    // Only true once the library leaves no thread-local destructor on this thread (issue 9,
    // "Unload Plugin really unloads"): asked for with TDS_EXPECT_UNMAP=1.
    if (getenv("TDS_EXPECT_UNMAP")) {
        CHECK(unloaded == loads, "the library was unmapped by only %d of %d dlclose calls", unloaded, loads);
    }
}

int run_cycles(const char* lib, int creates, int loads) {
    std::string err;
    const int threads0 = thread_count(), fds0 = fd_count();
    Plugin p;
    if (!p.open(lib, err)) {
        fprintf(stderr, "%s\n", err.c_str());
        return 1;
    }
    // Warm-up: the first cycles allocate what lives as long as the library (std's and tokio's
    // lazily made statics); growth is measured after them.
    for (int i = 0; i < 10; ++i) {
        quick_cycle(p, 900 + i);
    }
    settle(threads0, fds0);
    const int threads1 = thread_count(), fds1 = fd_count();
    const long rss1 = rss_kib();
    const int64_t t0 = now_ns();
    long rss_mid = rss1;
    for (int i = 0; i < creates; ++i) {
        quick_cycle(p, 500 + i % 7);
        if (i == creates / 2) {
            rss_mid = rss_kib();
        }
    }
    settle(threads1, fds1);
    const long rss2 = rss_kib();
    printf("cycles: %d create/destroy in %.1f s: threads %d -> %d, fds %d -> %d, RSS %ld -> %ld -> %ld KiB\n",
           creates, (now_ns() - t0) * 1e-9, threads1, thread_count(), fds1, fd_count(), rss1, rss_mid, rss2);
    CHECK(thread_count() == threads1, "threads grew from %d to %d over create/destroy", threads1, thread_count());
    CHECK(fd_count() == fds1, "open fds grew from %d to %d over create/destroy", fds1, fd_count());
    // Under a sanitizer the quarantine grows RSS by design: the limit is set for native runs only.
    if (const char* limit = getenv("TDS_MAX_RSS_GROWTH_KIB")) {
        CHECK(rss2 - rss1 <= atol(limit), "RSS grew by %ld KiB over %d create/destroy cycles (limit %s KiB)",
              rss2 - rss1, creates, limit);
    }
    p.close();

    load_unload_cycles(lib, loads, threads0, fds0);
    return verdict();
}

}  // namespace host
