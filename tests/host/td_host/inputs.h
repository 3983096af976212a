// td_host/inputs.h: parameter values and inputs as TD shows them to a cook. Part of td_host.h.
#ifndef TDS_TD_HOST_INPUTS_H
#define TDS_TD_HOST_INPUTS_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include <string>
#include <vector>

#include "td_abi.h"
#include "td_spotify.h"
#include "basics.h"
#include "parameters.h"

namespace host {

using namespace TD;

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

}  // namespace host

#endif  // TDS_TD_HOST_INPUTS_H
