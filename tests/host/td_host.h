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

// ---------------------------------------------------------------------------------------------
// The parameter page: records what the plugin appends and refuses what TD would refuse.

struct RecordedPar {
    std::string kind;
    std::string name;
    std::string label;
    std::string page;
    double default_value = 0;
    double min_value = 0;
    double max_value = 0;
    bool clamp = false;
    std::string default_string;
    std::vector<std::string> menu_names;
    std::vector<std::string> menu_labels;
    // What TouchDesigner 2025.33060+ reads from the former reserved space.
    int32_t size = 0;
    std::string help;
};

class HostParameters final : public OP_ParameterManager {
public:
    std::vector<RecordedPar> pars;
    std::vector<std::string> problems;

    OP_ParAppendResult appendFloat(const OP_NumericParameter& np, int32_t size) override {
        return size == 1 ? num("Float", np) : bad_size("Float", np.name);
    }
    OP_ParAppendResult appendInt(const OP_NumericParameter& np, int32_t size) override {
        return size == 1 ? num("Int", np) : bad_size("Int", np.name);
    }
    OP_ParAppendResult appendXY(const OP_NumericParameter& np) override { return num("XY", np); }
    OP_ParAppendResult appendXYZ(const OP_NumericParameter& np) override { return num("XYZ", np); }
    OP_ParAppendResult appendUV(const OP_NumericParameter& np) override { return num("UV", np); }
    OP_ParAppendResult appendUVW(const OP_NumericParameter& np) override { return num("UVW", np); }
    OP_ParAppendResult appendRGB(const OP_NumericParameter& np) override { return num("RGB", np); }
    OP_ParAppendResult appendRGBA(const OP_NumericParameter& np) override { return num("RGBA", np); }
    OP_ParAppendResult appendToggle(const OP_NumericParameter& np) override { return num("Toggle", np); }
    OP_ParAppendResult appendPulse(const OP_NumericParameter& np) override { return num("Pulse", np); }
    OP_ParAppendResult appendString(const OP_StringParameter& sp) override { return str("String", sp); }
    OP_ParAppendResult appendFile(const OP_StringParameter& sp) override { return str("File", sp); }
    OP_ParAppendResult appendFolder(const OP_StringParameter& sp) override { return str("Folder", sp); }
    OP_ParAppendResult appendDAT(const OP_StringParameter& sp) override { return str("DAT", sp); }
    OP_ParAppendResult appendCHOP(const OP_StringParameter& sp) override { return str("CHOP", sp); }
    OP_ParAppendResult appendTOP(const OP_StringParameter& sp) override { return str("TOP", sp); }
    OP_ParAppendResult appendObject(const OP_StringParameter& sp) override { return str("Object", sp); }
    OP_ParAppendResult appendMenu(const OP_StringParameter& sp, int32_t n, const char** names,
                                  const char** labels) override {
        return menu("Menu", sp, n, names, labels);
    }
    OP_ParAppendResult appendStringMenu(const OP_StringParameter& sp, int32_t n, const char** names,
                                        const char** labels) override {
        return menu("StrMenu", sp, n, names, labels);
    }
    OP_ParAppendResult appendSOP(const OP_StringParameter& sp) override { return str("SOP", sp); }
    OP_ParAppendResult appendPython(const OP_StringParameter& sp) override { return str("Python", sp); }
    OP_ParAppendResult appendOP(const OP_StringParameter& sp) override { return str("OP", sp); }
    OP_ParAppendResult appendCOMP(const OP_StringParameter& sp) override { return str("COMP", sp); }
    OP_ParAppendResult appendMAT(const OP_StringParameter& sp) override { return str("MAT", sp); }
    OP_ParAppendResult appendPanelCOMP(const OP_StringParameter& sp) override { return str("PanelCOMP", sp); }
    OP_ParAppendResult appendHeader(const OP_StringParameter& sp) override { return str("Header", sp); }
    OP_ParAppendResult appendMomentary(const OP_NumericParameter& np) override { return num("Momentary", np); }
    OP_ParAppendResult appendWH(const OP_NumericParameter& np) override { return num("WH", np); }
    OP_ParAppendResult appendDynamicStringMenu(const OP_StringParameter& sp) override {
        return str("DynStrMenu", sp);
    }
    OP_ParAppendResult appendDynamicMenu(const OP_NumericParameter& np) override { return num("DynMenu", np); }

private:
    OP_ParAppendResult check_name(const char* kind, const char* name, const char* label, const char* page) {
        const std::string shown = name ? name : "(null)";
        if (!td_name_ok(name)) {
            problems.push_back(std::string(kind) + " parameter '" + shown + "' breaks TD's naming rule");
            return OP_ParAppendResult::InvalidName;
        }
        for (const RecordedPar& p : pars) {
            if (p.name == name) {
                problems.push_back("duplicate parameter '" + shown + "'");
                return OP_ParAppendResult::InvalidName;
            }
        }
        if (!label || !*label) {
            problems.push_back("parameter '" + shown + "' has no label");
        }
        if (!page || !*page) {
            problems.push_back("parameter '" + shown + "' has no page");
        }
        return OP_ParAppendResult::Success;
    }

