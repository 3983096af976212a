// transport.cpp: playback pulses (Next, Playpause, Previous) on the simulator, in real time.
#include "world.h"

namespace host {

// The tracks the schedule of `seed` plays after (or, with `before`, before) its first showing of
// `track`, nearest first, each once.
std::vector<int> neighbours(const Expectations& e, long seed, int track, bool before) {
    const std::vector<int> states = e.states(seed);
    const auto at = std::find(states.begin(), states.end(), track);
    std::vector<int> out;
    if (at == states.end()) {
        return out;
    }
    auto add = [&out](int st) {
        if (st >= 0 && std::find(out.begin(), out.end(), st) == out.end()) {
            out.push_back(st);
        }
    };
    if (before) {
        for (auto it = at; it != states.begin();) {
            add(*--it);
        }
    } else {
        for (auto it = at + 1; it != states.end(); ++it) {
            add(*it);
        }
    }
    return out;
}

// Whether the DAT's `field | value` table shows `tr`.
bool dat_shows(const World& w, const Track* tr) {
    const char* id = w.dat_out->value("track_id");
    const char* name = w.dat_out->value("name");
    return tr && id && name && tr->id == id && tr->name == name;
}

bool chop_shows(const World& w, const Track* tr) {
    const float duration = w.chop_run->value(w.tables.channel("duration"));
    const float tempo = w.chop_run->value(w.tables.channel("tempo"));
    return tr && std::fabs(duration - tr->duration_ms / 1000.0) < 2e-3 && std::fabs(tempo - tr->tempo) < 2e-3;
}

// Presses `pulse` on the CHOP, cooks until both operators show `tr`, then a little longer, and
// checks that `track_changed` fired exactly once.
void skip_to(World& w, const char* pulse, const Track* tr) {
    w.track_changes = 0;
    w.chop->pulsePressed(pulse, nullptr);
    const bool shown = cook_until(w, [&] { return dat_shows(w, tr) && chop_shows(w, tr); });
    const char* name = w.dat_out->value("name");
    CHECK(shown, "%s: the DAT's name row is '%s', want '%s' (track %d of the schedule)", pulse,
          name ? name : "(missing)", tr ? tr->name.c_str() : "?", tr ? tr->index : -1);
    cook_frames(w, 10);  // a second pulse, or a stuck one, would show here
    CHECK(w.track_changes == 1, "%s: track_changed fired %d time(s), want once", pulse, w.track_changes);
    CHECK(w.chop_run->info.warning.empty() && w.chop_run->info.error.empty(), "%s: the CHOP shows '%s%s'", pulse,
          w.chop_run->info.warning.c_str(), w.chop_run->info.error.c_str());
    note("%s: now '%s' (track %d); track_changed fired %d time(s)", pulse, name ? name : "", tr ? tr->index : -1,
         w.track_changes);
}

// Playback pulses on the simulator at real time: Next, Playpause twice, Previous, then Next again
// (the modes are checked on the second track).
void run_transport(World& w) {
    const Expectations& e = *w.exp;
    const Tables& t = w.tables;
    const long seed = e.transport_seed;
    note("--- playback pulses: Simseed %ld at real time", seed);
    w.set_all("Active", 1.0);
    w.set_all("Source", "Simulator");
    w.set_all("Simseed", static_cast<double>(seed));
    w.set_all("Simspeed", 1.0);
    const int c_playing = t.channel("playing"), c_position = t.channel("position"), c_status = t.channel("status");
    const Track* first = e.track(seed, 0);
    const std::vector<int> after = neighbours(e, seed, 0, false);
    const Track* second = after.empty() ? nullptr : e.track(seed, after[0]);
    if (!first || !second) {
        fail("expectations: the transport seed %ld has no first and next track", seed);
        return;
    }
    const bool started = cook_until(w, [&] {
        return dat_shows(w, first) && chop_shows(w, first) && w.chop_run->value(c_playing) == 1;
    });
    CHECK(started, "Simseed %ld: the first track '%s' never played", seed, first->name.c_str());
    cook_frames(w, 3);

    skip_to(w, "Next", second);

    // Playpause holds the position; pressed again, playback goes on from there.
    w.track_changes = 0;
    w.chop->pulsePressed("Playpause", nullptr);
    CHECK(cook_until(w, [&] { return w.chop_run->value(c_playing) == 0; }), "Playpause: playing stayed 1");
    const float held = w.chop_run->value(c_position);
    for (int i = 0; i < 20; ++i) {
        cook_both(w);
        sleep_ms(16);
        const float pos = w.chop_run->value(c_position);
        const char* playing = w.dat_out->value("is_playing");
        const char* status = w.dat_out->value("status");
        CHECK(pos == held, "paused: position moved from %.4f to %.4f s", held, pos);
        CHECK(w.chop_run->value(c_playing) == 0 && w.chop_run->value(c_status) == e.code("Paused"),
              "paused: playing %g, status %g", w.chop_run->value(c_playing), w.chop_run->value(c_status));
        CHECK(playing && strcmp(playing, "0") == 0 && status && e.text("Paused") == status,
              "paused: the DAT says is_playing '%s', status '%s'", playing ? playing : "?", status ? status : "?");
        CHECK(dat_shows(w, second), "paused: the DAT no longer shows '%s'", second->name.c_str());
    }
    w.chop->pulsePressed("Playpause", nullptr);
    CHECK(cook_until(w, [&] { return w.chop_run->value(c_playing) == 1; }), "Playpause again: playing stayed 0");
    const float resumed = w.chop_run->value(c_position);
    CHECK(resumed >= held && resumed < held + 0.5f, "resumed at %.4f s, paused at %.4f s", resumed, held);
    cook_frames(w, 10);
    CHECK(w.chop_run->value(c_position) > resumed, "resumed, but position stays at %.4f s", resumed);
    CHECK(w.track_changes == 0, "pause and resume fired track_changed %d time(s)", w.track_changes);
    note("Playpause: held at %.3f s for 20 cooks, resumed at %.3f s", held, resumed);

    // Previous goes back only within the first seconds of a track (then it restarts the track).
    const float position = w.chop_run->value(c_position);
    CHECK(position < 2.5f, "Previous: %.2f s into the track already; the host was too slow", position);
    skip_to(w, "Previous", first);
    skip_to(w, "Next", second);
}

}  // namespace host
