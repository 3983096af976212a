// td_host.h: the TouchDesigner side of the test host — the objects TD hands to a plugin.
//
// Everything a plugin may touch during a cook has fixed storage, so counting heap allocations
// around a cook counts the plugin's, never the host's.
#ifndef TDS_TD_HOST_H
#define TDS_TD_HOST_H

#include <dlfcn.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <string>
#include <vector>

#include "td_abi.h"
#include "td_spotify.h"

// The objects by concern; td_host.h itself loads the plugin and cooks it.
#include "td_host/basics.h"
#include "td_host/parameters.h"
#include "td_host/inputs.h"
#include "td_host/dat_output.h"

namespace host {

using namespace TD;

// ---------------------------------------------------------------------------------------------
// The loaded plugin: TD's six entry points plus the engine's tables, the test's ground truth.

struct Plugin {
    void* handle = nullptr;
    void (*fill_chop)(CHOP_PluginInfo*) = nullptr;
    CHOP_CPlusPlusBase* (*create_chop)(const OP_NodeInfo*) = nullptr;
    void (*destroy_chop)(CHOP_CPlusPlusBase*) = nullptr;
    void (*fill_dat)(DAT_PluginInfo*) = nullptr;
    DAT_CPlusPlusBase* (*create_dat)(const OP_NodeInfo*) = nullptr;
    void (*destroy_dat)(DAT_CPlusPlusBase*) = nullptr;

    decltype(&td_spotify_channel_count) channel_count = nullptr;
    decltype(&td_spotify_channel_name) channel_name = nullptr;
    decltype(&td_spotify_row_count) row_count = nullptr;
    decltype(&td_spotify_row_name) row_name = nullptr;
    decltype(&td_spotify_param_count) param_count = nullptr;
    decltype(&td_spotify_param_info) param_info = nullptr;
    decltype(&td_spotify_param_menu_item) param_menu_item = nullptr;
    decltype(&td_spotify_info_count) info_count = nullptr;
    decltype(&td_spotify_info_name) info_name = nullptr;
    decltype(&td_spotify_instance_new) instance_new = nullptr;
    decltype(&td_spotify_instance_free) instance_free = nullptr;

    bool open(const char* path, std::string& error) {
        handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            const char* e = dlerror();
            error = std::string("dlopen failed: ") + (e ? e : "?");
            return false;
        }
        bool ok = true;
        ok &= sym("FillCHOPPluginInfo", fill_chop, error);
        ok &= sym("CreateCHOPInstance", create_chop, error);
        ok &= sym("DestroyCHOPInstance", destroy_chop, error);
        ok &= sym("FillDATPluginInfo", fill_dat, error);
        ok &= sym("CreateDATInstance", create_dat, error);
        ok &= sym("DestroyDATInstance", destroy_dat, error);
        ok &= sym("td_spotify_channel_count", channel_count, error);
        ok &= sym("td_spotify_channel_name", channel_name, error);
        ok &= sym("td_spotify_row_count", row_count, error);
        ok &= sym("td_spotify_row_name", row_name, error);
        ok &= sym("td_spotify_param_count", param_count, error);
        ok &= sym("td_spotify_param_info", param_info, error);
        ok &= sym("td_spotify_param_menu_item", param_menu_item, error);
        ok &= sym("td_spotify_info_count", info_count, error);
        ok &= sym("td_spotify_info_name", info_name, error);
        ok &= sym("td_spotify_instance_new", instance_new, error);
        ok &= sym("td_spotify_instance_free", instance_free, error);
        return ok;
    }

    void close() {
        if (handle) {
            dlclose(handle);
            handle = nullptr;
        }
    }

private:
    template <typename F>
    bool sym(const char* name, F& out, std::string& error) {
        void* p = dlsym(handle, name);
        if (!p) {
            error += std::string("missing symbol ") + name + "; ";
            return false;
        }
        out = reinterpret_cast<F>(p);
        return true;
    }
};

// TD prepares the plugin info with its own strings before calling Fill.
struct HostPluginInfo {
    HostString op_type, op_label, op_icon, author_name, author_email, python_version;

    template <typename Info>
    void prepare(Info& info) {
        memset(static_cast<void*>(&info), 0, sizeof info);
        info.customOPInfo.opType = &op_type;
        info.customOPInfo.opLabel = &op_label;
        info.customOPInfo.opIcon = &op_icon;
        info.customOPInfo.authorName = &author_name;
        info.customOPInfo.authorEmail = &author_email;
        info.customOPInfo.pythonVersion = &python_version;
        info.customOPInfo.minorVersion = 1;
    }
};

// ---------------------------------------------------------------------------------------------
// Cooks in TD's call order, into fixed buffers.

constexpr int kMaxChannels = 64;
constexpr int kMaxSamples = 16;
constexpr int kMaxInfo = 64;

