// td_host/parameters.h: the parameter page TD gives setupParameters. Part of td_host.h.
#ifndef TDS_TD_HOST_PARAMETERS_H
#define TDS_TD_HOST_PARAMETERS_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include <string>
#include <vector>

#include "td_abi.h"
#include "td_spotify.h"
#include "basics.h"

namespace host {

using namespace TD;

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

}  // namespace host

#endif  // TDS_TD_HOST_PARAMETERS_H
