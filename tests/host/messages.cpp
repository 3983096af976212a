// messages.cpp: warnings, errors, info popups and pulses, as TD shows them.
#include "world.h"

namespace host {

namespace {

// Resetcounters, and the info CHOP and DAT.
void check_reset_and_info(World& w) {
    const Tables& t = w.tables;
    const int c_count = t.channel("track_count");
    const float before = w.chop_run->value(c_count);
    w.chop->pulsePressed("Resetcounters", nullptr);
    w.chop->pulsePressed("Nosuchpulse", nullptr);
    const bool reset = cook_until(w, [&] { return w.chop_run->value(c_count) == 0; });
    CHECK(reset, "Resetcounters did not reset track_count (%g before, %g after)", before, w.chop_run->value(c_count));
    note("Resetcounters: track_count %g -> %g", before, w.chop_run->value(c_count));

    // The info CHOP and DAT follow the library's table.
    const InfoOutputs& info = w.chop_run->info;
    CHECK(info.chans == static_cast<int32_t>(t.infos.size()), "%d info channels, want %zu", info.chans, t.infos.size());
    CHECK(info.dat && info.dat_size.rows == static_cast<int32_t>(t.infos.size()), "info DAT has %d rows",
          info.dat_size.rows);
    std::string infos;
    for (int32_t i = 0; i < info.chans && i < static_cast<int32_t>(t.infos.size()); ++i) {
        CHECK(t.infos[i] == info.chan_names[i].c_str(), "info channel %d is '%s'", i, info.chan_names[i].c_str());
        CHECK(t.infos[i] == info.dat_cells[i][0].c_str(), "info DAT row %d is '%s'", i, info.dat_cells[i][0].c_str());
        CHECK(!info.dat_cells[i][1].empty(), "info DAT row %d has no value", i);
        infos += std::string(i ? ", " : "") + info.chan_names[i].c_str() + "=" + info.dat_cells[i][1].c_str();
    }
    note("info: %s", infos.c_str());
    CHECK(!info.popup.empty(), "the info popup is empty");
}

// Errors and warnings follow their cause, and Active off clears everything.
void check_messages_and_active(World& w) {
    const Tables& t = w.tables;
    const Expectations& e = *w.exp;
    const int c_status = t.channel("status");
    // Messages come and go with their cause. Spotify without a client id cannot work: red.
    char tokens[] = "/tmp/td-spotify-host-tokens-XXXXXX";  // an empty token cache: no saved login
    CHECK(mkdtemp(tokens) != nullptr, "cannot make a temporary folder");
    w.set_all("Tokencache", tokens);
    w.set_all("Clientid", "");
    w.set_all("Source", "Spotify");
    auto red = [&] { return !w.chop_run->info.error.empty() && !w.dat_run->info.error.empty(); };
    CHECK(cook_until(w, red), "Source Spotify without a Clientid: no error (CHOP '%s', DAT '%s'; warning '%s')",
          w.chop_run->info.error.c_str(), w.dat_run->info.error.c_str(), w.chop_run->info.warning.c_str());
    CHECK(strstr(w.chop_run->info.error.c_str(), "Clientid") != nullptr,
          "the missing client id error does not name the Clientid parameter: '%s'", w.chop_run->info.error.c_str());
    CHECK(w.chop_run->value(c_status) == e.code("Error"), "no Clientid: status %g", w.chop_run->value(c_status));
    note("Source Spotify, no Clientid: error '%s'", w.chop_run->info.error.c_str());

    // With a client id but no saved login, the error goes and a warning asks for a login.
    w.set_all("Clientid", "hostwarnclient");
    auto yellow = [&] {
        return w.chop_run->info.error.empty() && w.dat_run->info.error.empty() && !w.chop_run->info.warning.empty() &&
               !w.dat_run->info.warning.empty();
    };
    CHECK(cook_until(w, yellow), "Clientid set: error '%s', warning '%s'", w.chop_run->info.error.c_str(),
          w.chop_run->info.warning.c_str());
    CHECK(strstr(w.chop_run->info.warning.c_str(), "Login") != nullptr, "the login warning does not say Login: '%s'",
          w.chop_run->info.warning.c_str());
    CHECK(w.chop_run->value(c_status) == e.code("LoginRequired"), "no login: status %g",
          w.chop_run->value(c_status));
    const char* auth = w.dat_out->value("auth_state");
    CHECK(auth && strcmp(auth, "logged out") == 0, "no login: auth_state '%s'", auth ? auth : "(missing)");
    note("Source Spotify, Clientid set: warning '%s'", w.chop_run->info.warning.c_str());

    // Clearing the client id brings the error back.
    w.set_all("Clientid", "");
    CHECK(cook_until(w, red), "Clientid cleared: no error again (warning '%s')", w.chop_run->info.warning.c_str());

    w.set_all("Active", 0.0);
    w.chop_run->cook();
    w.dat_run->cook();
    CHECK(w.chop_run->value(c_status) == e.code("Inactive"), "inactive CHOP has status %g",
          w.chop_run->value(c_status));
    for (size_t c = 0; c < t.channels.size(); ++c) {
        CHECK(w.chop_run->value(static_cast<int>(c)) == 0, "inactive CHOP channel %s is %g", t.channels[c].c_str(),
              w.chop_run->value(static_cast<int>(c)));
    }
    CHECK(w.chop_run->info.error.sets == 0 && w.chop_run->info.warning.sets == 0,
          "inactive CHOP still shows '%s%s'", w.chop_run->info.error.c_str(), w.chop_run->info.warning.c_str());
    const char* status = w.dat_out->value("status");
    CHECK(status && e.text("Inactive") == status, "inactive DAT status '%s'", status ? status : "(missing)");
    CHECK(rmdir(tokens) == 0, "the empty token cache %s is no longer empty (or gone)", tokens);
}

void check_pulse_note(World& w) {
    const Expectations& e = *w.exp;
    const int c_status = w.tables.channel("status");
    // A pulse the operator cannot act on leaves a note, which clears by itself: cook sparsely
    // until it does, and bracket the moment with the time around the press.
    const int64_t note_ns = e.pulse_note_ms * 1000000;
    const int64_t pressed_from = now_ns();
    w.chop->pulsePressed("Next", nullptr);
    const int64_t pressed_to = now_ns();
    cook_both(w);
    const std::string pulse_note = w.chop_run->info.warning.c_str();
    CHECK(!pulse_note.empty(), "Next while Active is off: no warning");
    CHECK(w.dat_run->info.warning.empty(), "the DAT shows the CHOP's pulse note: '%s'", w.dat_run->info.warning.c_str());
    int64_t last_seen = pressed_to, cleared = -1;
    while (cleared < 0 && now_ns() < pressed_from + note_ns + 3000000000LL) {
        sleep_ms(note_ns - (now_ns() - pressed_from) > 600000000LL ? 500 : 50);
        const int64_t before_cook = now_ns();
        cook_both(w);
        if (w.chop_run->info.warning.empty()) {
            cleared = now_ns();
        } else {
            last_seen = before_cook;
            CHECK(pulse_note == w.chop_run->info.warning.c_str(), "the pulse note changed to '%s'",
                  w.chop_run->info.warning.c_str());
        }
    }
    CHECK(cleared > 0, "the pulse note '%s' never cleared", pulse_note.c_str());
    CHECK(cleared < 0 || cleared >= pressed_from + note_ns, "the pulse note cleared after %.2f s, want %.2f s",
          (cleared - pressed_from) * 1e-9, note_ns * 1e-9);
    CHECK(last_seen < pressed_to + note_ns, "the pulse note still showed %.2f s after the press, want %.2f s",
          (last_seen - pressed_to) * 1e-9, note_ns * 1e-9);
    CHECK(w.chop_run->info.error.empty() && w.chop_run->value(c_status) == e.code("Inactive"),
          "after the note: error '%s', status %g", w.chop_run->info.error.c_str(), w.chop_run->value(c_status));
    note("Next while inactive: warning '%s', shown for %.2f s (cleared by %.2f s; documented %.2f s)",
         pulse_note.c_str(), (last_seen - pressed_from) * 1e-9, (cleared - pressed_from) * 1e-9, note_ns * 1e-9);
}

}  // namespace

void run_messages_and_pulses(World& w) {
    note("--- pulses, messages and the Active toggle");
    check_reset_and_info(w);
    check_messages_and_active(w);
    check_pulse_note(w);
}

}  // namespace host