    OP_ParAppendResult bad_size(const char* kind, const char* name) {
        problems.push_back(std::string(kind) + " parameter '" + (name ? name : "(null)") + "' has size != 1");
        return OP_ParAppendResult::InvalidSize;
    }

    // The fields both parameter structs share.
    template <typename Par>
    static RecordedPar record(const char* kind, const Par& par) {
        RecordedPar p;
        p.kind = kind;
        p.name = par.name;
        p.label = par.label ? par.label : "";
        p.page = par.page ? par.page : "";
        p.size = par.size;
        p.help = par.help ? par.help : "";
        return p;
    }

    OP_ParAppendResult num(const char* kind, const OP_NumericParameter& np) {
        OP_ParAppendResult r = check_name(kind, np.name, np.label, np.page);
        if (r != OP_ParAppendResult::Success) {
            return r;
        }
        RecordedPar p = record(kind, np);
        p.default_value = np.defaultValues[0];
        p.min_value = np.minValues[0];
        p.max_value = np.maxValues[0];
        p.clamp = np.clampMins[0] && np.clampMaxes[0];
        pars.push_back(p);
        return r;
    }

    OP_ParAppendResult str(const char* kind, const OP_StringParameter& sp) {
        return menu(kind, sp, 0, nullptr, nullptr);
    }

    OP_ParAppendResult menu(const char* kind, const OP_StringParameter& sp, int32_t n, const char** names,
                            const char** labels) {
        OP_ParAppendResult r = check_name(kind, sp.name, sp.label, sp.page);
        if (r != OP_ParAppendResult::Success) {
            return r;
        }
        RecordedPar p = record(kind, sp);
        p.default_string = sp.defaultValue ? sp.defaultValue : "";
        for (int32_t i = 0; i < n; ++i) {
            p.menu_names.push_back(names && names[i] ? names[i] : "(null)");
            p.menu_labels.push_back(labels && labels[i] ? labels[i] : "(null)");
        }
        pars.push_back(p);
        return r;
    }
};

// ---------------------------------------------------------------------------------------------
// Parameter values and inputs, as TD shows them to a cook.

// FNV-1a over a NUL-terminated name: lets lookups skip string compares without allocating,
// as TouchDesigner's own (hashed) parameter lookups would.
inline uint64_t name_hash(const char* s) {
    uint64_t h = 1469598103934665603ull;
    for (; s && *s; ++s) {
        h = (h ^ static_cast<unsigned char>(*s)) * 1099511628211ull;
    }
    return h;
}

struct HostPar {
    std::string name;
    std::string kind;
    double number = 0;
    std::string text;
    std::vector<std::string> menu;
    uint64_t hash = 0;
    bool is_text = false;    // String, Folder, File, Menu: read with getParString
    bool is_number = false;  // Toggle, Int, Float, Pulse: read with getParInt/getParDouble
};

class HostInputs final : public OP_Inputs {
public:
    std::vector<HostPar> pars;
    const OP_CHOPInput* chop_input = nullptr;
    OP_TimeInfo time_info{};
    // Lookups of names the plugin never appended, or with a getter of the wrong kind.
    mutable int unknown_lookups = 0;
    mutable int wrong_kind_lookups = 0;
    mutable int other_calls = 0;

