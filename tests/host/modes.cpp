// modes.cpp: every DAT mode's shape, header and rows.
#include "world.h"

namespace host {

namespace {

// What the modes are checked against: the transport seed's schedule around the current track.
struct Modes {
    World& w;
    const Expectations& e;
    long seed;
    int current;
    std::vector<int> upcoming, earlier;
    std::string device;  // what the now-playing mode showed, for the devices mode
};

std::string cell(const HostDatOutput& d, int r, int c) {
    return r >= 0 && c >= 0 && r < d.rows && c < d.cols ? d.cells[r][c] : "(none)";
}

int col(const HostDatOutput& d, const char* mode, const char* name) {
    const int c = d.col(name);
    CHECK(c >= 0, "Mode %s has no column '%s'", mode, name);
    return c;
}

// Row `r` of a list mode shows track `index` of the schedule.
void check_track(const Modes& m, const char* mode, int r, int index) {
    const HostDatOutput& d = *m.w.dat_out;
    const Track* tr = m.e.track(m.seed, index);
    if (!tr) {
        fail("Mode %s row %d: track %d is past the expectations", mode, r, index);
        return;
    }
    auto at = [&](const char* name) { return cell(d, r, col(d, mode, name)); };
    CHECK(at("name") == tr->name && at("artists") == tr->artists && at("album") == tr->album && at("uri") == tr->uri &&
              at("track_id") == tr->id && at("duration_ms") == std::to_string(tr->duration_ms),
          "Mode %s row %d: '%s' by '%s' (%s), want track %d '%s'", mode, r, at("name").c_str(), at("artists").c_str(),
          at("uri").c_str(), index, tr->name.c_str());
}

// Switches the DAT to `mode` and checks its cook: no heap traffic, a clean table, no message.
void cook_mode(World& w, const char* mode) {
    const HostDatOutput& d = *w.dat_out;
    CHECK(w.dat_inputs.set_string("Mode", mode), "the DAT's Mode menu has no '%s'", mode);
    w.dat_run->cook();  // applies the new mode: may allocate, like any parameter change
    alloc_count_begin();
    w.dat_run->cook();
    const AllocCounts a = alloc_count_end();
    CHECK(a.allocs == 0 && a.frees == 0, "Mode %s: the DAT's cook made %llu allocations, %llu frees", mode,
          static_cast<unsigned long long>(a.allocs), static_cast<unsigned long long>(a.frees));
    CHECK(d.type == DAT_OutDataType::Table && d.bad_calls == 0, "Mode %s: not a clean table (%d bad calls)", mode,
          d.bad_calls);
    CHECK(w.dat_run->info.error.empty() && w.dat_run->info.warning.empty(), "Mode %s: the DAT shows '%s%s'", mode,
          w.dat_run->info.error.c_str(), w.dat_run->info.warning.c_str());
}

// The `field | value` modes (nowplaying, status).
void check_field_mode(Modes& m, const char* mode) {
    const HostDatOutput& d = *m.w.dat_out;
    const Expectations& e = m.e;
    const bool now = strcmp(mode, "nowplaying") == 0;
    const std::vector<std::string>* fields = now ? &m.w.tables.rows : e.header("status");
    if (!fields) {
        return;
    }
    CHECK(d.rows == static_cast<int32_t>(fields->size()) + 1 && d.cols == 2, "Mode %s: %dx%d, want %zux2", mode,
          d.rows, d.cols, fields->size() + 1);
    CHECK(cell(d, 0, 0) == "field" && cell(d, 0, 1) == "value", "Mode %s: header %s | %s", mode,
          cell(d, 0, 0).c_str(), cell(d, 0, 1).c_str());
    for (size_t r = 0; r < fields->size(); ++r) {
        CHECK(cell(d, static_cast<int>(r) + 1, 0) == (*fields)[r], "Mode %s: row %zu is '%s', want '%s'", mode, r + 1,
              cell(d, static_cast<int>(r) + 1, 0).c_str(), (*fields)[r].c_str());
    }
    const char* status = d.value("status");
    const char* source = d.value("source");
    CHECK(status && e.text("Playing") == status, "Mode %s: status '%s'", mode, status ? status : "(missing)");
    CHECK(source && strcmp(source, "simulator") == 0, "Mode %s: source '%s'", mode, source ? source : "(missing)");
    if (now) {
        CHECK(dat_shows(m.w, e.track(m.seed, m.current)), "Mode nowplaying: name '%s', want track %d",
              cell(d, 1, 1).c_str(), m.current);
        m.device = d.value("device") ? d.value("device") : "";
    } else {
        const char* connected = d.value("connected");
        CHECK(connected && strcmp(connected, "1") == 0, "Mode status: connected '%s'",
              connected ? connected : "(missing)");
    }
    note("Mode %s: %d rows x %d columns, status '%s'", mode, d.rows, d.cols, status ? status : "");
}

void check_queue(const Modes& m, int items) {
    const HostDatOutput& d = *m.w.dat_out;
    const char* mode = "queue";
    CHECK(items >= 3, "Mode queue: %d item(s), want the next tracks", items);
    for (int r = 1; r < d.rows; ++r) {
        CHECK(cell(d, r, col(d, mode, "position")) == std::to_string(r), "Mode queue row %d: position '%s'", r,
              cell(d, r, col(d, mode, "position")).c_str());
        CHECK(cell(d, r, col(d, mode, "type")) == "track", "Mode queue row %d: type '%s'", r,
              cell(d, r, col(d, mode, "type")).c_str());
        if (static_cast<size_t>(r) <= m.upcoming.size()) {
            check_track(m, mode, r, m.upcoming[static_cast<size_t>(r) - 1]);
        } else {
            fail("Mode queue row %d: the schedule has only %zu later track(s)", r, m.upcoming.size());
        }
    }
}

// Five swatches of the simulated cover, largest share first, hex matching r, g, b.
void check_palette(const HostDatOutput& d, int items) {
    const char* mode = "palette";
    CHECK(items == 5, "Mode palette: %d swatch(es), want 5", items);
    double total = 0, last = 2;
    for (int r = 1; r < d.rows; ++r) {
        auto at = [&](const char* name) { return cell(d, r, col(d, mode, name)); };
        const double share = atof(at("share").c_str());
        CHECK(at("rank") == std::to_string(r), "Mode palette row %d: rank '%s'", r, at("rank").c_str());
        CHECK(share <= last, "Mode palette row %d: share %f after %f", r, share, last);
        last = share;
        total += share;
        char hex[8];
        snprintf(hex, sizeof hex, "#%02x%02x%02x", static_cast<int>(atof(at("r").c_str()) * 255 + 0.5),
                 static_cast<int>(atof(at("g").c_str()) * 255 + 0.5),
                 static_cast<int>(atof(at("b").c_str()) * 255 + 0.5));
        CHECK(at("hex") == hex, "Mode palette row %d: hex '%s', r g b say %s", r, at("hex").c_str(), hex);
    }
    CHECK(total > 0.999 && total < 1.001, "Mode palette: shares add up to %f, want 1", total);
}

void check_devices(const Modes& m, int items) {
    const HostDatOutput& d = *m.w.dat_out;
    const char* mode = "devices";
    CHECK(items >= 1, "Mode devices: no device");
    bool playing_device = false;
    for (int r = 1; r < d.rows; ++r) {
        CHECK(!cell(d, r, col(d, mode, "name")).empty(), "Mode devices row %d has no name", r);
        playing_device |= cell(d, r, col(d, mode, "name")) == m.device && cell(d, r, col(d, mode, "is_active")) == "1";
    }
    CHECK(playing_device, "Mode devices: no active device named '%s' (the now-playing device)", m.device.c_str());
}

// The multi-row modes: a header row from the schema, then one row per item.
void check_list_mode(const Modes& m, const char* mode) {
    const HostDatOutput& d = *m.w.dat_out;
    const std::vector<std::string>* header = m.e.header(mode);
    if (!header) {
        return;
    }
    CHECK(d.cols == static_cast<int32_t>(header->size()), "Mode %s: %d columns, want %zu", mode, d.cols,
          header->size());
    for (size_t c = 0; c < header->size(); ++c) {
        CHECK(cell(d, 0, static_cast<int>(c)) == (*header)[c], "Mode %s: column %zu is '%s', want '%s'", mode, c,
              cell(d, 0, static_cast<int>(c)).c_str(), (*header)[c].c_str());
    }
    const int items = d.rows - 1;
    std::string listing;
    for (int r = 1; r < d.rows && r <= 3; ++r) {
        listing += (r > 1 ? ", " : "") + cell(d, r, d.col("name"));
    }
    note("Mode %s: %d rows x %d columns (%s%s)", mode, d.rows, d.cols, listing.c_str(), items > 3 ? ", ..." : "");
    if (strcmp(mode, "queue") == 0) {
        check_queue(m, items);
    } else if (strcmp(mode, "recent") == 0) {
        CHECK(items >= 1 && static_cast<size_t>(items) <= m.earlier.size(),
              "Mode recent: %d item(s), the schedule played %zu before", items, m.earlier.size());
        for (int r = 1; r < d.rows && static_cast<size_t>(r) <= m.earlier.size(); ++r) {
            check_track(m, mode, r, m.earlier[static_cast<size_t>(r) - 1]);
        }
    } else if (strcmp(mode, "palette") == 0) {
        check_palette(d, items);
    } else if (strcmp(mode, "visitors") == 0) {
        // Jukebox is off: the header alone.
        CHECK(items == 0, "Mode visitors: %d row(s) with Jukebox off", items);
    } else {
        check_devices(m, items);
    }
}

}  // namespace

// Every DAT mode: shape, header and rows, against the schema's headers and the simulator's
// schedule. Runs while the transport seed plays its second track.
void run_modes(World& w) {
    const Expectations& e = *w.exp;
    const long seed = e.transport_seed;
    const std::vector<int> after = neighbours(e, seed, 0, false);
    const int current = after.empty() ? 1 : after[0];
    Modes m{w, e, seed, current, neighbours(e, seed, current, false), neighbours(e, seed, current, true), ""};
    note("--- DAT modes while track %d plays", current);
    for (const char* mode : {"nowplaying", "queue", "recent", "devices", "status", "palette", "visitors", "nowplaying"}) {
        cook_mode(w, mode);
        if (strcmp(mode, "nowplaying") == 0 || strcmp(mode, "status") == 0) {
            check_field_mode(m, mode);
        } else {
            check_list_mode(m, mode);
        }
    }
    CHECK(w.dat_inputs.set_string("Mode", "nowplaying"), "cannot set Mode back");
    cook_both(w);
}

}  // namespace host
