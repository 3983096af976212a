// parameters.cpp: the plugin info TD reads first, and the parameter pages it builds.
#include "world.h"

namespace host {

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

}  // namespace host
