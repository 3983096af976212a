// world.h: the checking host's shared state: the library's own tables (the ground truth), the
// two operators it cooks, and the scenarios each file of the host runs.
#ifndef TDS_HOST_WORLD_H
#define TDS_HOST_WORLD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "alloc_count.h"
#include "expectations.h"
#include "report.h"
#include "td_host.h"

namespace host {

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

inline const char* kind_name(TdsParamKind k) {
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

// Cooks both operators once, counting a `track_changed` pulse.
inline void cook_both(World& w) {
    w.chop_run->cook();
    w.dat_run->cook();
    if (w.c_changed >= 0 && w.chop_run->value(w.c_changed) == 1.0f) {
        ++w.track_changes;
    }
}

// Cooks both operators at about 60 fps until `done` or `frames` frames (two seconds) pass.
template <typename Done>
inline bool cook_until(World& w, Done done, int frames = 120) {
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
inline void cook_frames(World& w, int frames) {
    cook_until(w, [] { return false; }, frames);
}

// ---------------------------------------------------------------------------------------------
// The scenarios, one file each, and what they share.

int check_vtable_slots(std::vector<std::string>& failures);  // vtable_slots.cpp
int run_count(int argc, char** argv);                         // count.cpp

// parameters.cpp
void check_plugin_info(const Plugin& p, bool verbose);
void setup_and_check_parameters(const char* who, uint32_t family, const Tables& t, HostParameters& page,
                                HostInputs& inputs);
void check_promised_parameters(const char* who, uint32_t family, const HostParameters& page);
void check_host_refuses_bad_names();

void run_phase(World& w, const Phase& ph);             // phases.cpp
// transport.cpp
void run_transport(World& w);
std::vector<int> neighbours(const Expectations& e, long seed, int track, bool before);
bool dat_shows(const World& w, const Track* tr);
bool chop_shows(const World& w, const Track* tr);

void run_modes(World& w);                              // modes.cpp
void run_messages_and_pulses(World& w);                // messages.cpp
void create_pair(World& w, Plugin& p);                 // check.cpp
void quick_cycle(Plugin& p, long seed);                // check.cpp
int run_check(const char* lib, const char* exp_path);  // check.cpp
int run_spotify(const char* lib, const char* exp_path, int chops);  // spotify.cpp
int run_bench(const char* lib, int iterations);                     // bench.cpp
int run_lifecycle(const char* lib, const char* exp_path, int port);  // lifecycle.cpp
int run_cycles(const char* lib, int creates, int loads);             // cycles.cpp

}  // namespace host

#endif  // TDS_HOST_WORLD_H