struct InfoOutputs {
    int32_t chans = 0;
    HostString chan_names[kMaxInfo];
    float chan_values[kMaxInfo];
    bool dat = false;
    OP_InfoDATSize dat_size{};
    HostString dat_cells[kMaxInfo][2];
    HostString popup, warning, error;
    int problems = 0;

    template <typename Op>
    void read(Op* op) {
        chans = op->getNumInfoCHOPChans(nullptr);
        if (chans < 0 || chans > kMaxInfo) {
            ++problems;
            chans = 0;
        }
        for (int32_t i = 0; i < chans; ++i) {
            OP_InfoCHOPChan chan;
            memset(static_cast<void*>(&chan), 0, sizeof chan);
            chan_names[i].clear();
            chan.name = &chan_names[i];
            op->getInfoCHOPChan(i, &chan, nullptr);
            chan_values[i] = chan.value;
        }
        memset(static_cast<void*>(&dat_size), 0, sizeof dat_size);
        dat = op->getInfoDATSize(&dat_size, nullptr);
        if (dat && (dat_size.byColumn || dat_size.cols != 2 || dat_size.rows < 0 || dat_size.rows > kMaxInfo)) {
            ++problems;
            dat = false;
        }
        for (int32_t r = 0; dat && r < dat_size.rows; ++r) {
            OP_String* values[2] = {&dat_cells[r][0], &dat_cells[r][1]};
            dat_cells[r][0].clear();
            dat_cells[r][1].clear();
            OP_InfoDATEntries entries;
            memset(static_cast<void*>(&entries), 0, sizeof entries);
            entries.values = values;
            op->getInfoDATEntries(r, 2, &entries, nullptr);
        }
        popup.clear();
        warning.clear();
        error.clear();
        op->getInfoPopupString(&popup, nullptr);
        op->getWarningString(&warning, nullptr);
        op->getErrorString(&error, nullptr);
    }
};

struct ChopRunner {
    CHOP_CPlusPlusBase* op = nullptr;
    HostInputs* inputs = nullptr;
    CHOP_GeneralInfo general{};
    CHOP_OutputInfo out_info{};
    bool own_output = false;
    int32_t num_channels = 0;
    int32_t num_samples = 0;
    HostString names[kMaxChannels];
    const char* name_ptrs[kMaxChannels] = {};
    float samples[kMaxChannels][kMaxSamples] = {};
    float* chan_ptrs[kMaxChannels] = {};
    InfoOutputs info;
    int64_t exec_begin = 0;
    int64_t exec_end = 0;
    int problems = 0;

    // One cook as TD runs it. `samples_asked` > 0 forces a longer output (as a timeslice would).
    void cook(int32_t samples_asked = 0) {
        memset(static_cast<void*>(&general), 0, sizeof general);
        op->getGeneralInfo(&general, inputs, nullptr);
        memset(static_cast<void*>(&out_info), 0, sizeof out_info);
        out_info.numSamples = 1;
        out_info.sampleRate = 60.0f;
        own_output = op->getOutputInfo(&out_info, inputs, nullptr);
        num_channels = own_output ? out_info.numChannels : 0;
        num_samples = samples_asked > 0 ? samples_asked : out_info.numSamples;
        if (num_channels < 0 || num_channels > kMaxChannels || num_samples < 1 || num_samples > kMaxSamples) {
            ++problems;
            num_channels = 0;
            num_samples = 1;
        }
        for (int32_t c = 0; c < num_channels; ++c) {
            names[c].clear();
            op->getChannelName(c, &names[c], inputs, nullptr);
            name_ptrs[c] = names[c].c_str();
            chan_ptrs[c] = samples[c];
            for (int32_t s = 0; s < num_samples; ++s) {
                samples[c][s] = -12345.0f;  // must be overwritten
            }
        }
        execute();
        info.read(op);
    }

    void execute() {
        CHOP_Output out(num_channels, num_samples, 60.0f, 0, chan_ptrs, name_ptrs);
        exec_begin = now_ns();
        op->execute(&out, inputs, nullptr);
        exec_end = now_ns();
    }

    float value(int c) const { return samples[c][0]; }
};

struct DatRunner {
    DAT_CPlusPlusBase* op = nullptr;
    HostInputs* inputs = nullptr;
    DAT_GeneralInfo general{};
    HostDatOutput* out = nullptr;  // large; owned by the caller
    InfoOutputs info;
    int64_t exec_begin = 0;
    int64_t exec_end = 0;

    void cook() {
        memset(static_cast<void*>(&general), 0, sizeof general);
        op->getGeneralInfo(&general, inputs, nullptr);
        execute();
        info.read(op);
    }

    void execute() {
        exec_begin = now_ns();
        op->execute(out, inputs, nullptr);
        exec_end = now_ns();
    }
};

}  // namespace host

#endif  // TDS_TD_HOST_H
