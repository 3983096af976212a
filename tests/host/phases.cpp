// phases.cpp: cooking a CHOP and a DAT at 60 fps through the simulator's schedule, frame by frame.
#include "world.h"

namespace host {

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

namespace {

// The channels a phase checks, by index in the library's table, and the status codes it expects.
struct PhaseChannels {
    int playing, position, duration, progress, remaining, changed, tempo, status, connected;
    int code_playing, code_paused, code_waiting;
};

PhaseChannels phase_channels(const Tables& t, const Expectations& e) {
    return PhaseChannels{t.channel("playing"),   t.channel("position"),      t.channel("duration"),
                         t.channel("progress"),  t.channel("remaining"),     t.channel("track_changed"),
                         t.channel("tempo"),     t.channel("status"),        t.channel("connected"),
                         e.code("Playing"),      e.code("Paused"),           e.code("Waiting")};
}

// Cooks frame `k` of a phase into `f` and checks the CHOP's output has the table's shape; false
// when it has not (the phase stops there).
bool cook_frame(World& w, const Phase& ph, int k, bool first, Frame& f) {
    const Tables& t = w.tables;
    ChopRunner& chop = *w.chop_run;
    DatRunner& dat = *w.dat_run;
    // An audio CHOP wired into the input for a while: the output must not change shape.
    const int audio_from = 100;
    w.chop_inputs.chop_input = (first && k >= audio_from && k < 160) ? &w.audio : nullptr;
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
        return false;
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
    return true;
}

// What the CHOP shows in frame `k`: a track of the playlist, consistent channels, or waiting.
void check_chop_frame(const Expectations& e, const Phase& ph, int k, const PhaseChannels& c, Frame& f) {
    const int code_playing = c.code_playing, code_paused = c.code_paused, code_waiting = c.code_waiting;
    const float duration = f.ch[c.duration], position = f.ch[c.position];
    const int status = static_cast<int>(f.ch[c.status]);
    if (duration > 0) {
        const Track* tr = e.by_channels(ph.seed, duration, f.ch[c.tempo]);
        CHECK(tr != nullptr, "%s frame %d: CHOP shows a track (%.3f s, %.1f BPM) not in the playlist",
              ph.name.c_str(), k, duration, f.ch[c.tempo]);
        f.chop_state = tr ? tr->index : -2;
        CHECK(status == code_playing || status == code_paused, "frame %d: status %d with a track", k, status);
        CHECK((f.ch[c.playing] == 1) == (status == code_playing), "frame %d: playing %g, status %d", k,
              f.ch[c.playing], status);
        CHECK(std::fabs(f.ch[c.progress] - position / duration) < 1e-4, "frame %d: progress %g at %g/%g", k,
              f.ch[c.progress], position, duration);
        CHECK(std::fabs(f.ch[c.remaining] - (duration - position)) < 1e-3, "frame %d: remaining %g", k,
              f.ch[c.remaining]);
        CHECK(position >= 0 && position <= duration, "frame %d: position %g outside 0..%g", k, position, duration);
        CHECK(f.ch[c.connected] == 1, "frame %d: not connected while playing", k);
    } else if (status == code_waiting) {
        f.chop_state = -1;
        CHECK(f.ch[c.playing] == 0 && position == 0, "frame %d: waiting but playing %g position %g", k,
              f.ch[c.playing], position);
    }
}

// track_changed: 1 exactly on the cooks where a new track appears, one cook wide. Returns the
// frames it pulsed on.
std::vector<int> check_track_changed(const Phase& ph, const std::vector<Frame>& frames, int c_changed) {
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
    return changed_frames;
}

// position: between two cooks of one playing track it advances by Simspeed x the time between
// the two engine reads, which lie inside the host's timestamps around each execute.
void check_position(const Phase& ph, const std::vector<Frame>& frames, const PhaseChannels& c) {
    int pairs = 0;
    double advanced = 0, elapsed = 0, worst = 0;
    for (int k = 1; k < ph.frames; ++k) {
        const Frame& a = frames[static_cast<size_t>(k - 1)];
        const Frame& b = frames[static_cast<size_t>(k)];
        if (a.chop_state < 0 || a.chop_state != b.chop_state || a.ch[c.playing] != 1 || b.ch[c.playing] != 1 ||
            b.ch[c.position] >= b.ch[c.duration] - 1e-3f) {
            continue;
        }
        const double d = static_cast<double>(b.ch[c.position]) - a.ch[c.position];
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
}

// The order of tracks and gaps follows the simulator's schedule.
void check_order(const Expectations& e, const Phase& ph, const std::vector<Frame>& frames) {
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
}

// No heap traffic in the CHOP's execute once parameters are applied; and the frames' pace.
void check_allocations(const Phase& ph, const std::vector<Frame>& frames) {
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

}  // namespace

void run_phase(World& w, const Phase& ph) {
    const Expectations& e = *w.exp;
    note("--- phase %s: seed %ld, Simspeed %g, %d frames at 60 fps", ph.name.c_str(), ph.seed, ph.speed, ph.frames);
    w.set_all("Active", 1.0);
    w.set_all("Source", "Simulator");
    w.set_all("Simseed", static_cast<double>(ph.seed));
    w.set_all("Simspeed", ph.speed);

    const PhaseChannels c = phase_channels(w.tables, e);
    const bool first = &ph == &e.phases.front();
    std::vector<Frame> frames(static_cast<size_t>(ph.frames));
    const int64_t period = 1000000000 / 60;
    const int64_t t0 = now_ns();
    for (int k = 0; k < ph.frames; ++k) {
        sleep_until_ns(t0 + period * k);
        Frame& f = frames[static_cast<size_t>(k)];
        if (!cook_frame(w, ph, k, first, f)) {
            return;
        }
        check_chop_frame(e, ph, k, c, f);
        f.dat_state = check_dat(w, ph, k, f);
    }

    const std::vector<int> changed_frames = check_track_changed(ph, frames, c.changed);
    check_position(ph, frames, c);
    check_order(e, ph, frames);
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
    check_allocations(ph, frames);
}

}  // namespace host
