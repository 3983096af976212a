// td_host/basics.h: the host's clock, TD's name rule and its strings. Part of td_host.h.
#ifndef TDS_TD_HOST_BASICS_H
#define TDS_TD_HOST_BASICS_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include <string>
#include <vector>

#include "td_abi.h"
#include "td_spotify.h"

namespace host {

using namespace TD;

inline int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);  // the clock Rust's Instant reads on Linux
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// TD's first-letter-uppercase, then lowercase/digits rule (opType and parameter names).
inline bool td_name_ok(const char* name) {
    if (!name || !(name[0] >= 'A' && name[0] <= 'Z')) {
        return false;
    }
    for (const char* p = name + 1; *p; ++p) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
            return false;
        }
    }
    return true;
}

// ---------------------------------------------------------------------------------------------

class HostString final : public OP_String {
public:
    HostString() { clear(); }
    ~HostString() override = default;

    void setString(const char* s) override {
        ++sets;
        if (!s) {
            ++null_sets;
            s = "";
        }
        strncpy(buf, s, sizeof buf - 1);
        buf[sizeof buf - 1] = '\0';
    }
    void clear() {
        buf[0] = '\0';
        sets = 0;
        null_sets = 0;
    }
    const char* c_str() const { return buf; }
    bool empty() const { return buf[0] == '\0'; }

    char buf[2048];
    int sets;
    int null_sets;
};

}  // namespace host

#endif  // TDS_TD_HOST_BASICS_H
