// report.h: how the checking host reports: failures, notes, and the process counts it compares.
#ifndef TDS_HOST_REPORT_H
#define TDS_HOST_REPORT_H

#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "td_host.h"

namespace host {

inline std::vector<std::string> g_failures;

inline void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
inline void fail(const char* fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    g_failures.push_back(buf);
    // The first failures tell the story; a broken cook repeats the same one every frame.
    if (g_failures.size() <= 40) {
        fprintf(stderr, "FAIL: %s\n", buf);
    } else if (g_failures.size() == 41) {
        fprintf(stderr, "FAIL: (further failures are only counted)\n");
    }
}

#define CHECK(cond, ...)          \
    do {                          \
        if (!(cond)) {            \
            fail(__VA_ARGS__);    \
        }                         \
    } while (0)

inline void note(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
inline void note(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

// Whether `lib` is still mapped (after the host's last dlclose of it): asks without loading it,
// and lets go of the handle that asking took.
inline bool still_mapped(const char* lib) {
    void* handle = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
    if (handle) {
        dlclose(handle);
    }
    return handle != nullptr;
}

// How a scenario ends: its exit status, with the failures counted or "all checks passed".
inline int verdict() {
    if (!g_failures.empty()) {
        fprintf(stderr, "%zu check(s) failed\n", g_failures.size());
        return 1;
    }
    note("all checks passed");
    return 0;
}

inline int count_dir(const char* path) {
    DIR* d = opendir(path);
    if (!d) {
        return -1;
    }
    int n = 0;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] != '.') {
            ++n;
        }
    }
    closedir(d);
    return n;
}

inline int thread_count() { return count_dir("/proc/self/task"); }
inline int fd_count() { return count_dir("/proc/self/fd"); }

// An engine whose thread has not ended within its stop bound is left to end on its own (issue 9:
// Destroy never waits). Under valgrind that is common, so the counts are read once those threads
// are gone, or after 10 s.
inline void settle(int threads, int fds) {
    for (int i = 0; i < 1000 && (thread_count() > threads || fd_count() > fds); ++i) {
        usleep(10000);
    }
}

inline void sleep_until_ns(int64_t deadline) {
    timespec ts;
    ts.tv_sec = deadline / 1000000000;
    ts.tv_nsec = deadline % 1000000000;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) != 0) {
    }
}

inline void sleep_ms(int ms) { sleep_until_ns(now_ns() + static_cast<int64_t>(ms) * 1000000); }

}  // namespace host

#endif  // TDS_HOST_REPORT_H
