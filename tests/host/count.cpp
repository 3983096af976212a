// count.cpp: cooks one operator N times for an instruction count (tests/bench/instructions.rs).
//
//   td-spotify-host count <plugin.so> <chop|dat> <Simulator|Spotify> <audio 0|1> <executes>
//                         [client id] [token folder]
//
// The benchmark runs this under `valgrind --tool=callgrind --collect-atstart=no` with collection
// toggled on inside the plugin's `execute`, so only the cooks count, not start-up or warm-up.
// Parameters stay unchanged across the counted cooks, as in a show.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memory>
#include <string>
#include <vector>

#include "td_host.h"

// The client requests are no-ops outside valgrind; without the header the whole run counts.
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(what)
#endif

using namespace host;

namespace {

void pause_ms(int ms) {
    struct timespec ts = {ms / 1000, static_cast<long>(ms % 1000) * 1000000L};
    nanosleep(&ts, nullptr);
}

int channel_index(Plugin& p, const char* name) {
    for (uint32_t i = 0; i < p.channel_count(); ++i) {
        if (strcmp(p.channel_name(i), name) == 0) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

// Cooks the CHOP (or else the DAT) until it plays, for at most 300 cooks; true when it does.
bool warm_up(ChopRunner* chop_run, DatRunner* dat_run, const HostDatOutput& dat_out, int c_playing) {
    bool playing = false;
    for (int k = 0; k < 300 && !playing; ++k) {
        if (chop_run) {
            chop_run->cook();
            playing = c_playing >= 0 && chop_run->value(c_playing) == 1.0f;
        } else {
            dat_run->cook();
            const char* status = dat_out.value("status");
            playing = status && strcmp(status, "Playing") == 0;
        }
        if (!playing) {
            pause_ms(50);
        }
    }
    return playing;
}

}  // namespace

namespace host {

int run_count(int argc, char** argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s count <plugin> <chop|dat> <source> <audio 0|1> <executes> [client id] [tokens]\n",
                argv[0]);
        return 2;
    }
    const bool chop = strcmp(argv[3], "chop") == 0;
    const char* source = argv[4];
    const bool audio = atoi(argv[5]) != 0;
    const int executes = atoi(argv[6]) > 0 ? atoi(argv[6]) : 100;
    Plugin p;
    std::string err;
    if (!p.open(argv[2], err)) {
        fprintf(stderr, "%s\n", err.c_str());
        return 1;
    }
    OP_NodeInfo node{};
    node.opPath = chop ? "/project1/spotify1" : "/project1/spotify_dat1";
    node.opId = 1;
    node.pluginPath = argv[2];
    HostParameters page;
    HostInputs inputs;
    std::unique_ptr<ChopRunner> chop_run(new ChopRunner());
    std::unique_ptr<DatRunner> dat_run(new DatRunner());
    std::unique_ptr<HostDatOutput> dat_out(new HostDatOutput());
    if (chop) {
        chop_run->op = p.create_chop(&node);
        chop_run->inputs = &inputs;
        chop_run->op->setupParameters(&page, nullptr);
    } else {
        dat_run->op = p.create_dat(&node);
        dat_run->inputs = &inputs;
        dat_run->out = dat_out.get();
        dat_run->op->setupParameters(&page, nullptr);
    }
    inputs.define(page);
    bool ok = inputs.set_string("Source", source);
    if (argc >= 9) {
        ok &= inputs.set_string("Clientid", argv[7]) && inputs.set_string("Tokencache", argv[8]);
    }
    if (!ok) {
        fprintf(stderr, "cannot set the parameters\n");
        return 1;
    }
    // One frame of stereo audio at 44.1 kHz / 60 fps, as an Audio Device In CHOP hands over.
    std::vector<float> left(735, 0.25f), right(735, -0.25f);
    const float* ptrs[2] = {left.data(), right.data()};
    const char* names[2] = {"chan1", "chan2"};
    OP_CHOPInput in{};
    in.opPath = "/project1/audiodevin1";
    in.numChannels = 2;
    in.numSamples = 735;
    in.sampleRate = 44100;
    in.channelData = ptrs;
    in.nameData = names;
    inputs.chop_input = audio ? &in : nullptr;

    // Warm-up (not counted): start the engine and, with audio, the beat tracker; wait until it
    // plays, so the counted cooks read a full snapshot.
    const bool playing = warm_up(chop ? chop_run.get() : nullptr, chop ? nullptr : dat_run.get(), *dat_out,
                                 channel_index(p, "playing"));
    CALLGRIND_ZERO_STATS;
    for (int k = 0; k < executes; ++k) {
        if (chop) {
            chop_run->cook();
        } else {
            dat_run->cook();
        }
    }
    CALLGRIND_DUMP_STATS_AT("counted cooks");
    printf("count: %s %s audio=%d executes=%d playing=%s\n", chop ? "chop" : "dat", source, audio ? 1 : 0, executes,
           playing ? "yes" : "no");
    if (chop) {
        p.destroy_chop(chop_run->op);
    } else {
        p.destroy_dat(dat_run->op);
    }
    p.close();
    return playing ? 0 : 3;
}

}  // namespace host
