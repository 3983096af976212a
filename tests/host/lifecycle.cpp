// lifecycle.cpp: `lifecycle`, destroy, Active and Client ID while the network hangs.
#include "world.h"

namespace host {

// ---------------------------------------------------------------------------------------------
// Lifecycle while the network hangs (tests/plugin.rs serves a Web API that never answers)

// A logged-in Spotify CHOP whose Web API hangs: cooked for a while, ten Next pulses queued.
struct HangingOp {
    OP_NodeInfo node{};
    HostParameters page;
    HostInputs inputs;
    ChopRunner chop;
};

std::unique_ptr<HangingOp> hanging_op(Plugin& p, const SpotifyRun& sp, const char* lib, int port) {
    std::unique_ptr<HangingOp> op(new HangingOp());
    op->node.opPath = "/project1/spotify_hang";
    op->node.opId = 77;
    op->node.pluginPath = lib;
    op->chop.op = p.create_chop(&op->node);
    op->chop.inputs = &op->inputs;
    if (!op->chop.op) {
        fail("create returned null");
        return nullptr;
    }
    op->chop.op->setupParameters(&op->page, nullptr);
    op->inputs.define(op->page);
    CHECK(op->inputs.set_string("Source", "Spotify") && op->inputs.set_string("Clientid", sp.client_id.c_str()) &&
              op->inputs.set_string("Tokencache", sp.token_dir.c_str()) &&
              op->inputs.set_number("Pollinterval", 0.5) && op->inputs.set_number("Port", port),
          "cannot set the Spotify parameters");
    return op;
}

// Cooks for a second, so the engine has loaded the saved login and its first player request is
// in flight (and hangs: tests/plugin.rs checks the server saw it), then presses Next ten times.
void hang_and_press(HangingOp& op, const Tables& t) {
    const int c_connected = t.channel("connected");
    for (int k = 0; k < 60; ++k) {
        op.chop.cook();
        sleep_ms(16);
    }
    CHECK(op.chop.value(c_connected) == 0, "connected %g although the Web API never answered",
          op.chop.value(c_connected));
    for (int i = 0; i < 10; ++i) {
        op.chop.op->pulsePressed("Next", nullptr);
    }
    op.chop.cook();
    sleep_ms(50);
    op.chop.cook();
}

double ms_since(int64_t t0) { return (now_ns() - t0) / 1e6; }

// Active off, then a new Client ID, then a destroy during a login: each within `bound_ms` while the
// Web API hangs. False when the operator could not be created.
bool change_while_hanging(Plugin& p, const SpotifyRun& sp, const char* lib, int port, const Tables& t,
                          double bound_ms) {
    note("--- Active off, then a new Client ID, while the Web API hangs");
    std::unique_ptr<HangingOp> op = hanging_op(p, sp, lib, port);
    if (!op) {
        return false;
    }
    hang_and_press(*op, t);
    op->inputs.set_number("Active", 0);
    int64_t t0 = now_ns();
    op->chop.cook();
    double took = ms_since(t0);
    note("the cook that turned Active off took %.3f ms", took);
    CHECK(took < bound_ms, "turning Active off took %.3f ms while the network hangs", took);

    op->inputs.set_number("Active", 1);
    hang_and_press(*op, t);
    op->inputs.set_string("Clientid", "anotherclient");
    t0 = now_ns();
    op->chop.cook();
    took = ms_since(t0);
    note("the cook that changed Client ID took %.3f ms", took);
    CHECK(took < bound_ms, "changing Client ID took %.3f ms while the network hangs", took);

    note("--- destroy while a login is under way");
    op->chop.op->pulsePressed("Login", nullptr);
    for (int k = 0; k < 10; ++k) {
        op->chop.cook();
        sleep_ms(16);
    }
    t0 = now_ns();
    p.destroy_chop(op->chop.op);
    took = ms_since(t0);
    note("DestroyCHOPInstance during a login returned in %.3f ms", took);
    CHECK(took < bound_ms, "DestroyCHOPInstance during a login took %.3f ms", took);
    return true;
}

int run_lifecycle(const char* lib, const char* exp_path, int port) {
    Expectations exp;
    if (!exp.load(exp_path) || !exp.spotify.set) {
        fail("cannot read the Spotify expectations %s", exp_path);
        return 1;
    }
    const SpotifyRun& sp = exp.spotify;
    const int threads0 = thread_count(), fds0 = fd_count();
    const double bound_ms = 5.0;
    Plugin p;
    std::string err;
    if (!p.open(lib, err)) {
        fail("%s", err.c_str());
        return 1;
    }
    Tables t;
    t.read(p);

    note("--- destroy a logged-in CHOP while the Web API hangs, ten Next pulses queued");
    for (int round = 0; round < 3; ++round) {
        std::unique_ptr<HangingOp> op = hanging_op(p, sp, lib, port);
        if (!op) {
            return 1;
        }
        hang_and_press(*op, t);
        const int64_t t0 = now_ns();
        p.destroy_chop(op->chop.op);
        const double took = ms_since(t0);
        note("DestroyCHOPInstance returned in %.3f ms", took);
        CHECK(took < bound_ms, "DestroyCHOPInstance took %.3f ms while the network hangs", took);
        settle(threads0, fds0);
    }

    if (!change_while_hanging(p, sp, lib, port, t, bound_ms)) {
        return 1;
    }

    settle(threads0, fds0);
    note("threads %d -> %d, open fds %d -> %d", threads0, thread_count(), fds0, fd_count());
    CHECK(thread_count() == threads0, "%d threads after every operator was destroyed, %d before", thread_count(),
          threads0);
    CHECK(fd_count() == fds0, "%d open fds after every operator was destroyed, %d before", fd_count(), fds0);
    p.close();
    CHECK(!still_mapped(lib), "the library stayed mapped after dlclose");
    return verdict();
}

}  // namespace host
