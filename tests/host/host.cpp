// host.cpp: a stand-in for TouchDesigner that loads the built plugin and cooks it frame by frame.
//
//   td-spotify-host check <plugin.so> <expectations.tsv>   the integration test (tests/plugin.rs)
//   td-spotify-host spotify <plugin.so> <exp.tsv> <chops>  operators sharing a Spotify engine (same)
//   td-spotify-host bench <plugin.so> [executes]            the benchmark (tests/bench/cook.rs)
//   td-spotify-host lifecycle <plugin.so> <exp.tsv> <port>  destroy/Active/Client ID while the API hangs
//   td-spotify-host count <plugin.so> <chop|dat> …          instruction counts (count.cpp)
//
// It knows nothing of the plugin's names: channel, row, parameter and info names come from the
// library's own tables (dlsym), and the simulator's schedule comes from the expectations file the
// Rust test writes with td_spotify::engine::simulator::Timeline. What it asserts is what
// TouchDesigner and an artist would see.
//
// The host's parts: report.h, expectations.h, world.h (shared), a file per scenario.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "world.h"

using namespace host;

int main(int argc, char** argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    if (argc == 4 && strcmp(argv[1], "check") == 0) {
        return run_check(argv[2], argv[3]);
    }
    if (argc == 5 && strcmp(argv[1], "spotify") == 0) {
        return run_spotify(argv[2], argv[3], atoi(argv[4]) > 0 ? atoi(argv[4]) : 1);
    }
    if (argc >= 2 && strcmp(argv[1], "count") == 0) {
        return host::run_count(argc, argv);
    }
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "bench") == 0) {
        const int iterations = argc == 4 ? atoi(argv[3]) : 10000;
        return run_bench(argv[2], iterations > 0 ? iterations : 10000);
    }
    if (argc == 5 && strcmp(argv[1], "lifecycle") == 0) {
        return run_lifecycle(argv[2], argv[3], atoi(argv[4]));
    }
    if (argc == 5 && strcmp(argv[1], "cycles") == 0) {
        return run_cycles(argv[2], atoi(argv[3]), atoi(argv[4]));
    }
    fprintf(stderr,
            "usage: %s check <plugin> <expectations.tsv>\n"
            "       %s spotify <plugin> <expectations.tsv> <chops>\n"
            "       %s bench <plugin> [executes]\n"
            "       %s lifecycle <plugin> <expectations.tsv> <port>\n"
            "       %s cycles <plugin> <create/destroy cycles> <load/unload cycles>\n",
            argv[0], argv[0], argv[0], argv[0], argv[0]);
    return 2;
}
