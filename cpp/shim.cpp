// shim.cpp: what the CHOP and the DAT share (MIT OR Apache-2.0).
#include "shim.h"

#include <stdio.h>
#include <string.h>

namespace tds {

using namespace TD;

namespace {

// Longest menu the shim can append; menus here have a handful of entries.
constexpr uint32_t kMaxMenuItems = 64;

void set(OP_String* out, const char* text) {
    if (out && text) {
        out->setString(text);
    }
}

// TouchDesigner's parameter structs grew fields in their reserved space over the years, so start
// from all zeros whichever header declares them, then fill every field we mean. size and help
// are read from TouchDesigner 2025.33060 on (size 0 would be a parameter with no values) and
// ignored before it.
OP_NumericParameter numeric(const TdsParamInfo& p) {
    OP_NumericParameter np;
    memset(static_cast<void*>(&np), 0, sizeof np);
    np.name = p.name;
    np.label = p.label;
    np.page = p.page;
    for (int i = 0; i < 4; ++i) {
        np.defaultValues[i] = p.default_value;
        np.minValues[i] = p.min_value;
        np.maxValues[i] = p.max_value;
        np.minSliders[i] = p.min_value;
        np.maxSliders[i] = p.max_value;
        np.clampMins[i] = p.clamp;
        np.clampMaxes[i] = p.clamp;
    }
    put_at<int32_t>(np, layout::kNumericSize, 1);
    put_at<const char*>(np, layout::kNumericHelp, p.help);
    return np;
}

OP_StringParameter text_param(const TdsParamInfo& p) {
    OP_StringParameter sp;
    memset(static_cast<void*>(&sp), 0, sizeof sp);
    sp.name = p.name;
    sp.label = p.label;
    sp.page = p.page;
    sp.defaultValue = p.default_string;
    put_at<int32_t>(sp, layout::kStringSize, 1);
    put_at<const char*>(sp, layout::kStringHelp, p.help);
    return sp;
}

}  // namespace

void describe_operator(OP_CustomOPInfo& info, uint32_t family) {
    TdsOperatorInfo op{};
    if (td_spotify_operator_info(family, &op) != TDS_RESULT_OK) {
        return;
    }
    set(info.opType, op.op_type);
    set(info.opLabel, op.label);
    set(info.opIcon, op.icon);
    set(info.authorName, "td-spotify");
    set(info.authorEmail, "");
    info.minInputs = 0;
    info.maxInputs = op.max_inputs;
    info.majorVersion = TDS_VERSION_MAJOR;
    info.minorVersion = TDS_VERSION_MINOR;
    // Starts the engine when a Custom OP is created or its project opens, even if nobody
    // views it yet (a binary loaded into a CPlusPlus node ignores this).
    info.cookOnStart = true;
}

namespace {

// The getters the library calls during a cook (td_spotify_read_params): TouchDesigner's own,
// on the OP_Inputs of that cook. TouchDesigner does not throw from them.
int32_t get_int(const void* inputs, const char* name) noexcept {
    return static_cast<const OP_Inputs*>(inputs)->getParInt(name, 0);
}

double get_double(const void* inputs, const char* name) noexcept {
    return static_cast<const OP_Inputs*>(inputs)->getParDouble(name, 0);
}

const char* get_string(const void* inputs, const char* name) noexcept {
    return static_cast<const OP_Inputs*>(inputs)->getParString(name);
}

const char* get_file_path(const void* inputs, const char* name) noexcept {
    return static_cast<const OP_Inputs*>(inputs)->getParFilePath(name);
}

}  // namespace

Operator::Operator(uint32_t family)
    : family_(family),
      instance_(td_spotify_instance_new(family)),
      reader_{nullptr, get_int, get_double, get_string, get_file_path} {
    text_[0] = '\0';
    const uint32_t count = td_spotify_param_count();
    for (uint32_t i = 0; i < count && params_count_ < kMaxParams; ++i) {
        TdsParamInfo p;
        if (td_spotify_param_info(i, &p) == TDS_RESULT_OK && (p.families & family_) != 0) {
            params_[params_count_++] = Param{i, p};
        }
    }
}

Operator::~Operator() { td_spotify_instance_free(instance_); }

void Operator::setup_parameters(OP_ParameterManager* manager) const {
    if (!manager) {
        return;
    }
    for (uint32_t k = 0; k < params_count_; ++k) {
        const uint32_t i = params_[k].index;
        const TdsParamInfo& p = params_[k].info;
        switch (p.kind) {
            case TDS_PARAM_KIND_TOGGLE: manager->appendToggle(numeric(p)); break;
            case TDS_PARAM_KIND_INT: manager->appendInt(numeric(p), 1); break;
            case TDS_PARAM_KIND_FLOAT: manager->appendFloat(numeric(p), 1); break;
            case TDS_PARAM_KIND_PULSE: manager->appendPulse(numeric(p)); break;
            case TDS_PARAM_KIND_STRING: manager->appendString(text_param(p)); break;
            case TDS_PARAM_KIND_FOLDER: manager->appendFolder(text_param(p)); break;
            case TDS_PARAM_KIND_MENU: {
                const char* names[kMaxMenuItems];
                const char* labels[kMaxMenuItems];
                uint32_t n = 0;
                for (uint32_t m = 0; m < p.menu_count && n < kMaxMenuItems; ++m) {
                    if (td_spotify_param_menu_item(i, m, &names[n], &labels[n]) == TDS_RESULT_OK) {
                        ++n;
                    }
                }
                manager->appendMenu(text_param(p), static_cast<int32_t>(n), names, labels);
                break;
            }
        }
    }
}

void Operator::read_parameters(const OP_Inputs* inputs) {
    if (!inputs) {
        return;
    }
    reader_.inputs = inputs;
    td_spotify_read_params(instance_, &reader_);
}

void Operator::cook() const { td_spotify_cook(instance_); }

void Operator::pulse(const char* name) const { td_spotify_pulse(instance_, name); }

void Operator::warning(OP_String* out) {
    if (td_spotify_warning(instance_, text_, sizeof text_) > 0) {
        set(out, text_);
    }
}

void Operator::error(OP_String* out) {
    if (!instance_) {
        set(out, "td-spotify could not create its engine instance (out of memory?)");
    } else if (td_spotify_error(instance_, text_, sizeof text_) > 0) {
        set(out, text_);
    }
}

void Operator::info_popup(OP_String* out) {
    if (td_spotify_info_popup(instance_, text_, sizeof text_) > 0) {
        set(out, text_);
    }
}

int32_t Operator::info_count() const { return static_cast<int32_t>(td_spotify_info_count()); }

void Operator::info_chan(int32_t index, OP_InfoCHOPChan* chan) const {
    if (!chan || index < 0) {
        return;
    }
    set(chan->name, td_spotify_info_name(static_cast<uint32_t>(index)));
    chan->value = static_cast<float>(td_spotify_info_value(instance_, static_cast<uint32_t>(index)));
}

bool Operator::info_dat_size(OP_InfoDATSize* size) const {
    if (!size) {
        return false;
    }
    size->rows = info_count();
    size->cols = 2;
    size->byColumn = false;
    return true;
}

void Operator::info_dat_entries(int32_t index, int32_t n_entries, OP_InfoDATEntries* entries) {
    if (!entries || !entries->values || index < 0 || n_entries < 2) {
        return;
    }
    const uint32_t i = static_cast<uint32_t>(index);
    set(entries->values[0], td_spotify_info_name(i));
    const double v = td_spotify_info_value(instance_, i);
    // Counters read best as integers, latencies and ages with a few decimals.
    if (v > -1e15 && v < 1e15 && v == static_cast<double>(static_cast<long long>(v))) {
        snprintf(text_, sizeof text_, "%lld", static_cast<long long>(v));
    } else {
        snprintf(text_, sizeof text_, "%.3f", v);
    }
    set(entries->values[1], text_);
}

}  // namespace tds