    void define(const HostParameters& page) {
        pars.clear();
        for (const RecordedPar& r : page.pars) {
            HostPar p;
            p.name = r.name;
            p.kind = r.kind;
            p.hash = name_hash(p.name.c_str());
            p.is_number = p.kind == "Toggle" || p.kind == "Int" || p.kind == "Float" || p.kind == "Pulse";
            p.is_text = p.kind == "String" || p.kind == "Folder" || p.kind == "File";
            p.menu = r.menu_names;
            if (r.kind == "Menu" || r.kind == "StrMenu") {
                set_menu(p, r.default_string);
            } else {
                p.number = r.default_value;
                p.text = r.default_string;
            }
            pars.push_back(p);
        }
    }

    bool set_number(const char* name, double v) {
        HostPar* p = find_mut(name);
        if (!p) {
            return false;
        }
        p->number = v;
        return true;
    }

    bool set_string(const char* name, const char* v) {
        HostPar* p = find_mut(name);
        if (!p) {
            return false;
        }
        if (!p->menu.empty()) {
            return set_menu(*p, v);
        }
        p->text = v;
        return true;
    }

    int32_t getNumInputs() const override { return chop_input ? 1 : 0; }
    const OP_CHOPInput* getInputCHOP(int32_t index) const override {
        return index == 0 ? chop_input : nullptr;
    }
    const OP_DATInput* getParDAT(const char*) const override { return other(); }
    const OP_CHOPInput* getParCHOP(const char*) const override { return other(); }
    const OP_ObjectInput* getParObject(const char*) const override { return other(); }
    double getParDouble(const char* name, int32_t index) const override {
        const HostPar* p = numeric(name, index);
        return p ? p->number : 0.0;
    }
    bool getParDouble2(const char*, double&, double&) const override { return other_false(); }
    bool getParDouble3(const char*, double&, double&, double&) const override { return other_false(); }
    bool getParDouble4(const char*, double&, double&, double&, double&) const override { return other_false(); }
    int32_t getParInt(const char* name, int32_t index) const override {
        const HostPar* p = numeric(name, index);
        return p ? static_cast<int32_t>(p->number) : 0;
    }
    bool getParInt2(const char*, int32_t&, int32_t&) const override { return other_false(); }
    bool getParInt3(const char*, int32_t&, int32_t&, int32_t&) const override { return other_false(); }
    bool getParInt4(const char*, int32_t&, int32_t&, int32_t&, int32_t&) const override { return other_false(); }
    const char* getParString(const char* name) const override {
        const HostPar* p = find(name);
        if (!p) {
            return nullptr;
        }
        if (p->is_number) {
            ++wrong_kind_lookups;
            return nullptr;
        }
        return p->text.c_str();
    }
    const char* getParFilePath(const char* name) const override { return getParString(name); }
    bool getRelativeTransform(const char*, const char*, double[4][4]) const override { return other_false(); }
    void enablePar(const char*, bool) const override {}
    const OP_DATInput* getDAT(const char*) const override { return other(); }
    const OP_CHOPInput* getCHOP(const char*) const override { return other(); }
    const OP_ObjectInput* getObject(const char*) const override { return other(); }
    const OP_SOPInput* getParSOP(const char*) const override { return other(); }
    const OP_SOPInput* getInputSOP(int32_t) const override { return other(); }
    const OP_SOPInput* getSOP(const char*) const override { return other(); }
    const OP_DATInput* getInputDAT(int32_t) const override { return other(); }
    PyObject* getParPython(const char*) const override { return other(); }
    const OP_TimeInfo* getTimeInfo() const override { return &time_info; }
    const OP_TOPInput* getTOP(const char*) const override { return other(); }
    const OP_TOPInput* getInputTOP(int32_t) const override { return other(); }
    const OP_TOPInput* getParTOP(const char*) const override { return other(); }

private:
    const void* tdsDeprecatedInputTOP(int32_t) const override { return other(); }
    const void* tdsDeprecatedParTOP(const char*) const override { return other(); }
    const void* tdsDeprecatedTOPByPath(const char*) const override { return other(); }
    void* tdsDeprecatedTOPDataInCPU(const void*, const void*) const override { return other(); }

