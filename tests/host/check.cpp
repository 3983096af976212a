// check.cpp: `check`, the integration test: every scenario on one pair of operators.
#include "world.h"

namespace host {

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

namespace {

// The library's names: prints the channels and looks up the ones TouchDesigner artists wire.
void check_names(World& w) {
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
}

// The audio CHOP the first phase wires into the CHOP's input for a while.
void prepare_audio(World& w) {
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
}

// One CHOP and one DAT through every scenario; false when they cannot be created.
bool cook_the_pair(Plugin& p, const Expectations& exp) {
    World w;
    w.plugin = &p;
    w.exp = &exp;
    w.tables.read(p);
    check_names(w);

    create_pair(w, p);
    if (!w.chop || !w.dat) {
        fail("Create*Instance returned null");
        return false;
    }
    HostParameters chop_page, dat_page;
    w.chop->setupParameters(&chop_page, nullptr);
    w.dat->setupParameters(&dat_page, nullptr);
    setup_and_check_parameters("CHOP", TDS_FAMILY_CHOP, w.tables, chop_page, w.chop_inputs);
    setup_and_check_parameters("DAT", TDS_FAMILY_DAT, w.tables, dat_page, w.dat_inputs);
    check_promised_parameters("CHOP", TDS_FAMILY_CHOP, chop_page);
    check_promised_parameters("DAT", TDS_FAMILY_DAT, dat_page);
    check_host_refuses_bad_names();
    prepare_audio(w);

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
    return true;
}

void check_create_destroy_cycles(Plugin& p) {
    note("--- 100 create/destroy cycles");
    const int threads1 = thread_count(), fds1 = fd_count();
    for (int i = 0; i < 100; ++i) {
        quick_cycle(p, 500 + i % 7);
    }
    settle(threads1, fds1);
    note("threads %d -> %d, open fds %d -> %d", threads1, thread_count(), fds1, fd_count());
    CHECK(thread_count() == threads1, "threads grew from %d to %d", threads1, thread_count());
    CHECK(fd_count() == fds1, "open fds grew from %d to %d", fds1, fd_count());
}

// Back to the counts from before the first load: `threads0` and `fds0`.
void check_load_unload_cycles(const char* lib, int threads0, int fds0) {
    note("--- 20 dlopen/dlclose cycles");
    std::string err;
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
        if (!still_mapped(lib)) {
            ++unloaded;
        }
    }
    note("threads %d -> %d, open fds %d -> %d; the library was unmapped by %d of 20 dlclose calls", threads0,
         thread_count(), fds0, fd_count(), unloaded);
    CHECK(unloaded == 20, "the library stayed mapped after %d of 20 dlclose calls", 20 - unloaded);
    CHECK(thread_count() == threads0, "threads grew from %d to %d over load/unload", threads0, thread_count());
    CHECK(fd_count() == fds0, "open fds grew from %d to %d over load/unload", fds0, fd_count());
}

}  // namespace

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
    if (!cook_the_pair(p, exp)) {
        return 1;
    }
    settle(threads0, fd_count());
    CHECK(thread_count() == threads0, "%d threads after the operators were destroyed, %d before",
          thread_count(), threads0);
    check_create_destroy_cycles(p);
    p.close();
    check_load_unload_cycles(lib, threads0, fds0);

    return verdict();
}

}  // namespace host
