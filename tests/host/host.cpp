// host.cpp: a stand-in for TouchDesigner that loads the built plugin and cooks it frame by frame.
//
//   td-spotify-host check <plugin.so> <expectations.tsv>   the integration test (tests/plugin.rs)
//   td-spotify-host spotify <plugin.so> <exp.tsv> <chops>  operators sharing a Spotify engine (same)
//   td-spotify-host bench <plugin.so> [executes]            the benchmark (tests/bench/cook.rs)
//   td-spotify-host lifecycle <plugin.so> <exp.tsv> <port>  destroy/Active/Client ID while the API hangs
//   td-spotify-host count <plugin.so> <chop|dat> …          instruction counts (count.cpp)
//
// It knows nothing of the plugin's names: channel, row, parameter and info names come from the
// library's own tables (dlsym), and the simulator's schedule comes from the expectations file the
// Rust test writes with td_spotify::engine::simulator::Timeline. What it asserts is what
// TouchDesigner and an artist would see.
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "alloc_count.h"
#include "td_host.h"

using namespace host;

namespace host {
int check_vtable_slots(std::vector<std::string>& failures);
int run_count(int argc, char** argv);  // count.cpp
}

namespace {

// ---------------------------------------------------------------------------------------------
// Reporting

std::vector<std::string> g_failures;

void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void fail(const char* fmt, ...) {
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

void note(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void note(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

int count_dir(const char* path) {
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

int thread_count() { return count_dir("/proc/self/task"); }
int fd_count() { return count_dir("/proc/self/fd"); }

// An engine whose thread has not ended within its stop bound is left to end on its own (issue 9:
// Destroy never waits). Under valgrind that is common, so the counts are read once those threads
// are gone, or after 10 s.
void settle(int threads, int fds) {
    for (int i = 0; i < 1000 && (thread_count() > threads || fd_count() > fds); ++i) {
        usleep(10000);
    }
}

void sleep_until_ns(int64_t deadline) {
    timespec ts;
    ts.tv_sec = deadline / 1000000000;
    ts.tv_nsec = deadline % 1000000000;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) != 0) {
    }
}

void sleep_ms(int ms) { sleep_until_ns(now_ns() + static_cast<int64_t>(ms) * 1000000); }

// ---------------------------------------------------------------------------------------------
// Expectations written by tests/plugin.rs

struct Track {
    long seed = 0;
    int index = 0;
    std::string id, uri, name, artists, album, art;
    long duration_ms = 0;
    double tempo = 0;
};

struct Segment {
    long seed = 0;
    double start = 0, len = 0;
    std::string kind;
    int track = -1;
};

struct Phase {
    std::string name;
    long seed = 0;
    double speed = 1;
    int frames = 0;
};

// The Spotify runs: a saved login for `client_id` in `token_dir`, and the track the scripted
// Web API plays.
struct SpotifyRun {
    bool set = false;
    std::string client_id, token_dir, name, uri, user;
    long duration_ms = 0;
    double seconds = 0;
};

struct Expectations {
    std::vector<Phase> phases;
    std::vector<Track> tracks;
    std::vector<Segment> segments;
    std::vector<std::pair<std::string, std::pair<int, std::string>>> statuses;  // name -> code, text
    // Header of each multi-row DAT mode, and the `field` column of the status mode.
    std::vector<std::pair<std::string, std::vector<std::string>>> columns;
    long pulse_note_ms = -1;
    long transport_seed = -1;
    SpotifyRun spotify;

    bool load(const char* path) {
        std::ifstream in(path);
        if (!in) {
            return false;
        }
        std::string line;
        while (std::getline(in, line)) {
            std::vector<std::string> f;
            std::stringstream ss(line);
            std::string cell;
            while (std::getline(ss, cell, '\t')) {
                f.push_back(cell);
            }
            if (f.empty()) {
                continue;
            }
            if (f[0] == "phase" && f.size() == 5) {
                phases.push_back(Phase{f[1], std::stol(f[2]), std::stod(f[3]), std::stoi(f[4])});
            } else if (f[0] == "track" && f.size() == 11) {
                Track t;
                t.seed = std::stol(f[1]);
                t.index = std::stoi(f[2]);
                t.id = f[3];
                t.uri = f[4];
                t.name = f[5];
                t.artists = f[6];
                t.album = f[7];
                t.art = f[8];
                t.duration_ms = std::stol(f[9]);
                t.tempo = std::stod(f[10]);
                tracks.push_back(t);
            } else if (f[0] == "segment" && f.size() == 6) {
                segments.push_back(Segment{std::stol(f[1]), std::stod(f[2]), std::stod(f[3]), f[4], std::stoi(f[5])});
            } else if (f[0] == "status" && f.size() == 4) {
                statuses.push_back({f[1], {std::stoi(f[2]), f[3]}});
            } else if (f[0] == "columns" && f.size() >= 3) {
                columns.push_back({f[1], std::vector<std::string>(f.begin() + 2, f.end())});
            } else if (f[0] == "pulse_note_ms" && f.size() == 2) {
                pulse_note_ms = std::stol(f[1]);
            } else if (f[0] == "transport" && f.size() == 2) {
                transport_seed = std::stol(f[1]);
            } else if (f[0] == "spotify" && f.size() == 8) {
                spotify = SpotifyRun{true, f[1], f[2], f[3], f[4], f[5], std::stol(f[6]), std::stod(f[7])};
            } else {
                fprintf(stderr, "expectations: cannot read line: %s\n", line.c_str());
                return false;
            }
        }
        return true;
    }

    // The header of DAT mode `mode` (for `status`: its `field` column), or null.
    const std::vector<std::string>* header(const char* mode) const {
        for (const auto& c : columns) {
            if (c.first == mode) {
                return &c.second;
            }
        }
        fail("expectations: no columns for mode %s", mode);
        return nullptr;
    }

    const Track* track(long seed, int index) const {
        for (const Track& t : tracks) {
            if (t.seed == seed && t.index == index) {
                return &t;
            }
        }
        return nullptr;
    }

    int code(const char* status) const {
        for (const auto& s : statuses) {
            if (s.first == status) {
                return s.second.first;
            }
        }
        fail("expectations: no status %s", status);
        return -100;
    }
    std::string text(const char* status) const {
        for (const auto& s : statuses) {
            if (s.first == status) {
                return s.second.second;
            }
        }
        fail("expectations: no status %s", status);
        return "?";
    }

    const Track* by_id(long seed, const char* id) const {
        for (const Track& t : tracks) {
            if (t.seed == seed && t.id == id) {
                return &t;
            }
        }
        return nullptr;
    }

    // The track whose length and tempo a CHOP shows, or null.
    const Track* by_channels(long seed, float duration, float tempo) const {
        for (const Track& t : tracks) {
            if (t.seed == seed && std::fabs(duration - t.duration_ms / 1000.0) < 2e-3 &&
                std::fabs(tempo - t.tempo) < 2e-3) {
                return &t;
            }
        }
        return nullptr;
    }

    // What the player shows over time: a track index, or -1 for a gap, repeats merged.
    std::vector<int> states(long seed) const {
        std::vector<int> out;
        for (const Segment& s : segments) {
            if (s.seed != seed) {
                continue;
            }
            const int state = s.kind == "gap" ? -1 : s.track;
            if (out.empty() || out.back() != state) {
                out.push_back(state);
            }
        }
        return out;
    }
};

std::string describe_states(const std::vector<int>& states) {
    std::string s;
    for (int st : states) {
        if (!s.empty()) {
            s += " -> ";
        }
        s += st < 0 ? std::string("gap") : "track " + std::to_string(st);
    }
    return s.empty() ? "(nothing)" : s;
}

// ---------------------------------------------------------------------------------------------
// Ground truth from the library's own tables

struct Tables {
    std::vector<std::string> channels, rows, infos;
    std::vector<TdsParamInfo> params;
    // Each parameter's menu: (token, label) pairs.
    std::vector<std::vector<std::pair<std::string, std::string>>> menus;

    void read(const Plugin& p) {
        channels.clear();
        rows.clear();
        infos.clear();
        params.clear();
        menus.clear();
        for (uint32_t i = 0; i < p.channel_count(); ++i) {
            channels.push_back(p.channel_name(i) ? p.channel_name(i) : "(null)");
        }
        CHECK(p.channel_name(p.channel_count()) == nullptr, "td_spotify_channel_name past the end is not null");
        for (uint32_t i = 0; i < p.row_count(); ++i) {
            rows.push_back(p.row_name(i) ? p.row_name(i) : "(null)");
        }
        for (uint32_t i = 0; i < p.info_count(); ++i) {
            infos.push_back(p.info_name(i) ? p.info_name(i) : "(null)");
        }
        for (uint32_t i = 0; i < p.param_count(); ++i) {
            TdsParamInfo info;
            memset(&info, 0, sizeof info);
            CHECK(p.param_info(i, &info) == TDS_RESULT_OK, "td_spotify_param_info(%u) failed", i);
            params.push_back(info);
            menus.emplace_back();
            for (uint32_t m = 0; m < info.menu_count; ++m) {
                const char* name = nullptr;
                const char* label = nullptr;
                CHECK(p.param_menu_item(i, m, &name, &label) == TDS_RESULT_OK && name && label,
                      "td_spotify_param_menu_item(%u, %u) failed", i, m);
                menus.back().push_back({name ? name : "(null)", label ? label : "(null)"});
            }
            CHECK(p.param_menu_item(i, info.menu_count, nullptr, nullptr) == TDS_RESULT_OUT_OF_RANGE,
                  "td_spotify_param_menu_item past the end of %s's menu is not OutOfRange", info.name);
        }
    }

    int info(const char* name) const {
        for (size_t i = 0; i < infos.size(); ++i) {
            if (infos[i] == name) {
                return static_cast<int>(i);
            }
        }
        fail("the library has no info channel '%s'", name);
        return 0;
    }

    int channel(const char* name) const {
        for (size_t i = 0; i < channels.size(); ++i) {
            if (channels[i] == name) {
                return static_cast<int>(i);
            }
        }
        fail("the library has no channel '%s'", name);
        return 0;
    }
};

const char* kind_name(TdsParamKind k) {
    switch (k) {
        case TDS_PARAM_KIND_TOGGLE: return "Toggle";
        case TDS_PARAM_KIND_INT: return "Int";
        case TDS_PARAM_KIND_FLOAT: return "Float";
        case TDS_PARAM_KIND_MENU: return "Menu";
        case TDS_PARAM_KIND_STRING: return "String";
        case TDS_PARAM_KIND_PULSE: return "Pulse";
        case TDS_PARAM_KIND_FOLDER: return "Folder";
    }
    return "?";
}

// ---------------------------------------------------------------------------------------------
// Plugin info

// What each TouchDesigner series offers before calling Fill (2025 writes the range it accepts;
// older builds leave those bytes zero) and what the plugin must declare.
struct Series {
    const char* name;
    int32_t chop_min, chop_max, dat_min, dat_max;
    int32_t chop_want, dat_want;
    bool accepted;
};

const Series kSeries[] = {
    {"TD 2022-2023 (9/3)", 0, 0, 0, 0, 9, 3, true},
    {"TD 2025 before .33060 (common 1)", 0x10008, 0x1000A, 0x10003, 0x10004, 0x1000A, 0x10004, true},
    {"TD 2025.33060+ (common 2)", 0x10008, 0x2000A, 0x10003, 0x20004, 0x2000A, 0x20004, true},
    {"a series with common 3 only", 0x3000A, 0x3000B, 0x30004, 0x30005, 0x2000A, 0x20004, false},
};

// Prepares the info as TD does, with the series' range, and calls the plugin's Fill.
template <typename Info>
void fill_as(const Series& series, const char* family, void (*fill)(Info*), int32_t min, int32_t max, int32_t want,
             Info& info, HostPluginInfo& strings) {
    strings.prepare(info);
    info.minAPIVersion = min;
    info.maxAPIVersion = max;
    fill(&info);
    CHECK(info.apiVersion == want, "%s: %s apiVersion is %#x, want %#x", series.name, family, info.apiVersion, want);
}

void check_plugin_info(const Plugin& p, bool verbose) {
    for (const Series& series : kSeries) {
        HostPluginInfo strings, dstrings;
        CHOP_PluginInfo chop;
        DAT_PluginInfo dat;
        fill_as(series, "CHOP", p.fill_chop, series.chop_min, series.chop_max, series.chop_want, chop, strings);
        fill_as(series, "DAT", p.fill_dat, series.dat_min, series.dat_max, series.dat_want, dat, dstrings);

        if (!series.accepted) {
            // TD refuses the plugin and may not have set up the strings: nothing else is touched.
            CHECK(strings.op_type.sets == 0 && chop.customOPInfo.maxInputs == 0, "%s: a refused CHOP Fill went on",
                  series.name);
            CHECK(dstrings.op_type.sets == 0, "%s: a refused DAT Fill went on", series.name);
            if (verbose) note("%s: declared %#x / %#x and stopped, as TD will refuse it", series.name,
                              chop.apiVersion, dat.apiVersion);
            continue;
        }
        CHECK(td_name_ok(strings.op_type.c_str()), "CHOP opType '%s' breaks TD's rule", strings.op_type.c_str());
        CHECK(!strings.op_label.empty(), "CHOP opLabel is empty");
        CHECK(strlen(strings.op_icon.c_str()) == 3, "CHOP opIcon '%s' is not 3 characters", strings.op_icon.c_str());
        CHECK(chop.customOPInfo.minInputs == 0 && chop.customOPInfo.maxInputs == 1, "CHOP inputs %d..%d, want 0..1",
              chop.customOPInfo.minInputs, chop.customOPInfo.maxInputs);
        const std::string chop_type = strings.op_type.c_str();
        CHECK(td_name_ok(dstrings.op_type.c_str()), "DAT opType '%s' breaks TD's rule", dstrings.op_type.c_str());
        CHECK(chop_type != dstrings.op_type.c_str(), "CHOP and DAT share opType %s", chop_type.c_str());
        CHECK(strlen(dstrings.op_icon.c_str()) == 3, "DAT opIcon '%s' is not 3 characters", dstrings.op_icon.c_str());
        CHECK(dat.customOPInfo.maxInputs == 0, "DAT maxInputs %d, want 0", dat.customOPInfo.maxInputs);
        if (verbose) {
            note("%s: CHOP %s '%s' icon %s API %#x version %d.%d; DAT %s '%s' icon %s API %#x", series.name,
                 chop_type.c_str(), strings.op_label.c_str(), strings.op_icon.c_str(), chop.apiVersion,
                 chop.customOPInfo.majorVersion, chop.customOPInfo.minorVersion, dstrings.op_type.c_str(),
                 dstrings.op_label.c_str(), dstrings.op_icon.c_str(), dat.apiVersion);
        }
    }
}

// Runs setupParameters and compares the page with the library's parameter table.
void setup_and_check_parameters(const char* who, uint32_t family, const Tables& t, HostParameters& page,
                                HostInputs& inputs) {
    size_t want = 0;
    for (size_t index = 0; index < t.params.size(); ++index) {
        const TdsParamInfo& info = t.params[index];
        if (!(info.families & family)) {
            continue;
        }
        if (want >= page.pars.size()) {
            fail("%s: parameter %s was not appended", who, info.name);
            ++want;
            continue;
        }
        const RecordedPar& got = page.pars[want++];
        CHECK(got.name == info.name, "%s: parameter %zu is %s, want %s", who, want - 1, got.name.c_str(), info.name);
        CHECK(got.kind == kind_name(info.kind), "%s: %s appended as %s, want %s", who, info.name, got.kind.c_str(),
              kind_name(info.kind));
        CHECK(got.label == info.label, "%s: %s label '%s'", who, info.name, got.label.c_str());
        CHECK(got.page == info.page, "%s: %s page '%s', want '%s'", who, info.name, got.page.c_str(), info.page);
        CHECK(got.size == 1, "%s: %s size %d, want 1 (TouchDesigner 2025 reads it)", who, info.name, got.size);
        CHECK(got.help == info.help, "%s: %s help '%s'", who, info.name, got.help.c_str());
        if (info.kind == TDS_PARAM_KIND_MENU) {
            CHECK(got.menu_names.size() == info.menu_count, "%s: %s has %zu menu items", who, info.name,
                  got.menu_names.size());
            CHECK(got.default_string == info.default_string, "%s: %s default '%s'", who, info.name,
                  got.default_string.c_str());
            const auto& menu = t.menus[index];
            for (size_t m = 0; m < menu.size() && m < got.menu_names.size(); ++m) {
                CHECK(got.menu_names[m] == menu[m].first && got.menu_labels[m] == menu[m].second,
                      "%s: %s menu item %zu is %s '%s', want %s '%s'", who, info.name, m, got.menu_names[m].c_str(),
                      got.menu_labels[m].c_str(), menu[m].first.c_str(), menu[m].second.c_str());
            }
        } else if (info.kind == TDS_PARAM_KIND_STRING || info.kind == TDS_PARAM_KIND_FOLDER) {
            CHECK(got.default_string == info.default_string, "%s: %s default '%s', want '%s'", who, info.name,
                  got.default_string.c_str(), info.default_string);
        } else if (info.kind != TDS_PARAM_KIND_STRING && info.kind != TDS_PARAM_KIND_FOLDER) {
            CHECK(got.default_value == info.default_value, "%s: %s default %g, want %g", who, info.name,
                  got.default_value, info.default_value);
            if (info.kind != TDS_PARAM_KIND_TOGGLE && info.kind != TDS_PARAM_KIND_PULSE) {
                CHECK(got.min_value == info.min_value && got.max_value == info.max_value && got.clamp == info.clamp,
                      "%s: %s range", who, info.name);
            }
        }
    }
    CHECK(page.pars.size() == want, "%s: appended %zu parameters, want %zu", who, page.pars.size(), want);
    for (const std::string& problem : page.problems) {
        fail("%s: %s", who, problem.c_str());
    }
    inputs.define(page);
    std::string listing;
    std::string last_page;
    for (const RecordedPar& r : page.pars) {
        if (r.page != last_page) {
            listing += (last_page.empty() ? "" : "; ") + r.page + ": ";
            last_page = r.page;
        } else {
            listing += ", ";
        }
        listing += r.name + " (" + r.kind + ")";
    }
    note("%s parameters: %s", who, listing.c_str());
}

// What issue 5 promises an artist, written out here so a parameter that silently disappears from
// the library's table (and so from the check above) still fails.
struct PromisedPar {
    const char* name;
    const char* kind;
    uint32_t families;
};

const PromisedPar kPromised[] = {
    {"Active", "Toggle", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Source", "Menu", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Clientid", "String", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Port", "Int", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Login", "Pulse", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Logout", "Pulse", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Tokencache", "Folder", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Pollinterval", "Float", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Playpause", "Pulse", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Next", "Pulse", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Previous", "Pulse", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Resetcounters", "Pulse", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Bpm", "Float", TDS_FAMILY_CHOP},
    {"Tap", "Pulse", TDS_FAMILY_CHOP},
    {"Mode", "Menu", TDS_FAMILY_DAT},
    {"Colorfade", "Float", TDS_FAMILY_CHOP},
    {"Temposource", "Menu", TDS_FAMILY_CHOP},
};

// What issue 15 promises, on the `Jukebox` page.
const PromisedPar kPromisedJukebox[] = {
    {"Jukebox", "Toggle", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Turnlength", "Float", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Turnmode", "Menu", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Idletimeout", "Float", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Pagebind", "Menu", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Redisurl", "String", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Skip", "Pulse", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Removevisitor", "Pulse", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
    {"Clearqueue", "Pulse", TDS_FAMILY_CHOP | TDS_FAMILY_DAT},
};

const RecordedPar* find_par(const HostParameters& page, const char* name) {
    for (const RecordedPar& r : page.pars) {
        if (r.name == name) {
            return &r;
        }
    }
    return nullptr;
}

void check_promised_parameters(const char* who, uint32_t family, const HostParameters& page) {
    for (const PromisedPar& want : kPromised) {
        const RecordedPar* got = find_par(page, want.name);
        if (!(want.families & family)) {
            CHECK(!got, "%s has parameter %s, which belongs to the other family only", who, want.name);
            continue;
        }
        if (!got) {
            fail("%s has no parameter %s (issue 5)", who, want.name);
            continue;
        }
        CHECK(got->page == "Spotify", "%s: %s is on page '%s', want 'Spotify'", who, want.name, got->page.c_str());
        CHECK(got->kind == want.kind, "%s: %s is a %s, want a %s", who, want.name, got->kind.c_str(), want.kind);
    }
    for (const PromisedPar& want : kPromisedJukebox) {
        const RecordedPar* got = find_par(page, want.name);
        if (!got) {
            fail("%s has no parameter %s (issue 15)", who, want.name);
            continue;
        }
        CHECK(got->page == "Jukebox", "%s: %s is on page '%s', want 'Jukebox'", who, want.name, got->page.c_str());
        CHECK(got->kind == want.kind, "%s: %s is a %s, want a %s", who, want.name, got->kind.c_str(), want.kind);
    }
    if (const RecordedPar* source = find_par(page, "Source")) {
        const std::vector<std::string> want = {"Simulator", "Spotify"};
        CHECK(source->menu_names == want, "%s: Source menu has %zu item(s), want Simulator, Spotify", who,
              source->menu_names.size());
    }
    if (const RecordedPar* mode = find_par(page, "Mode")) {
        const std::vector<std::string> want = {"nowplaying", "queue", "recent", "devices", "status", "palette",
                                               "visitors"};
        std::string got;
        for (const std::string& m : mode->menu_names) {
            got += (got.empty() ? "" : ", ") + m;
        }
        CHECK(mode->menu_names == want,
              "%s: Mode menu is %s, want nowplaying, queue, recent, devices, status, palette, visitors", who,
              got.c_str());
        CHECK(mode->default_string == "nowplaying", "%s: Mode defaults to '%s'", who, mode->default_string.c_str());
        for (const std::string& label : mode->menu_labels) {
            CHECK(!label.empty() && label != "(null)", "%s: a Mode menu item has no label", who);
        }
    }
}

// The page records what TD would, and refuses what TD refuses: a check that accepted anything would
// prove nothing.
void check_host_refuses_bad_names() {
    HostParameters page;
    OP_NumericParameter np("Good1");
    np.label = "Good";
    np.page = "Spotify";
    CHECK(page.appendToggle(np) == OP_ParAppendResult::Success, "host: a good name was refused");
    CHECK(page.appendPulse(np) == OP_ParAppendResult::InvalidName, "host: a duplicate name was accepted");
    OP_StringParameter sp("Good1");
    sp.label = "Again";
    sp.page = "Spotify";
    CHECK(page.appendString(sp) == OP_ParAppendResult::InvalidName, "host: a duplicate string name was accepted");
    for (const char* bad : {"lower", "Two words", "CamelCase", "Under_score", ""}) {
        OP_NumericParameter b(bad);
        b.label = "Bad";
        b.page = "Spotify";
        CHECK(page.appendFloat(b, 1) == OP_ParAppendResult::InvalidName, "host: the name '%s' was accepted", bad);
    }
    CHECK(page.pars.size() == 1 && page.problems.size() == 7, "host: recorded %zu parameter(s), %zu problem(s)",
          page.pars.size(), page.problems.size());
}

// ---------------------------------------------------------------------------------------------
// The cooking test

struct Frame {
    int64_t begin = 0, end = 0;  // around the CHOP's execute
    std::vector<float> ch;
    int chop_state = -2;  // track index, -1 gap, -2 other (connecting, paused-without-track...)
    int dat_state = -2;
    std::string dat_status, dat_track_id;
    AllocCounts allocs{0, 0};
    bool counted = false;
};

struct World {
    Plugin* plugin = nullptr;
    Tables tables;
    const Expectations* exp = nullptr;
    CHOP_CPlusPlusBase* chop = nullptr;
    DAT_CPlusPlusBase* dat = nullptr;
    HostInputs chop_inputs, dat_inputs;
    std::unique_ptr<ChopRunner> chop_run{new ChopRunner()};
    std::unique_ptr<DatRunner> dat_run{new DatRunner()};
    std::unique_ptr<HostDatOutput> dat_out{new HostDatOutput()};
    OP_NodeInfo chop_node{}, dat_node{};

    // A fake audio input, wired for part of the first phase.
    std::vector<float> audio_l, audio_r;
    const float* audio_ptrs[2] = {nullptr, nullptr};
    const char* audio_names[2] = {"chan1", "chan2"};
    OP_CHOPInput audio{};

    // `track_changed` pulses the CHOP showed during cook_until and cook_frames.
    int c_changed = -1;
    int track_changes = 0;

    void set_all(const char* name, double v) {
        CHECK(chop_inputs.set_number(name, v) && dat_inputs.set_number(name, v), "cannot set parameter %s", name);
    }
    void set_all(const char* name, const char* v) {
        CHECK(chop_inputs.set_string(name, v) && dat_inputs.set_string(name, v), "cannot set parameter %s to %s",
              name, v);
    }
};

// Checks one DAT cook against the table names and the simulator's tracks; returns its state.
int check_dat(World& w, const Phase& ph, int k, Frame& f) {
    const HostDatOutput& d = *w.dat_out;
    const Expectations& e = *w.exp;
    const Tables& t = w.tables;
    auto val = [&d](const char* field) {
        const char* v = d.value(field);
        return v ? v : "(missing)";
    };
    if (d.type != DAT_OutDataType::Table || d.rows != static_cast<int32_t>(t.rows.size()) + 1 || d.cols != 2) {
        fail("%s frame %d: DAT is %dx%d, want %zux2 table", ph.name.c_str(), k, d.rows, d.cols, t.rows.size() + 1);
        return -2;
    }
    CHECK(d.bad_calls == 0, "DAT output got %d invalid calls", d.bad_calls);
    if (k == 0) {
        CHECK(strcmp(d.cells[0][0], "field") == 0 && strcmp(d.cells[0][1], "value") == 0, "DAT header is %s | %s",
              d.cells[0][0], d.cells[0][1]);
        for (size_t r = 0; r < t.rows.size(); ++r) {
            CHECK(t.rows[r] == d.cells[r + 1][0], "DAT row %zu is '%s', want '%s'", r + 1, d.cells[r + 1][0],
                  t.rows[r].c_str());
        }
    }
    const char* status = val("status");
    const char* id = d.value("track_id");
    f.dat_status = status;
    f.dat_track_id = id ? id : "";
    CHECK(strcmp(val("source"), "simulator") == 0, "%s frame %d: source row is '%s'", ph.name.c_str(), k,
          val("source"));
    if (id && *id) {
        const Track* tr = e.by_id(ph.seed, id);
        if (!tr) {
            fail("%s frame %d: DAT shows track id %s, not in the simulator's playlist", ph.name.c_str(), k, id);
            return -2;
        }
        const std::string duration = std::to_string(tr->duration_ms);
        CHECK(tr->name == val("name"), "frame %d: name '%s', want '%s'", k, val("name"), tr->name.c_str());
        CHECK(tr->artists == val("artists"), "frame %d: artists '%s', want '%s'", k, val("artists"),
              tr->artists.c_str());
        CHECK(tr->album == val("album"), "frame %d: album '%s', want '%s'", k, val("album"), tr->album.c_str());
        CHECK(tr->uri == val("uri"), "frame %d: uri '%s'", k, val("uri"));
        CHECK(tr->art == val("album_art_url"), "frame %d: album_art_url '%s'", k, val("album_art_url"));
        CHECK(duration == val("duration_ms"), "frame %d: duration_ms '%s', want %s", k, val("duration_ms"),
              duration.c_str());
        CHECK(*val("device") != '\0', "frame %d: no device while a track is loaded", k);
        const bool playing = strcmp(val("is_playing"), "1") == 0;
        const std::string want = e.text(playing ? "Playing" : "Paused");
        CHECK(want == status, "frame %d: status '%s' with is_playing %s", k, status, val("is_playing"));
        return tr->index;
    }
    CHECK(*val("name") == '\0', "frame %d: a name ('%s') without a track id", k, val("name"));
    if (e.text("Waiting") == status) {
        CHECK(strcmp(val("is_playing"), "0") == 0, "frame %d: waiting but is_playing %s", k, val("is_playing"));
        return -1;
    }
    CHECK(e.text("Connecting") == status, "%s frame %d: unexpected status '%s' without a track", ph.name.c_str(), k,
          status);
    return -2;
}

void run_phase(World& w, const Phase& ph) {
    const Tables& t = w.tables;
    const Expectations& e = *w.exp;
    note("--- phase %s: seed %ld, Simspeed %g, %d frames at 60 fps", ph.name.c_str(), ph.seed, ph.speed, ph.frames);
    w.set_all("Active", 1.0);
    w.set_all("Source", "Simulator");
    w.set_all("Simseed", static_cast<double>(ph.seed));
    w.set_all("Simspeed", ph.speed);

    const int c_playing = t.channel("playing"), c_position = t.channel("position"),
              c_duration = t.channel("duration"), c_progress = t.channel("progress"),
              c_remaining = t.channel("remaining"), c_changed = t.channel("track_changed"),
              c_tempo = t.channel("tempo"), c_status = t.channel("status"), c_connected = t.channel("connected");
    const bool first = &ph == &e.phases.front();
    const int code_playing = e.code("Playing"), code_paused = e.code("Paused"), code_waiting = e.code("Waiting");

    std::vector<Frame> frames(static_cast<size_t>(ph.frames));
    const int64_t period = 1000000000 / 60;
    const int64_t t0 = now_ns();
    ChopRunner& chop = *w.chop_run;
    DatRunner& dat = *w.dat_run;
    for (int k = 0; k < ph.frames; ++k) {
        sleep_until_ns(t0 + period * k);
        // An audio CHOP wired into the input for a while: the output must not change shape.
        const int audio_from = 100;
        w.chop_inputs.chop_input = (first && k >= audio_from && k < 160) ? &w.audio : nullptr;
        Frame& f = frames[static_cast<size_t>(k)];
        // The first cook of a phase applies new parameters and may start an engine, and the cook
        // that first sees audio starts the beat tracker (its ring and thread), once, like wiring
        // an input does in TouchDesigner: those are not counted. Every other cook must not touch
        // the heap, with or without audio.
        f.counted = k >= 1 && !(first && k == audio_from);
        if (f.counted) {
            alloc_count_begin();
        }
        chop.cook(k == 7 ? 4 : 0);
        if (f.counted) {
            f.allocs = alloc_count_end();
        }
        f.begin = chop.exec_begin;
        f.end = chop.exec_end;
        dat.cook();

        CHECK(chop.problems == 0 && chop.info.problems == 0, "frame %d: CHOP output or info out of bounds", k);
        CHECK(chop.general.cookEveryFrameIfAsked, "CHOP does not ask to cook every frame");
        CHECK(dat.general.cookEveryFrameIfAsked, "DAT does not ask to cook every frame");
        CHECK(chop.own_output, "getOutputInfo returned false");
        if (chop.num_channels != static_cast<int32_t>(t.channels.size())) {
            fail("frame %d: %d channels, want %zu", k, chop.num_channels, t.channels.size());
            return;
        }
        for (int c = 0; c < chop.num_channels; ++c) {
            if (k == 0 || w.chop_inputs.chop_input) {
                CHECK(t.channels[c] == chop.names[c].c_str(), "channel %d is named '%s', want '%s'", c,
                      chop.names[c].c_str(), t.channels[c].c_str());
            }
            for (int s = 0; s < chop.num_samples; ++s) {
                CHECK(chop.samples[c][s] == chop.samples[c][0] && chop.samples[c][s] != -12345.0f,
                      "frame %d: channel %s sample %d not written", k, t.channels[c].c_str(), s);
            }
        }
        f.ch.clear();
        for (int c = 0; c < chop.num_channels; ++c) {
            f.ch.push_back(chop.value(c));
        }
        CHECK(chop.info.error.empty(), "%s frame %d: CHOP error '%s'", ph.name.c_str(), k, chop.info.error.c_str());
        CHECK(dat.info.error.empty(), "%s frame %d: DAT error '%s'", ph.name.c_str(), k, dat.info.error.c_str());

        // What the CHOP shows.
        const float duration = f.ch[c_duration], position = f.ch[c_position];
        const int status = static_cast<int>(f.ch[c_status]);
        if (duration > 0) {
            const Track* tr = e.by_channels(ph.seed, duration, f.ch[c_tempo]);
            CHECK(tr != nullptr, "%s frame %d: CHOP shows a track (%.3f s, %.1f BPM) not in the playlist",
                  ph.name.c_str(), k, duration, f.ch[c_tempo]);
            f.chop_state = tr ? tr->index : -2;
            CHECK(status == code_playing || status == code_paused, "frame %d: status %d with a track", k, status);
            CHECK((f.ch[c_playing] == 1) == (status == code_playing), "frame %d: playing %g, status %d", k,
                  f.ch[c_playing], status);
            CHECK(std::fabs(f.ch[c_progress] - position / duration) < 1e-4, "frame %d: progress %g at %g/%g", k,
                  f.ch[c_progress], position, duration);
            CHECK(std::fabs(f.ch[c_remaining] - (duration - position)) < 1e-3, "frame %d: remaining %g", k,
                  f.ch[c_remaining]);
            CHECK(position >= 0 && position <= duration, "frame %d: position %g outside 0..%g", k, position, duration);
            CHECK(f.ch[c_connected] == 1, "frame %d: not connected while playing", k);
        } else if (status == code_waiting) {
            f.chop_state = -1;
            CHECK(f.ch[c_playing] == 0 && position == 0, "frame %d: waiting but playing %g position %g", k,
                  f.ch[c_playing], position);
        }
        f.dat_state = check_dat(w, ph, k, f);
    }

    // track_changed: 1 exactly on the cooks where a new track appears, one cook wide.
    std::vector<int> changed_frames;
    for (int k = 0; k < ph.frames; ++k) {
        const Frame& f = frames[static_cast<size_t>(k)];
        const bool pulse = f.ch[c_changed] == 1.0f;
        const bool expected = k > 0 && f.chop_state >= 0 && f.chop_state != frames[static_cast<size_t>(k - 1)].chop_state;
        CHECK(f.ch[c_changed] == 0.0f || pulse, "frame %d: track_changed is %g", k, f.ch[c_changed]);
        CHECK(pulse == expected, "%s frame %d: track_changed %d, expected %d (track %d after %d)", ph.name.c_str(), k,
              pulse, expected, f.chop_state, k > 0 ? frames[static_cast<size_t>(k - 1)].chop_state : -9);
        if (pulse) {
            changed_frames.push_back(k);
        }
    }
    for (size_t i = 1; i < changed_frames.size(); ++i) {
        CHECK(changed_frames[i] != changed_frames[i - 1] + 1, "track_changed held for two cooks at %d",
              changed_frames[i]);
    }

    // position: between two cooks of one playing track it advances by Simspeed x the time between
    // the two engine reads, which lie inside the host's timestamps around each execute.
    int pairs = 0;
    double advanced = 0, elapsed = 0, worst = 0;
    for (int k = 1; k < ph.frames; ++k) {
        const Frame& a = frames[static_cast<size_t>(k - 1)];
        const Frame& b = frames[static_cast<size_t>(k)];
        if (a.chop_state < 0 || a.chop_state != b.chop_state || a.ch[c_playing] != 1 || b.ch[c_playing] != 1 ||
            b.ch[c_position] >= b.ch[c_duration] - 1e-3f) {
            continue;
        }
        const double d = static_cast<double>(b.ch[c_position]) - a.ch[c_position];
        const double lo = ph.speed * (b.begin - a.end) * 1e-9 - 2e-4;
        const double hi = ph.speed * (b.end - a.begin) * 1e-9 + 2e-4;
        const double mid = ph.speed * ((b.begin + b.end) - (a.begin + a.end)) * 0.5e-9;
        worst = std::max(worst, std::fabs(d - mid));
        CHECK(d >= lo && d <= hi, "%s frame %d: position advanced %.6f s, want %.6f..%.6f", ph.name.c_str(), k, d, lo,
              hi);
        ++pairs;
        advanced += d;
        elapsed += (b.begin - a.begin) * 1e-9;
    }
    CHECK(pairs >= ph.frames / 2, "%s: only %d of %d cooks were playing", ph.name.c_str(), pairs, ph.frames);
    if (pairs > 0) {
        const double per_cook = advanced / pairs, want = ph.speed * elapsed / pairs;
        note("position: %d playing cook pairs, advanced %.4f s per cook (Simspeed x elapsed = %.4f s), "
             "worst deviation %.2f us",
             pairs, per_cook, want, worst * 1e6);
        CHECK(std::fabs(per_cook - want) <= 0.02 * want, "%s: position advances %.5f s per cook, want %.5f",
              ph.name.c_str(), per_cook, want);
    }

    // The order of tracks and gaps follows the simulator's schedule.
    const std::vector<int> expected = e.states(ph.seed);
    for (int pass = 0; pass < 2; ++pass) {
        std::vector<int> seen;
        for (const Frame& f : frames) {
            const int st = pass == 0 ? f.chop_state : f.dat_state;
            if (st != -2 && (seen.empty() || seen.back() != st)) {
                seen.push_back(st);
            }
        }
        const char* who = pass == 0 ? "CHOP" : "DAT";
        note("%s saw: %s", who, describe_states(seen).c_str());
        const bool prefix = seen.size() <= expected.size() && std::equal(seen.begin(), seen.end(), expected.begin());
        CHECK(prefix, "%s: %s saw %s, the schedule is %s", ph.name.c_str(), who, describe_states(seen).c_str(),
              describe_states(expected).c_str());
        CHECK(!seen.empty() && seen.front() == 0, "%s: %s never showed the first track", ph.name.c_str(), who);
        if (ph.name == "fast") {
            CHECK(std::count(seen.begin(), seen.end(), -1) >= 1, "fast: %s never showed a gap", who);
            CHECK(std::count_if(seen.begin(), seen.end(), [](int s) { return s >= 0; }) >= 2,
                  "fast: %s never changed track", who);
        }
    }
    int waiting = 0;
    for (const Frame& f : frames) {
        waiting += f.dat_status == e.text("Waiting");
    }
    note("track_changed on %zu cook(s); DAT status '%s' on %d cook(s)", changed_frames.size(),
         e.text("Waiting").c_str(), waiting);
    if (ph.name == "fast") {
        CHECK(waiting > 0, "fast: the DAT never read '%s'", e.text("Waiting").c_str());
        CHECK(changed_frames.size() >= 2, "fast: only %zu track changes", changed_frames.size());
    }

    // No heap traffic in the CHOP's execute once parameters are applied.
    uint64_t allocs = 0, frees = 0;
    int counted = 0;
    for (int k = 0; k < ph.frames; ++k) {
        const Frame& f = frames[static_cast<size_t>(k)];
        if (!f.counted) {
            continue;
        }
        ++counted;
        allocs += f.allocs.allocs;
        frees += f.allocs.frees;
        CHECK(f.allocs.allocs == 0 && f.allocs.frees == 0, "%s frame %d: the cook made %llu allocations, %llu frees",
              ph.name.c_str(), k, static_cast<unsigned long long>(f.allocs.allocs),
              static_cast<unsigned long long>(f.allocs.frees));
    }
    note("CHOP cooks: %llu allocations, %llu frees over %d counted cooks", static_cast<unsigned long long>(allocs),
         static_cast<unsigned long long>(frees), counted);
    int64_t worst_gap = 0;
    for (int k = 1; k < ph.frames; ++k) {
        worst_gap = std::max(worst_gap, frames[static_cast<size_t>(k)].begin - frames[static_cast<size_t>(k - 1)].begin);
    }
    note("frames: %.1f ms on average, longest %.1f ms",
         (frames.back().begin - frames.front().begin) * 1e-6 / std::max(1, ph.frames - 1), worst_gap * 1e-6);
}

// Cooks both operators once, counting a `track_changed` pulse.
void cook_both(World& w) {
    w.chop_run->cook();
    w.dat_run->cook();
    if (w.c_changed >= 0 && w.chop_run->value(w.c_changed) == 1.0f) {
        ++w.track_changes;
    }
}

// Cooks both operators at about 60 fps until `done` or `frames` frames (two seconds) pass.
template <typename Done>
bool cook_until(World& w, Done done, int frames = 120) {
    for (int i = 0; i < frames; ++i) {
        cook_both(w);
        if (done()) {
            return true;
        }
        sleep_ms(16);
    }
    return false;
}

// Cooks both operators for `frames` frames at about 60 fps.
void cook_frames(World& w, int frames) {
    cook_until(w, [] { return false; }, frames);
}

// The tracks the schedule of `seed` plays after (or, with `before`, before) its first showing of
// `track`, nearest first, each once.
std::vector<int> neighbours(const Expectations& e, long seed, int track, bool before) {
    const std::vector<int> states = e.states(seed);
    const auto at = std::find(states.begin(), states.end(), track);
    std::vector<int> out;
    if (at == states.end()) {
        return out;
    }
    auto add = [&out](int st) {
        if (st >= 0 && std::find(out.begin(), out.end(), st) == out.end()) {
            out.push_back(st);
        }
    };
    if (before) {
        for (auto it = at; it != states.begin();) {
            add(*--it);
        }
    } else {
        for (auto it = at + 1; it != states.end(); ++it) {
            add(*it);
        }
    }
    return out;
}

// Whether the DAT's `field | value` table shows `tr`.
bool dat_shows(const World& w, const Track* tr) {
    const char* id = w.dat_out->value("track_id");
    const char* name = w.dat_out->value("name");
    return tr && id && name && tr->id == id && tr->name == name;
}

bool chop_shows(const World& w, const Track* tr) {
    const float duration = w.chop_run->value(w.tables.channel("duration"));
    const float tempo = w.chop_run->value(w.tables.channel("tempo"));
    return tr && std::fabs(duration - tr->duration_ms / 1000.0) < 2e-3 && std::fabs(tempo - tr->tempo) < 2e-3;
}

// Presses `pulse` on the CHOP, cooks until both operators show `tr`, then a little longer, and
// checks that `track_changed` fired exactly once.
void skip_to(World& w, const char* pulse, const Track* tr) {
    w.track_changes = 0;
    w.chop->pulsePressed(pulse, nullptr);
    const bool shown = cook_until(w, [&] { return dat_shows(w, tr) && chop_shows(w, tr); });
    const char* name = w.dat_out->value("name");
    CHECK(shown, "%s: the DAT's name row is '%s', want '%s' (track %d of the schedule)", pulse,
          name ? name : "(missing)", tr ? tr->name.c_str() : "?", tr ? tr->index : -1);
    cook_frames(w, 10);  // a second pulse, or a stuck one, would show here
    CHECK(w.track_changes == 1, "%s: track_changed fired %d time(s), want once", pulse, w.track_changes);
    CHECK(w.chop_run->info.warning.empty() && w.chop_run->info.error.empty(), "%s: the CHOP shows '%s%s'", pulse,
          w.chop_run->info.warning.c_str(), w.chop_run->info.error.c_str());
    note("%s: now '%s' (track %d); track_changed fired %d time(s)", pulse, name ? name : "", tr ? tr->index : -1,
         w.track_changes);
}

// Playback pulses on the simulator at real time: Next, Playpause twice, Previous, then Next again
// (the modes are checked on the second track).
void run_transport(World& w) {
    const Expectations& e = *w.exp;
    const Tables& t = w.tables;
    const long seed = e.transport_seed;
    note("--- playback pulses: Simseed %ld at real time", seed);
    w.set_all("Active", 1.0);
    w.set_all("Source", "Simulator");
    w.set_all("Simseed", static_cast<double>(seed));
    w.set_all("Simspeed", 1.0);
    const int c_playing = t.channel("playing"), c_position = t.channel("position"), c_status = t.channel("status");
    const Track* first = e.track(seed, 0);
    const std::vector<int> after = neighbours(e, seed, 0, false);
    const Track* second = after.empty() ? nullptr : e.track(seed, after[0]);
    if (!first || !second) {
        fail("expectations: the transport seed %ld has no first and next track", seed);
        return;
    }
    const bool started = cook_until(w, [&] {
        return dat_shows(w, first) && chop_shows(w, first) && w.chop_run->value(c_playing) == 1;
    });
    CHECK(started, "Simseed %ld: the first track '%s' never played", seed, first->name.c_str());
    cook_frames(w, 3);

    skip_to(w, "Next", second);

    // Playpause holds the position; pressed again, playback goes on from there.
    w.track_changes = 0;
    w.chop->pulsePressed("Playpause", nullptr);
    CHECK(cook_until(w, [&] { return w.chop_run->value(c_playing) == 0; }), "Playpause: playing stayed 1");
    const float held = w.chop_run->value(c_position);
    for (int i = 0; i < 20; ++i) {
        cook_both(w);
        sleep_ms(16);
        const float pos = w.chop_run->value(c_position);
        const char* playing = w.dat_out->value("is_playing");
        const char* status = w.dat_out->value("status");
        CHECK(pos == held, "paused: position moved from %.4f to %.4f s", held, pos);
        CHECK(w.chop_run->value(c_playing) == 0 && w.chop_run->value(c_status) == e.code("Paused"),
              "paused: playing %g, status %g", w.chop_run->value(c_playing), w.chop_run->value(c_status));
        CHECK(playing && strcmp(playing, "0") == 0 && status && e.text("Paused") == status,
              "paused: the DAT says is_playing '%s', status '%s'", playing ? playing : "?", status ? status : "?");
        CHECK(dat_shows(w, second), "paused: the DAT no longer shows '%s'", second->name.c_str());
    }
    w.chop->pulsePressed("Playpause", nullptr);
    CHECK(cook_until(w, [&] { return w.chop_run->value(c_playing) == 1; }), "Playpause again: playing stayed 0");
    const float resumed = w.chop_run->value(c_position);
    CHECK(resumed >= held && resumed < held + 0.5f, "resumed at %.4f s, paused at %.4f s", resumed, held);
    cook_frames(w, 10);
    CHECK(w.chop_run->value(c_position) > resumed, "resumed, but position stays at %.4f s", resumed);
    CHECK(w.track_changes == 0, "pause and resume fired track_changed %d time(s)", w.track_changes);
    note("Playpause: held at %.3f s for 20 cooks, resumed at %.3f s", held, resumed);

    // Previous goes back only within the first seconds of a track (then it restarts the track).
    const float position = w.chop_run->value(c_position);
    CHECK(position < 2.5f, "Previous: %.2f s into the track already; the host was too slow", position);
    skip_to(w, "Previous", first);
    skip_to(w, "Next", second);
}

// Every DAT mode: shape, header and rows, against the schema's headers and the simulator's
// schedule. Runs while the transport seed plays its second track.
void run_modes(World& w) {
    const Expectations& e = *w.exp;
    const Tables& t = w.tables;
    const long seed = e.transport_seed;
    const HostDatOutput& d = *w.dat_out;
    const std::vector<int> after = neighbours(e, seed, 0, false);
    const int current = after.empty() ? 1 : after[0];
    const std::vector<int> upcoming = neighbours(e, seed, current, false);
    const std::vector<int> earlier = neighbours(e, seed, current, true);
    note("--- DAT modes while track %d plays", current);
    std::string device;
    for (const char* mode : {"nowplaying", "queue", "recent", "devices", "status", "palette", "visitors", "nowplaying"}) {
        CHECK(w.dat_inputs.set_string("Mode", mode), "the DAT's Mode menu has no '%s'", mode);
        w.dat_run->cook();  // applies the new mode: may allocate, like any parameter change
        alloc_count_begin();
        w.dat_run->cook();
        const AllocCounts a = alloc_count_end();
        CHECK(a.allocs == 0 && a.frees == 0, "Mode %s: the DAT's cook made %llu allocations, %llu frees", mode,
              static_cast<unsigned long long>(a.allocs), static_cast<unsigned long long>(a.frees));
        CHECK(d.type == DAT_OutDataType::Table && d.bad_calls == 0, "Mode %s: not a clean table (%d bad calls)",
              mode, d.bad_calls);
        CHECK(w.dat_run->info.error.empty() && w.dat_run->info.warning.empty(), "Mode %s: the DAT shows '%s%s'", mode,
              w.dat_run->info.error.c_str(), w.dat_run->info.warning.c_str());
        auto cell = [&d](int r, int c) -> std::string {
            return r >= 0 && c >= 0 && r < d.rows && c < d.cols ? d.cells[r][c] : "(none)";
        };
        // The `field | value` modes.
        if (strcmp(mode, "nowplaying") == 0 || strcmp(mode, "status") == 0) {
            const bool now = strcmp(mode, "nowplaying") == 0;
            const std::vector<std::string>* fields = now ? &t.rows : e.header("status");
            if (!fields) {
                continue;
            }
            CHECK(d.rows == static_cast<int32_t>(fields->size()) + 1 && d.cols == 2, "Mode %s: %dx%d, want %zux2", mode,
                  d.rows, d.cols, fields->size() + 1);
            CHECK(cell(0, 0) == "field" && cell(0, 1) == "value", "Mode %s: header %s | %s", mode, cell(0, 0).c_str(),
                  cell(0, 1).c_str());
            for (size_t r = 0; r < fields->size(); ++r) {
                CHECK(cell(static_cast<int>(r) + 1, 0) == (*fields)[r], "Mode %s: row %zu is '%s', want '%s'", mode,
                      r + 1, cell(static_cast<int>(r) + 1, 0).c_str(), (*fields)[r].c_str());
            }
            const char* status = d.value("status");
            const char* source = d.value("source");
            CHECK(status && e.text("Playing") == status, "Mode %s: status '%s'", mode, status ? status : "(missing)");
            CHECK(source && strcmp(source, "simulator") == 0, "Mode %s: source '%s'", mode,
                  source ? source : "(missing)");
            if (now) {
                CHECK(dat_shows(w, e.track(seed, current)), "Mode nowplaying: name '%s', want track %d", cell(1, 1).c_str(),
                      current);
                device = d.value("device") ? d.value("device") : "";
            } else {
                const char* connected = d.value("connected");
                CHECK(connected && strcmp(connected, "1") == 0, "Mode status: connected '%s'",
                      connected ? connected : "(missing)");
            }
            note("Mode %s: %d rows x %d columns, status '%s'", mode, d.rows, d.cols, status ? status : "");
            continue;
        }
        // The multi-row modes: a header row from the schema, then one row per item.
        const std::vector<std::string>* header = e.header(mode);
        if (!header) {
            continue;
        }
        CHECK(d.cols == static_cast<int32_t>(header->size()), "Mode %s: %d columns, want %zu", mode, d.cols,
              header->size());
        for (size_t c = 0; c < header->size(); ++c) {
            CHECK(cell(0, static_cast<int>(c)) == (*header)[c], "Mode %s: column %zu is '%s', want '%s'", mode, c,
                  cell(0, static_cast<int>(c)).c_str(), (*header)[c].c_str());
        }
        auto col = [&](const char* name) {
            const int c = d.col(name);
            CHECK(c >= 0, "Mode %s has no column '%s'", mode, name);
            return c;
        };
        auto check_track = [&](int r, int index) {
            const Track* tr = e.track(seed, index);
            if (!tr) {
                fail("Mode %s row %d: track %d is past the expectations", mode, r, index);
                return;
            }
            CHECK(cell(r, col("name")) == tr->name && cell(r, col("artists")) == tr->artists &&
                      cell(r, col("album")) == tr->album && cell(r, col("uri")) == tr->uri &&
                      cell(r, col("track_id")) == tr->id &&
                      cell(r, col("duration_ms")) == std::to_string(tr->duration_ms),
                  "Mode %s row %d: '%s' by '%s' (%s), want track %d '%s'", mode, r, cell(r, col("name")).c_str(),
                  cell(r, col("artists")).c_str(), cell(r, col("uri")).c_str(), index, tr->name.c_str());
        };
        const int items = d.rows - 1;
        std::string listing;
        for (int r = 1; r < d.rows && r <= 3; ++r) {
            listing += (r > 1 ? ", " : "") + cell(r, d.col("name"));
        }
        note("Mode %s: %d rows x %d columns (%s%s)", mode, d.rows, d.cols, listing.c_str(), items > 3 ? ", ..." : "");
        if (strcmp(mode, "queue") == 0) {
            CHECK(items >= 3, "Mode queue: %d item(s), want the next tracks", items);
            for (int r = 1; r < d.rows; ++r) {
                CHECK(cell(r, col("position")) == std::to_string(r), "Mode queue row %d: position '%s'", r,
                      cell(r, col("position")).c_str());
                CHECK(cell(r, col("type")) == "track", "Mode queue row %d: type '%s'", r, cell(r, col("type")).c_str());
                if (static_cast<size_t>(r) <= upcoming.size()) {
                    check_track(r, upcoming[static_cast<size_t>(r) - 1]);
                } else {
                    fail("Mode queue row %d: the schedule has only %zu later track(s)", r, upcoming.size());
                }
            }
        } else if (strcmp(mode, "recent") == 0) {
            CHECK(items >= 1 && static_cast<size_t>(items) <= earlier.size(),
                  "Mode recent: %d item(s), the schedule played %zu before", items, earlier.size());
            for (int r = 1; r < d.rows && static_cast<size_t>(r) <= earlier.size(); ++r) {
                check_track(r, earlier[static_cast<size_t>(r) - 1]);
            }
        } else if (strcmp(mode, "palette") == 0) {
            // Five swatches of the simulated cover, largest share first, hex matching r, g, b.
            CHECK(items == 5, "Mode palette: %d swatch(es), want 5", items);
            double total = 0, last = 2;
            for (int r = 1; r < d.rows; ++r) {
                const double share = atof(cell(r, col("share")).c_str());
                CHECK(cell(r, col("rank")) == std::to_string(r), "Mode palette row %d: rank '%s'", r,
                      cell(r, col("rank")).c_str());
                CHECK(share <= last, "Mode palette row %d: share %f after %f", r, share, last);
                last = share;
                total += share;
                char hex[8];
                snprintf(hex, sizeof hex, "#%02x%02x%02x", static_cast<int>(atof(cell(r, col("r")).c_str()) * 255 + 0.5),
                         static_cast<int>(atof(cell(r, col("g")).c_str()) * 255 + 0.5),
                         static_cast<int>(atof(cell(r, col("b")).c_str()) * 255 + 0.5));
                CHECK(cell(r, col("hex")) == hex, "Mode palette row %d: hex '%s', r g b say %s", r,
                      cell(r, col("hex")).c_str(), hex);
            }
            CHECK(total > 0.999 && total < 1.001, "Mode palette: shares add up to %f, want 1", total);
        } else if (strcmp(mode, "visitors") == 0) {
            // Jukebox is off: the header alone.
            CHECK(items == 0, "Mode visitors: %d row(s) with Jukebox off", items);
        } else {
            CHECK(items >= 1, "Mode devices: no device");
            bool playing_device = false;
            for (int r = 1; r < d.rows; ++r) {
                CHECK(!cell(r, col("name")).empty(), "Mode devices row %d has no name", r);
                playing_device |= cell(r, col("name")) == device && cell(r, col("is_active")) == "1";
            }
            CHECK(playing_device, "Mode devices: no active device named '%s' (the now-playing device)",
                  device.c_str());
        }
    }
    CHECK(w.dat_inputs.set_string("Mode", "nowplaying"), "cannot set Mode back");
    cook_both(w);
}

void run_messages_and_pulses(World& w) {
    const Tables& t = w.tables;
    const Expectations& e = *w.exp;
    note("--- pulses, messages and the Active toggle");
    const int c_count = t.channel("track_count"), c_status = t.channel("status");
    const float before = w.chop_run->value(c_count);
    w.chop->pulsePressed("Resetcounters", nullptr);
    w.chop->pulsePressed("Nosuchpulse", nullptr);
    const bool reset = cook_until(w, [&] { return w.chop_run->value(c_count) == 0; });
    CHECK(reset, "Resetcounters did not reset track_count (%g before, %g after)", before, w.chop_run->value(c_count));
    note("Resetcounters: track_count %g -> %g", before, w.chop_run->value(c_count));

    // The info CHOP and DAT follow the library's table.
    const InfoOutputs& info = w.chop_run->info;
    CHECK(info.chans == static_cast<int32_t>(t.infos.size()), "%d info channels, want %zu", info.chans, t.infos.size());
    CHECK(info.dat && info.dat_size.rows == static_cast<int32_t>(t.infos.size()), "info DAT has %d rows",
          info.dat_size.rows);
    std::string infos;
    for (int32_t i = 0; i < info.chans && i < static_cast<int32_t>(t.infos.size()); ++i) {
        CHECK(t.infos[i] == info.chan_names[i].c_str(), "info channel %d is '%s'", i, info.chan_names[i].c_str());
        CHECK(t.infos[i] == info.dat_cells[i][0].c_str(), "info DAT row %d is '%s'", i, info.dat_cells[i][0].c_str());
        CHECK(!info.dat_cells[i][1].empty(), "info DAT row %d has no value", i);
        infos += std::string(i ? ", " : "") + info.chan_names[i].c_str() + "=" + info.dat_cells[i][1].c_str();
    }
    note("info: %s", infos.c_str());
    CHECK(!info.popup.empty(), "the info popup is empty");

    // Messages come and go with their cause. Spotify without a client id cannot work: red.
    char tokens[] = "/tmp/td-spotify-host-tokens-XXXXXX";  // an empty token cache: no saved login
    CHECK(mkdtemp(tokens) != nullptr, "cannot make a temporary folder");
    w.set_all("Tokencache", tokens);
    w.set_all("Clientid", "");
    w.set_all("Source", "Spotify");
    auto red = [&] { return !w.chop_run->info.error.empty() && !w.dat_run->info.error.empty(); };
    CHECK(cook_until(w, red), "Source Spotify without a Clientid: no error (CHOP '%s', DAT '%s'; warning '%s')",
          w.chop_run->info.error.c_str(), w.dat_run->info.error.c_str(), w.chop_run->info.warning.c_str());
    CHECK(strstr(w.chop_run->info.error.c_str(), "Clientid") != nullptr,
          "the missing client id error does not name the Clientid parameter: '%s'", w.chop_run->info.error.c_str());
    CHECK(w.chop_run->value(c_status) == e.code("Error"), "no Clientid: status %g", w.chop_run->value(c_status));
    note("Source Spotify, no Clientid: error '%s'", w.chop_run->info.error.c_str());

    // With a client id but no saved login, the error goes and a warning asks for a login.
    w.set_all("Clientid", "hostwarnclient");
    auto yellow = [&] {
        return w.chop_run->info.error.empty() && w.dat_run->info.error.empty() && !w.chop_run->info.warning.empty() &&
               !w.dat_run->info.warning.empty();
    };
    CHECK(cook_until(w, yellow), "Clientid set: error '%s', warning '%s'", w.chop_run->info.error.c_str(),
          w.chop_run->info.warning.c_str());
    CHECK(strstr(w.chop_run->info.warning.c_str(), "Login") != nullptr, "the login warning does not say Login: '%s'",
          w.chop_run->info.warning.c_str());
    CHECK(w.chop_run->value(c_status) == e.code("LoginRequired"), "no login: status %g",
          w.chop_run->value(c_status));
    const char* auth = w.dat_out->value("auth_state");
    CHECK(auth && strcmp(auth, "logged out") == 0, "no login: auth_state '%s'", auth ? auth : "(missing)");
    note("Source Spotify, Clientid set: warning '%s'", w.chop_run->info.warning.c_str());

    // Clearing the client id brings the error back.
    w.set_all("Clientid", "");
    CHECK(cook_until(w, red), "Clientid cleared: no error again (warning '%s')", w.chop_run->info.warning.c_str());

    w.set_all("Active", 0.0);
    w.chop_run->cook();
    w.dat_run->cook();
    CHECK(w.chop_run->value(c_status) == e.code("Inactive"), "inactive CHOP has status %g",
          w.chop_run->value(c_status));
    for (size_t c = 0; c < t.channels.size(); ++c) {
        CHECK(w.chop_run->value(static_cast<int>(c)) == 0, "inactive CHOP channel %s is %g", t.channels[c].c_str(),
              w.chop_run->value(static_cast<int>(c)));
    }
    CHECK(w.chop_run->info.error.sets == 0 && w.chop_run->info.warning.sets == 0,
          "inactive CHOP still shows '%s%s'", w.chop_run->info.error.c_str(), w.chop_run->info.warning.c_str());
    const char* status = w.dat_out->value("status");
    CHECK(status && e.text("Inactive") == status, "inactive DAT status '%s'", status ? status : "(missing)");
    CHECK(rmdir(tokens) == 0, "the empty token cache %s is no longer empty (or gone)", tokens);

    // A pulse the operator cannot act on leaves a note, which clears by itself: cook sparsely
    // until it does, and bracket the moment with the time around the press.
    const int64_t note_ns = e.pulse_note_ms * 1000000;
    const int64_t pressed_from = now_ns();
    w.chop->pulsePressed("Next", nullptr);
    const int64_t pressed_to = now_ns();
    cook_both(w);
    const std::string pulse_note = w.chop_run->info.warning.c_str();
    CHECK(!pulse_note.empty(), "Next while Active is off: no warning");
    CHECK(w.dat_run->info.warning.empty(), "the DAT shows the CHOP's pulse note: '%s'", w.dat_run->info.warning.c_str());
    int64_t last_seen = pressed_to, cleared = -1;
    while (cleared < 0 && now_ns() < pressed_from + note_ns + 3000000000LL) {
        sleep_ms(note_ns - (now_ns() - pressed_from) > 600000000LL ? 500 : 50);
        const int64_t before_cook = now_ns();
        cook_both(w);
        if (w.chop_run->info.warning.empty()) {
            cleared = now_ns();
        } else {
            last_seen = before_cook;
            CHECK(pulse_note == w.chop_run->info.warning.c_str(), "the pulse note changed to '%s'",
                  w.chop_run->info.warning.c_str());
        }
    }
    CHECK(cleared > 0, "the pulse note '%s' never cleared", pulse_note.c_str());
    CHECK(cleared < 0 || cleared >= pressed_from + note_ns, "the pulse note cleared after %.2f s, want %.2f s",
          (cleared - pressed_from) * 1e-9, note_ns * 1e-9);
    CHECK(last_seen < pressed_to + note_ns, "the pulse note still showed %.2f s after the press, want %.2f s",
          (last_seen - pressed_to) * 1e-9, note_ns * 1e-9);
    CHECK(w.chop_run->info.error.empty() && w.chop_run->value(c_status) == e.code("Inactive"),
          "after the note: error '%s', status %g", w.chop_run->info.error.c_str(), w.chop_run->value(c_status));
    note("Next while inactive: warning '%s', shown for %.2f s (cleared by %.2f s; documented %.2f s)",
         pulse_note.c_str(), (last_seen - pressed_from) * 1e-9, (cleared - pressed_from) * 1e-9, note_ns * 1e-9);
}

void create_pair(World& w, Plugin& p) {
    w.chop_node.opPath = "/project1/spotify1";
    w.chop_node.opId = 1;
    w.chop_node.pluginPath = "libtd_spotify.so";
    w.dat_node = w.chop_node;
    w.dat_node.opPath = "/project1/spotify_dat1";
    w.dat_node.opId = 2;
    w.chop = p.create_chop(&w.chop_node);
    w.dat = p.create_dat(&w.dat_node);
    w.chop_run->op = w.chop;
    w.chop_run->inputs = &w.chop_inputs;
    w.dat_run->op = w.dat;
    w.dat_run->inputs = &w.dat_inputs;
    w.dat_run->out = w.dat_out.get();
}

// Create, set up, cook and destroy, as TD does when a node is added and deleted.
void quick_cycle(Plugin& p, long seed) {
    World w;
    create_pair(w, p);
    if (!w.chop || !w.dat) {
        fail("create returned null");
        return;
    }
    HostParameters cp, dp;
    w.chop->setupParameters(&cp, nullptr);
    w.dat->setupParameters(&dp, nullptr);
    w.chop_inputs.define(cp);
    w.dat_inputs.define(dp);
    w.set_all("Simseed", static_cast<double>(seed));
    w.set_all("Simspeed", 10.0);
    w.chop_run->cook();
    w.dat_run->cook();
    w.chop_run->cook();
    p.destroy_chop(w.chop);
    p.destroy_dat(w.dat);
}

int run_check(const char* lib, const char* exp_path) {
    std::vector<std::string> slot_failures;
    const int slots = check_vtable_slots(slot_failures);
    for (const std::string& s : slot_failures) {
        fail("%s", s.c_str());
    }
    note("vtable: %d method slots checked against the facts sheet", slots);

    Expectations exp;
    if (!exp.load(exp_path) || exp.phases.empty() || exp.transport_seed < 0 || exp.pulse_note_ms <= 0) {
        fail("cannot read expectations %s (phases, transport seed, pulse note time)", exp_path);
        return 1;
    }
    const int threads0 = thread_count(), fds0 = fd_count();
    Plugin p;
    std::string err;
    if (!p.open(lib, err)) {
        fail("%s", err.c_str());
        return 1;
    }
    check_plugin_info(p, true);

    {
        World w;
        w.plugin = &p;
        w.exp = &exp;
        w.tables.read(p);
        std::string names;
        for (const std::string& c : w.tables.channels) {
            names += (names.empty() ? "" : " ") + c;
        }
        note("%zu channels: %s", w.tables.channels.size(), names.c_str());
        for (const char* spec : {"connected", "playing", "position", "duration", "progress", "remaining",
                                 "track_changed", "track_count", "tempo", "beat_phase", "bar_phase", "energy",
                                 "valence", "status", "queue_length", "turn_remaining", "turn_index"}) {
            w.tables.channel(spec);
        }
        for (const char* spec : {"status", "name", "artists", "album", "album_art_url", "track_id", "uri",
                                 "duration_ms", "progress_ms", "timestamp", "is_playing", "device", "source"}) {
            CHECK(std::find(w.tables.rows.begin(), w.tables.rows.end(), spec) != w.tables.rows.end(),
                  "the library has no row '%s'", spec);
        }

        create_pair(w, p);
        if (!w.chop || !w.dat) {
            fail("Create*Instance returned null");
            return 1;
        }
        HostParameters chop_page, dat_page;
        w.chop->setupParameters(&chop_page, nullptr);
        w.dat->setupParameters(&dat_page, nullptr);
        setup_and_check_parameters("CHOP", TDS_FAMILY_CHOP, w.tables, chop_page, w.chop_inputs);
        setup_and_check_parameters("DAT", TDS_FAMILY_DAT, w.tables, dat_page, w.dat_inputs);
        check_promised_parameters("CHOP", TDS_FAMILY_CHOP, chop_page);
        check_promised_parameters("DAT", TDS_FAMILY_DAT, dat_page);
        check_host_refuses_bad_names();

        w.audio_l.assign(735, 0.25f);
        w.audio_r.assign(735, -0.25f);
        w.audio_ptrs[0] = w.audio_l.data();
        w.audio_ptrs[1] = w.audio_r.data();
        w.audio.opPath = "/project1/audiodevin1";
        w.audio.numChannels = 2;
        w.audio.numSamples = 735;
        w.audio.sampleRate = 44100;
        w.audio.channelData = w.audio_ptrs;
        w.audio.nameData = w.audio_names;

        w.c_changed = w.tables.channel("track_changed");
        for (const Phase& ph : exp.phases) {
            run_phase(w, ph);
        }
        run_transport(w);
        run_modes(w);
        run_messages_and_pulses(w);
        for (HostInputs* in : {&w.chop_inputs, &w.dat_inputs}) {
            CHECK(in->unknown_lookups == 0, "the plugin asked for %d unknown parameter(s)", in->unknown_lookups);
            CHECK(in->wrong_kind_lookups == 0, "the plugin read %d parameter(s) with the wrong getter",
                  in->wrong_kind_lookups);
            CHECK(in->other_calls == 0, "the plugin made %d unexpected OP_Inputs call(s)", in->other_calls);
        }
        p.destroy_chop(w.chop);
        p.destroy_dat(w.dat);
    }
    settle(threads0, fd_count());
    CHECK(thread_count() == threads0, "%d threads after the operators were destroyed, %d before",
          thread_count(), threads0);

    note("--- 100 create/destroy cycles");
    const int threads1 = thread_count(), fds1 = fd_count();
    for (int i = 0; i < 100; ++i) {
        quick_cycle(p, 500 + i % 7);
    }
    settle(threads1, fds1);
    note("threads %d -> %d, open fds %d -> %d", threads1, thread_count(), fds1, fd_count());
    CHECK(thread_count() == threads1, "threads grew from %d to %d", threads1, thread_count());
    CHECK(fd_count() == fds1, "open fds grew from %d to %d", fds1, fd_count());
    p.close();

    note("--- 20 dlopen/dlclose cycles");
    int unloaded = 0;
    for (int i = 0; i < 20; ++i) {
        Plugin q;
        if (!q.open(lib, err)) {
            fail("cycle %d: %s", i, err.c_str());
            break;
        }
        Tables fresh;
        fresh.read(q);
        check_plugin_info(q, false);
        quick_cycle(q, 42);
        settle(threads0, fds0);  // "Unload Plugin" comes after the engines have stopped.
        q.close();
        void* still = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
        if (still) {
            dlclose(still);
        } else {
            ++unloaded;
        }
    }
    note("threads %d -> %d, open fds %d -> %d; the library was unmapped by %d of 20 dlclose calls", threads0,
         thread_count(), fds0, fd_count(), unloaded);
    CHECK(unloaded == 20, "the library stayed mapped after %d of 20 dlclose calls", 20 - unloaded);
    CHECK(thread_count() == threads0, "threads grew from %d to %d over load/unload", threads0, thread_count());
    CHECK(fd_count() == fds0, "open fds grew from %d to %d over load/unload", fds0, fd_count());

    if (!g_failures.empty()) {
        fprintf(stderr, "%zu check(s) failed\n", g_failures.size());
        return 1;
    }
    note("all checks passed");
    return 0;
}

// ---------------------------------------------------------------------------------------------
// Operators of one Spotify account (tests/plugin.rs serves the Web API and saves the login)

// One operator of the Spotify run, with what TD would own for it.
struct SpotifyOp {
    std::string path;
    OP_NodeInfo node{};
    HostParameters page;
    HostInputs inputs;
    std::unique_ptr<ChopRunner> chop;
    std::unique_ptr<DatRunner> dat;
    std::unique_ptr<HostDatOutput> dat_out;
};

int run_spotify(const char* lib, const char* exp_path, int chops) {
    Expectations exp;
    if (!exp.load(exp_path) || !exp.spotify.set) {
        fail("cannot read the Spotify expectations %s", exp_path);
        return 1;
    }
    const SpotifyRun& sp = exp.spotify;
    const int threads0 = thread_count();
    Plugin p;
    std::string err;
    if (!p.open(lib, err)) {
        fail("%s", err.c_str());
        return 1;
    }
    Tables t;
    t.read(p);
    const bool with_dat = chops > 1;
    note("--- %d Spotify CHOP(s)%s for client id %s, %.1f s", chops, with_dat ? " and a DAT" : "",
         sp.client_id.c_str(), sp.seconds);

    std::vector<std::unique_ptr<SpotifyOp>> ops;
    for (int i = 0; i < chops + (with_dat ? 1 : 0); ++i) {
        std::unique_ptr<SpotifyOp> op(new SpotifyOp());
        const bool dat = i == chops;
        op->path = dat ? "/project1/spotify_dat1" : "/project1/spotify" + std::to_string(i + 1);
        op->node.opPath = op->path.c_str();
        op->node.opId = static_cast<uint32_t>(i + 1);
        op->node.pluginPath = lib;
        if (dat) {
            op->dat.reset(new DatRunner());
            op->dat_out.reset(new HostDatOutput());
            op->dat->op = p.create_dat(&op->node);
            op->dat->inputs = &op->inputs;
            op->dat->out = op->dat_out.get();
            if (op->dat->op) {
                op->dat->op->setupParameters(&op->page, nullptr);
            }
        } else {
            op->chop.reset(new ChopRunner());
            op->chop->op = p.create_chop(&op->node);
            op->chop->inputs = &op->inputs;
            if (op->chop->op) {
                op->chop->op->setupParameters(&op->page, nullptr);
            }
        }
        if ((op->chop && !op->chop->op) || (op->dat && !op->dat->op)) {
            fail("%s: create returned null", op->path.c_str());
            return 1;
        }
        op->inputs.define(op->page);
        CHECK(op->inputs.set_string("Source", "Spotify") && op->inputs.set_string("Clientid", sp.client_id.c_str()) &&
                  op->inputs.set_string("Tokencache", sp.token_dir.c_str()) &&
                  op->inputs.set_number("Pollinterval", 0.5),
              "%s: cannot set the Spotify parameters", op->path.c_str());
        ops.push_back(std::move(op));
    }

    const int c_playing = t.channel("playing"), c_duration = t.channel("duration"),
              c_position = t.channel("position"), c_connected = t.channel("connected"),
              c_status = t.channel("status");
    const int i_threads = t.info("engine_threads"), i_requests = t.info("requests");
    const int frames = static_cast<int>(sp.seconds * 60);
    const int64_t period = 1000000000 / 60;
    const int64_t t0 = now_ns();
    int first_all_playing = -1;
    uint64_t allocs = 0, frees = 0;
    for (int k = 0; k < frames; ++k) {
        sleep_until_ns(t0 + period * k);
        bool all_playing = true;
        for (auto& op : ops) {
            if (op->chop) {
                // The first cook applies the parameters and finds (or starts) the engine.
                if (k > 0) {
                    alloc_count_begin();
                }
                op->chop->cook();
                if (k > 0) {
                    const AllocCounts a = alloc_count_end();
                    allocs += a.allocs;
                    frees += a.frees;
                }
                all_playing &= op->chop->value(c_playing) == 1 &&
                               std::fabs(op->chop->value(c_duration) - sp.duration_ms / 1000.0) < 2e-3;
                CHECK(op->chop->problems == 0 && op->chop->info.problems == 0, "%s: output out of bounds",
                      op->path.c_str());
            } else {
                op->dat->cook();
                const char* name = op->dat_out->value("name");
                all_playing &= name && sp.name == name;
            }
        }
        if (all_playing && first_all_playing < 0) {
            first_all_playing = k;
        }
    }
    CHECK(allocs == 0 && frees == 0, "Spotify CHOP cooks made %llu allocations, %llu frees",
          static_cast<unsigned long long>(allocs), static_cast<unsigned long long>(frees));
    CHECK(first_all_playing >= 0, "the operators never all showed '%s' playing", sp.name.c_str());

    // The last frame: every operator shows the one engine's view.
    const ChopRunner& lead = *ops.front()->chop;
    const float lead_requests = lead.info.chan_values[i_requests];
    for (auto& op : ops) {
        const InfoOutputs& info = op->chop ? op->chop->info : op->dat->info;
        const char* who = op->path.c_str();
        CHECK(info.error.empty() && info.warning.empty(), "%s shows '%s%s'", who, info.error.c_str(),
              info.warning.c_str());
        CHECK(info.chan_values[i_threads] == 1, "%s: engine_threads is %g, want 1", who, info.chan_values[i_threads]);
        CHECK(std::fabs(info.chan_values[i_requests] - lead_requests) <= 1, "%s: requests %g, the first CHOP says %g",
              who, info.chan_values[i_requests], lead_requests);
        if (op->chop) {
            const ChopRunner& c = *op->chop;
            CHECK(c.value(c_playing) == 1 && c.value(c_connected) == 1 && c.value(c_status) == exp.code("Playing"),
                  "%s: playing %g, connected %g, status %g", who, c.value(c_playing), c.value(c_connected),
                  c.value(c_status));
            CHECK(std::fabs(c.value(c_duration) - sp.duration_ms / 1000.0) < 2e-3, "%s: duration %g, want %g", who,
                  c.value(c_duration), sp.duration_ms / 1000.0);
            // Cooked microseconds apart from one snapshot: the same position, give or take.
            CHECK(std::fabs(c.value(c_position) - lead.value(c_position)) < 0.05f, "%s: position %g, the first says %g",
                  who, c.value(c_position), lead.value(c_position));
        } else {
            const HostDatOutput& d = *op->dat_out;
            auto val = [&d](const char* f) { return std::string(d.value(f) ? d.value(f) : "(missing)"); };
            CHECK(val("name") == sp.name && val("uri") == sp.uri && val("is_playing") == "1",
                  "%s: '%s' (%s), is_playing %s; want '%s' (%s) playing", who, val("name").c_str(), val("uri").c_str(),
                  val("is_playing").c_str(), sp.name.c_str(), sp.uri.c_str());
            CHECK(val("source") == "spotify" && val("auth_state") == "logged in" && val("user") == sp.user,
                  "%s: source '%s', auth_state '%s', user '%s'", who, val("source").c_str(), val("auth_state").c_str(),
                  val("user").c_str());
            CHECK(val("status") == exp.text("Playing"), "%s: status '%s'", who, val("status").c_str());
        }
        for (HostInputs* in : {&op->inputs}) {
            CHECK(in->unknown_lookups == 0 && in->wrong_kind_lookups == 0 && in->other_calls == 0,
                  "%s: %d unknown, %d wrong-kind, %d other OP_Inputs call(s)", who, in->unknown_lookups,
                  in->wrong_kind_lookups, in->other_calls);
        }
    }
    note("all %zu operators showed '%s' playing after %.2f s; engine_threads %g; the engine made %g request(s)",
         ops.size(), sp.name.c_str(), first_all_playing / 60.0, lead.info.chan_values[i_threads], lead_requests);

    const int threads_running = thread_count();
    for (auto& op : ops) {
        if (op->chop) {
            p.destroy_chop(op->chop->op);
        } else {
            p.destroy_dat(op->dat->op);
        }
    }
    ops.clear();
    note("threads: %d before, %d while cooking, %d after the operators were destroyed", threads0, threads_running,
         thread_count());
    CHECK(thread_count() == threads0, "%d threads after the operators were destroyed, %d before", thread_count(),
          threads0);
    p.close();
    if (!g_failures.empty()) {
        fprintf(stderr, "%zu check(s) failed\n", g_failures.size());
        return 1;
    }
    note("all checks passed");
    return 0;
}

// ---------------------------------------------------------------------------------------------
// The benchmark

struct Timing {
    std::vector<int64_t> ns;
    uint64_t allocs = 0, frees = 0;

    void print(const char* what) {
        std::sort(ns.begin(), ns.end());
        const size_t n = ns.size();
        double mean = 0;
        for (int64_t v : ns) {
            mean += static_cast<double>(v);
        }
        mean /= static_cast<double>(n);
        printf("%-16s median %6lld ns   p99 %7lld ns   mean %7.0f ns   max %8lld ns   "
               "allocations/cook %.3f (frees %.3f)\n",
               what, static_cast<long long>(ns[n / 2]), static_cast<long long>(ns[n * 99 / 100]), mean,
               static_cast<long long>(ns[n - 1]), static_cast<double>(allocs) / n, static_cast<double>(frees) / n);
    }
};

template <typename F>
Timing measure(int iterations, F&& cook) {
    Timing t;
    t.ns.reserve(static_cast<size_t>(iterations));
    for (int i = 0; i < iterations; ++i) {
        alloc_count_begin();
        const int64_t ns = cook();
        const AllocCounts a = alloc_count_end();
        t.allocs += a.allocs;
        t.frees += a.frees;
        t.ns.push_back(ns);
    }
    return t;
}

int run_bench(const char* lib, int iterations) {
    Plugin p;
    std::string err;
    if (!p.open(lib, err)) {
        fprintf(stderr, "%s\n", err.c_str());
        return 1;
    }
    // The counter must see the plugin's allocations, or "0 allocations" would mean nothing.
    alloc_count_begin();
    TdsInstance* probe = p.instance_new(TDS_FAMILY_CHOP);
    p.instance_free(probe);
    const AllocCounts probe_counts = alloc_count_end();
    if (probe_counts.allocs == 0) {
        fprintf(stderr, "the allocation counter does not see the plugin's allocations\n");
        return 1;
    }

    World w;
    w.plugin = &p;
    w.tables.read(p);
    create_pair(w, p);
    HostParameters cp, dp;
    w.chop->setupParameters(&cp, nullptr);
    w.dat->setupParameters(&dp, nullptr);
    w.chop_inputs.define(cp);
    w.dat_inputs.define(dp);

    // One warm-up cook starts the engine (default parameters: the simulator at real time).
    w.chop_run->cook();
    w.dat_run->cook();
    sleep_ms(200);  // let the engine publish its first playing snapshot

    ChopRunner& chop = *w.chop_run;
    DatRunner& dat = *w.dat_run;
    printf("td-spotify cook benchmark: %d executes each after one warm-up cook\n", iterations);
    printf("plugin: %s\n", lib);
    Timing chop_exec = measure(iterations, [&] {
        chop.execute();
        return chop.exec_end - chop.exec_begin;
    });
    Timing chop_full = measure(iterations, [&] {
        const int64_t t0 = now_ns();
        chop.cook();
        return now_ns() - t0;
    });
    Timing dat_exec = measure(iterations, [&] {
        dat.execute();
        return dat.exec_end - dat.exec_begin;
    });
    chop_exec.print("CHOP execute");
    chop_full.print("CHOP whole cook");
    dat_exec.print("DAT execute");
    const bool playing = chop.value(w.tables.channel("playing")) == 1.0f;
    printf("(simulator playing during the run: %s; whole cook = TD's call order incl. names, info, messages)\n",
           playing ? "yes" : "no");
    std::sort(chop_exec.ns.begin(), chop_exec.ns.end());
    const int64_t median = chop_exec.ns[chop_exec.ns.size() / 2];
    printf("target: CHOP execute median <= 250 ns: %s (%lld ns); 0 allocations per cook: %s\n",
           median <= 250 ? "met" : "MISSED", static_cast<long long>(median),
           chop_exec.allocs == 0 && chop_exec.frees == 0 ? "met" : "MISSED");

    p.destroy_chop(w.chop);
    p.destroy_dat(w.dat);
    p.close();
    const bool no_allocs = chop_exec.allocs == 0 && chop_exec.frees == 0 && chop_full.allocs == 0 &&
                           dat_exec.allocs == 0;
    return no_allocs ? 0 : 1;
}


// ---------------------------------------------------------------------------------------------
// Lifecycle while the network hangs (tests/plugin.rs serves a Web API that never answers)

// A logged-in Spotify CHOP whose Web API hangs: cooked for a while, ten Next pulses queued.
struct HangingOp {
    OP_NodeInfo node{};
    HostParameters page;
    HostInputs inputs;
    ChopRunner chop;
};

std::unique_ptr<HangingOp> hanging_op(Plugin& p, const SpotifyRun& sp, const char* lib, int port) {
    std::unique_ptr<HangingOp> op(new HangingOp());
    op->node.opPath = "/project1/spotify_hang";
    op->node.opId = 77;
    op->node.pluginPath = lib;
    op->chop.op = p.create_chop(&op->node);
    op->chop.inputs = &op->inputs;
    if (!op->chop.op) {
        fail("create returned null");
        return nullptr;
    }
    op->chop.op->setupParameters(&op->page, nullptr);
    op->inputs.define(op->page);
    CHECK(op->inputs.set_string("Source", "Spotify") && op->inputs.set_string("Clientid", sp.client_id.c_str()) &&
              op->inputs.set_string("Tokencache", sp.token_dir.c_str()) &&
              op->inputs.set_number("Pollinterval", 0.5) && op->inputs.set_number("Port", port),
          "cannot set the Spotify parameters");
    return op;
}

// Cooks for a second, so the engine has loaded the saved login and its first player request is
// in flight (and hangs: tests/plugin.rs checks the server saw it), then presses Next ten times.
void hang_and_press(HangingOp& op, const Tables& t) {
    const int c_connected = t.channel("connected");
    for (int k = 0; k < 60; ++k) {
        op.chop.cook();
        sleep_ms(16);
    }
    CHECK(op.chop.value(c_connected) == 0, "connected %g although the Web API never answered",
          op.chop.value(c_connected));
    for (int i = 0; i < 10; ++i) {
        op.chop.op->pulsePressed("Next", nullptr);
    }
    op.chop.cook();
    sleep_ms(50);
    op.chop.cook();
}

double ms_since(int64_t t0) { return (now_ns() - t0) / 1e6; }

int run_lifecycle(const char* lib, const char* exp_path, int port) {
    Expectations exp;
    if (!exp.load(exp_path) || !exp.spotify.set) {
        fail("cannot read the Spotify expectations %s", exp_path);
        return 1;
    }
    const SpotifyRun& sp = exp.spotify;
    const int threads0 = thread_count(), fds0 = fd_count();
    const double bound_ms = 5.0;
    Plugin p;
    std::string err;
    if (!p.open(lib, err)) {
        fail("%s", err.c_str());
        return 1;
    }
    Tables t;
    t.read(p);

    note("--- destroy a logged-in CHOP while the Web API hangs, ten Next pulses queued");
    for (int round = 0; round < 3; ++round) {
        std::unique_ptr<HangingOp> op = hanging_op(p, sp, lib, port);
        if (!op) {
            return 1;
        }
        hang_and_press(*op, t);
        const int64_t t0 = now_ns();
        p.destroy_chop(op->chop.op);
        const double took = ms_since(t0);
        note("DestroyCHOPInstance returned in %.3f ms", took);
        CHECK(took < bound_ms, "DestroyCHOPInstance took %.3f ms while the network hangs", took);
        settle(threads0, fds0);
    }

    note("--- Active off, then a new Client ID, while the Web API hangs");
    {
        std::unique_ptr<HangingOp> op = hanging_op(p, sp, lib, port);
        if (!op) {
            return 1;
        }
        hang_and_press(*op, t);
        op->inputs.set_number("Active", 0);
        int64_t t0 = now_ns();
        op->chop.cook();
        double took = ms_since(t0);
        note("the cook that turned Active off took %.3f ms", took);
        CHECK(took < bound_ms, "turning Active off took %.3f ms while the network hangs", took);

        op->inputs.set_number("Active", 1);
        hang_and_press(*op, t);
        op->inputs.set_string("Clientid", "anotherclient");
        t0 = now_ns();
        op->chop.cook();
        took = ms_since(t0);
        note("the cook that changed Client ID took %.3f ms", took);
        CHECK(took < bound_ms, "changing Client ID took %.3f ms while the network hangs", took);

        note("--- destroy while a login is under way");
        op->chop.op->pulsePressed("Login", nullptr);
        for (int k = 0; k < 10; ++k) {
            op->chop.cook();
            sleep_ms(16);
        }
        t0 = now_ns();
        p.destroy_chop(op->chop.op);
        took = ms_since(t0);
        note("DestroyCHOPInstance during a login returned in %.3f ms", took);
        CHECK(took < bound_ms, "DestroyCHOPInstance during a login took %.3f ms", took);
    }

    settle(threads0, fds0);
    note("threads %d -> %d, open fds %d -> %d", threads0, thread_count(), fds0, fd_count());
    CHECK(thread_count() == threads0, "%d threads after every operator was destroyed, %d before", thread_count(),
          threads0);
    CHECK(fd_count() == fds0, "%d open fds after every operator was destroyed, %d before", fd_count(), fds0);
    p.close();
    void* still = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
    if (still) {
        dlclose(still);
    }
    CHECK(!still, "the library stayed mapped after dlclose");
    if (!g_failures.empty()) {
        fprintf(stderr, "%zu check(s) failed\n", g_failures.size());
        return 1;
    }
    note("all checks passed");
    return 0;
}

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
        void* still = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
        if (still) {
            dlclose(still);
        } else {
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
    if (!g_failures.empty()) {
        fprintf(stderr, "%zu check(s) failed\n", g_failures.size());
        return 1;
    }
    note("all checks passed");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    if (argc == 4 && strcmp(argv[1], "check") == 0) {
        return run_check(argv[2], argv[3]);
    }
    if (argc == 5 && strcmp(argv[1], "spotify") == 0) {
        return run_spotify(argv[2], argv[3], atoi(argv[4]) > 0 ? atoi(argv[4]) : 1);
    }
    if (argc >= 2 && strcmp(argv[1], "count") == 0) {
        return host::run_count(argc, argv);
    }
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "bench") == 0) {
        const int iterations = argc == 4 ? atoi(argv[3]) : 10000;
        return run_bench(argv[2], iterations > 0 ? iterations : 10000);
    }
    if (argc == 5 && strcmp(argv[1], "lifecycle") == 0) {
        return run_lifecycle(argv[2], argv[3], atoi(argv[4]));
    }
    if (argc == 5 && strcmp(argv[1], "cycles") == 0) {
        return run_cycles(argv[2], atoi(argv[3]), atoi(argv[4]));
    }
    fprintf(stderr,
            "usage: %s check <plugin> <expectations.tsv>\n"
            "       %s spotify <plugin> <expectations.tsv> <chops>\n"
            "       %s bench <plugin> [executes]\n"
            "       %s lifecycle <plugin> <expectations.tsv> <port>\n"
            "       %s cycles <plugin> <create/destroy cycles> <load/unload cycles>\n",
            argv[0], argv[0], argv[0], argv[0], argv[0]);
    return 2;
}
