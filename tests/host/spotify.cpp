// spotify.cpp: `spotify`, operators of one Spotify account sharing one engine.
#include "world.h"

namespace host {

// ---------------------------------------------------------------------------------------------
// Operators of one Spotify account (tests/plugin.rs serves the Web API and saves the login)

// One operator of the Spotify run, with what TD would own for it.
struct SpotifyOp {
    std::string path;
    OP_NodeInfo node{};
    HostParameters page;
    HostInputs inputs;
    std::unique_ptr<ChopRunner> chop;
    std::unique_ptr<DatRunner> dat;
    std::unique_ptr<HostDatOutput> dat_out;
};

namespace {

// Operator `i` (the DAT when `dat`), created, set up and pointed at the saved login; null when
// create failed.
std::unique_ptr<SpotifyOp> make_op(Plugin& p, const char* lib, const SpotifyRun& sp, int i, bool dat) {
    std::unique_ptr<SpotifyOp> op(new SpotifyOp());
    op->path = dat ? "/project1/spotify_dat1" : "/project1/spotify" + std::to_string(i + 1);
    op->node.opPath = op->path.c_str();
    op->node.opId = static_cast<uint32_t>(i + 1);
    op->node.pluginPath = lib;
    if (dat) {
        op->dat.reset(new DatRunner());
        op->dat_out.reset(new HostDatOutput());
        op->dat->op = p.create_dat(&op->node);
        op->dat->inputs = &op->inputs;
        op->dat->out = op->dat_out.get();
        if (op->dat->op) {
            op->dat->op->setupParameters(&op->page, nullptr);
        }
    } else {
        op->chop.reset(new ChopRunner());
        op->chop->op = p.create_chop(&op->node);
        op->chop->inputs = &op->inputs;
        if (op->chop->op) {
            op->chop->op->setupParameters(&op->page, nullptr);
        }
    }
    if ((op->chop && !op->chop->op) || (op->dat && !op->dat->op)) {
        fail("%s: create returned null", op->path.c_str());
        return nullptr;
    }
    op->inputs.define(op->page);
    CHECK(op->inputs.set_string("Source", "Spotify") && op->inputs.set_string("Clientid", sp.client_id.c_str()) &&
              op->inputs.set_string("Tokencache", sp.token_dir.c_str()) &&
              op->inputs.set_number("Pollinterval", 0.5),
          "%s: cannot set the Spotify parameters", op->path.c_str());
    return op;
}

// Cooks every operator at 60 fps for the run's length; returns the first frame where all of
// them showed the track playing, or -1.
int cook_all(std::vector<std::unique_ptr<SpotifyOp>>& ops, const Tables& t, const SpotifyRun& sp) {
    const int c_playing = t.channel("playing"), c_duration = t.channel("duration");
    const int frames = static_cast<int>(sp.seconds * 60);
    const int64_t period = 1000000000 / 60;
    const int64_t t0 = now_ns();
    int first_all_playing = -1;
    uint64_t allocs = 0, frees = 0;
    for (int k = 0; k < frames; ++k) {
        sleep_until_ns(t0 + period * k);
        bool all_playing = true;
        for (auto& op : ops) {
            if (op->chop) {
                // The first cook applies the parameters and finds (or starts) the engine.
                if (k > 0) {
                    alloc_count_begin();
                }
                op->chop->cook();
                if (k > 0) {
                    const AllocCounts a = alloc_count_end();
                    allocs += a.allocs;
                    frees += a.frees;
                }
                all_playing &= op->chop->value(c_playing) == 1 &&
                               std::fabs(op->chop->value(c_duration) - sp.duration_ms / 1000.0) < 2e-3;
                CHECK(op->chop->problems == 0 && op->chop->info.problems == 0, "%s: output out of bounds",
                      op->path.c_str());
            } else {
                op->dat->cook();
                const char* name = op->dat_out->value("name");
                all_playing &= name && sp.name == name;
            }
        }
        if (all_playing && first_all_playing < 0) {
            first_all_playing = k;
        }
    }
    CHECK(allocs == 0 && frees == 0, "Spotify CHOP cooks made %llu allocations, %llu frees",
          static_cast<unsigned long long>(allocs), static_cast<unsigned long long>(frees));
    return first_all_playing;
}

// What one CHOP (against the first, `lead`) or the DAT shows on the last frame.
void check_op_shows(const SpotifyOp& op, const ChopRunner& lead, const Tables& t, const Expectations& exp) {
    const SpotifyRun& sp = exp.spotify;
    const char* who = op.path.c_str();
    const int c_playing = t.channel("playing"), c_duration = t.channel("duration"),
              c_position = t.channel("position"), c_connected = t.channel("connected"),
              c_status = t.channel("status");
    if (op.chop) {
        const ChopRunner& c = *op.chop;
        CHECK(c.value(c_playing) == 1 && c.value(c_connected) == 1 && c.value(c_status) == exp.code("Playing"),
              "%s: playing %g, connected %g, status %g", who, c.value(c_playing), c.value(c_connected),
              c.value(c_status));
        CHECK(std::fabs(c.value(c_duration) - sp.duration_ms / 1000.0) < 2e-3, "%s: duration %g, want %g", who,
              c.value(c_duration), sp.duration_ms / 1000.0);
        // Cooked microseconds apart from one snapshot: the same position, give or take.
        CHECK(std::fabs(c.value(c_position) - lead.value(c_position)) < 0.05f, "%s: position %g, the first says %g",
              who, c.value(c_position), lead.value(c_position));
    } else {
        const HostDatOutput& d = *op.dat_out;
        auto val = [&d](const char* f) { return std::string(d.value(f) ? d.value(f) : "(missing)"); };
        CHECK(val("name") == sp.name && val("uri") == sp.uri && val("is_playing") == "1",
              "%s: '%s' (%s), is_playing %s; want '%s' (%s) playing", who, val("name").c_str(), val("uri").c_str(),
              val("is_playing").c_str(), sp.name.c_str(), sp.uri.c_str());
        CHECK(val("source") == "spotify" && val("auth_state") == "logged in" && val("user") == sp.user,
              "%s: source '%s', auth_state '%s', user '%s'", who, val("source").c_str(), val("auth_state").c_str(),
              val("user").c_str());
        CHECK(val("status") == exp.text("Playing"), "%s: status '%s'", who, val("status").c_str());
    }
}

// The last frame: every operator shows the one engine's view.
void check_last_frame(const std::vector<std::unique_ptr<SpotifyOp>>& ops, const Tables& t, const Expectations& exp,
                      int first_all_playing) {
    const int i_threads = t.info("engine_threads"), i_requests = t.info("requests");
    const ChopRunner& lead = *ops.front()->chop;
    const float lead_requests = lead.info.chan_values[i_requests];
    for (auto& op : ops) {
        const InfoOutputs& info = op->chop ? op->chop->info : op->dat->info;
        const char* who = op->path.c_str();
        CHECK(info.error.empty() && info.warning.empty(), "%s shows '%s%s'", who, info.error.c_str(),
              info.warning.c_str());
        CHECK(info.chan_values[i_threads] == 1, "%s: engine_threads is %g, want 1", who, info.chan_values[i_threads]);
        CHECK(std::fabs(info.chan_values[i_requests] - lead_requests) <= 1, "%s: requests %g, the first CHOP says %g",
              who, info.chan_values[i_requests], lead_requests);
        check_op_shows(*op, lead, t, exp);
        for (HostInputs* in : {&op->inputs}) {
            CHECK(in->unknown_lookups == 0 && in->wrong_kind_lookups == 0 && in->other_calls == 0,
                  "%s: %d unknown, %d wrong-kind, %d other OP_Inputs call(s)", who, in->unknown_lookups,
                  in->wrong_kind_lookups, in->other_calls);
        }
    }
    note("all %zu operators showed '%s' playing after %.2f s; engine_threads %g; the engine made %g request(s)",
         ops.size(), exp.spotify.name.c_str(), first_all_playing / 60.0, lead.info.chan_values[i_threads],
         lead_requests);
}

}  // namespace

int run_spotify(const char* lib, const char* exp_path, int chops) {
    Expectations exp;
    if (!exp.load(exp_path) || !exp.spotify.set) {
        fail("cannot read the Spotify expectations %s", exp_path);
        return 1;
    }
    const SpotifyRun& sp = exp.spotify;
    const int threads0 = thread_count();
    Plugin p;
    std::string err;
    if (!p.open(lib, err)) {
        fail("%s", err.c_str());
        return 1;
    }
    Tables t;
    t.read(p);
    const bool with_dat = chops > 1;
    note("--- %d Spotify CHOP(s)%s for client id %s, %.1f s", chops, with_dat ? " and a DAT" : "",
         sp.client_id.c_str(), sp.seconds);

    std::vector<std::unique_ptr<SpotifyOp>> ops;
    for (int i = 0; i < chops + (with_dat ? 1 : 0); ++i) {
        std::unique_ptr<SpotifyOp> op = make_op(p, lib, sp, i, i == chops);
        if (!op) {
            return 1;
        }
        ops.push_back(std::move(op));
    }
    const int first_all_playing = cook_all(ops, t, sp);
    CHECK(first_all_playing >= 0, "the operators never all showed '%s' playing", sp.name.c_str());
    check_last_frame(ops, t, exp, first_all_playing);

    const int threads_running = thread_count();
    for (auto& op : ops) {
        if (op->chop) {
            p.destroy_chop(op->chop->op);
        } else {
            p.destroy_dat(op->dat->op);
        }
    }
    ops.clear();
    note("threads: %d before, %d while cooking, %d after the operators were destroyed", threads0, threads_running,
         thread_count());
    CHECK(thread_count() == threads0, "%d threads after the operators were destroyed, %d before", thread_count(),
          threads0);
    p.close();
    return verdict();
}

}  // namespace host