    // A null of any pointer type, counting the call: the plugin has no business here yet.
    struct Null {
        template <typename T>
        operator T*() const { return nullptr; }
    };
    Null other() const {
        ++other_calls;
        return Null{};
    }
    bool other_false() const {
        ++other_calls;
        return false;
    }

    static bool set_menu(HostPar& p, const std::string& token) {
        for (size_t i = 0; i < p.menu.size(); ++i) {
            if (p.menu[i] == token) {
                p.number = static_cast<double>(i);
                p.text = token;
                return true;
            }
        }
        return false;
    }

    const HostPar* find(const char* name) const {
        const uint64_t h = name_hash(name);
        for (const HostPar& p : pars) {
            if (name && p.hash == h && strcmp(p.name.c_str(), name) == 0) {
                return &p;
            }
        }
        ++unknown_lookups;
        return nullptr;
    }
    HostPar* find_mut(const char* name) { return const_cast<HostPar*>(find(name)); }

    const HostPar* numeric(const char* name, int32_t index) const {
        const HostPar* p = find(name);
        if (p && (index != 0 || p->is_text)) {
            ++wrong_kind_lookups;
        }
        return p;
    }
};

// ---------------------------------------------------------------------------------------------

class HostDatOutput final : public DAT_Output {
public:
    static constexpr int kMaxRows = 128;
    static constexpr int kMaxCols = 10;  // the queue's 8 columns, with room
    static constexpr int kCell = 1024;

    DAT_OutDataType type = DAT_OutDataType::Text;
    int32_t rows = 0;
    int32_t cols = 0;
    int bad_calls = 0;
    char cells[kMaxRows][kMaxCols][kCell];

    void setOutputDataType(DAT_OutDataType t) override { type = t; }
    DAT_OutDataType getOutputDataType() override { return type; }
    void setTableSize(int32_t r, int32_t c) override {
        if (r < 0 || c < 0 || r > kMaxRows || c > kMaxCols) {
            ++bad_calls;
            r = c = 0;
        }
        rows = r;
        cols = c;
        for (int32_t i = 0; i < rows; ++i) {
            for (int32_t j = 0; j < cols; ++j) {
                cells[i][j][0] = '\0';
            }
        }
    }
    void getTableSize(int32_t* r, int32_t* c) override {
        *r = rows;
        *c = cols;
    }
    bool setText(const char*) override {
        ++bad_calls;
        return false;
    }
    int32_t findRow(const char* name, int32_t) override {
        for (int32_t i = 0; name && i < rows; ++i) {
            if (cols > 0 && strcmp(cells[i][0], name) == 0) {
                return i;
            }
        }
        return -1;
    }
    int32_t findCol(const char* name, int32_t) override {
        for (int32_t j = 0; name && j < cols; ++j) {
            if (rows > 0 && strcmp(cells[0][j], name) == 0) {
                return j;
            }
        }
        return -1;
    }
    bool setCellString(int32_t r, int32_t c, const char* s) override {
        if (type != DAT_OutDataType::Table || r < 0 || c < 0 || r >= rows || c >= cols || !s) {
            ++bad_calls;
            return false;
        }
        strncpy(cells[r][c], s, kCell - 1);
        cells[r][c][kCell - 1] = '\0';
        return true;
    }
    bool setCellInt(int32_t, int32_t, int32_t) override { return ++bad_calls, false; }
    bool setCellDouble(int32_t, int32_t, double) override { return ++bad_calls, false; }
    const char* getCellString(int32_t r, int32_t c) override {
        return (r >= 0 && c >= 0 && r < rows && c < cols) ? cells[r][c] : nullptr;
    }
    bool getCellInt(int32_t, int32_t, int32_t*) override { return false; }
    bool getCellDouble(int32_t, int32_t, double*) override { return false; }

    // Index of the header cell `name` in row 0, or -1.
    int col(const char* name) const {
        for (int32_t j = 0; j < cols; ++j) {
            if (rows > 0 && strcmp(cells[0][j], name) == 0) {
                return j;
            }
        }
        return -1;
    }

    // Value of the `field | value` row named `field`, or null.
    const char* value(const char* field) const {
        for (int32_t i = 1; i < rows; ++i) {
            if (cols >= 2 && strcmp(cells[i][0], field) == 0) {
                return cells[i][1];
            }
        }
        return nullptr;
    }
};

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
