// bench.cpp: `bench`, the cook's time and allocations (tests/bench/cook.rs).
#include "world.h"

namespace host {

// ---------------------------------------------------------------------------------------------
// The benchmark

struct Timing {
    std::vector<int64_t> ns;
    uint64_t allocs = 0, frees = 0;

    void print(const char* what) {
        std::sort(ns.begin(), ns.end());
        const size_t n = ns.size();
        double mean = 0;
        for (int64_t v : ns) {
            mean += static_cast<double>(v);
        }
        mean /= static_cast<double>(n);
        printf("%-16s median %6lld ns   p99 %7lld ns   mean %7.0f ns   max %8lld ns   "
               "allocations/cook %.3f (frees %.3f)\n",
               what, static_cast<long long>(ns[n / 2]), static_cast<long long>(ns[n * 99 / 100]), mean,
               static_cast<long long>(ns[n - 1]), static_cast<double>(allocs) / n, static_cast<double>(frees) / n);
    }
};

template <typename F>
Timing measure(int iterations, F&& cook) {
    Timing t;
    t.ns.reserve(static_cast<size_t>(iterations));
    for (int i = 0; i < iterations; ++i) {
        alloc_count_begin();
        const int64_t ns = cook();
        const AllocCounts a = alloc_count_end();
        t.allocs += a.allocs;
        t.frees += a.frees;
        t.ns.push_back(ns);
    }
    return t;
}

int run_bench(const char* lib, int iterations) {
    Plugin p;
    std::string err;
    if (!p.open(lib, err)) {
        fprintf(stderr, "%s\n", err.c_str());
        return 1;
    }
    // The counter must see the plugin's allocations, or "0 allocations" would mean nothing.
    alloc_count_begin();
    TdsInstance* probe = p.instance_new(TDS_FAMILY_CHOP);
    p.instance_free(probe);
    const AllocCounts probe_counts = alloc_count_end();
    if (probe_counts.allocs == 0) {
        fprintf(stderr, "the allocation counter does not see the plugin's allocations\n");
        return 1;
    }

    World w;
    w.plugin = &p;
    w.tables.read(p);
    create_pair(w, p);
    HostParameters cp, dp;
    w.chop->setupParameters(&cp, nullptr);
    w.dat->setupParameters(&dp, nullptr);
    w.chop_inputs.define(cp);
    w.dat_inputs.define(dp);

    // One warm-up cook starts the engine (default parameters: the simulator at real time).
    w.chop_run->cook();
    w.dat_run->cook();
    sleep_ms(200);  // let the engine publish its first playing snapshot

    ChopRunner& chop = *w.chop_run;
    DatRunner& dat = *w.dat_run;
    printf("td-spotify cook benchmark: %d executes each after one warm-up cook\n", iterations);
    printf("plugin: %s\n", lib);
    Timing chop_exec = measure(iterations, [&] {
        chop.execute();
        return chop.exec_end - chop.exec_begin;
    });
    Timing chop_full = measure(iterations, [&] {
        const int64_t t0 = now_ns();
        chop.cook();
        return now_ns() - t0;
    });
    Timing dat_exec = measure(iterations, [&] {
        dat.execute();
        return dat.exec_end - dat.exec_begin;
    });
    chop_exec.print("CHOP execute");
    chop_full.print("CHOP whole cook");
    dat_exec.print("DAT execute");
    const bool playing = chop.value(w.tables.channel("playing")) == 1.0f;
    printf("(simulator playing during the run: %s; whole cook = TD's call order incl. names, info, messages)\n",
           playing ? "yes" : "no");
    std::sort(chop_exec.ns.begin(), chop_exec.ns.end());
    const int64_t median = chop_exec.ns[chop_exec.ns.size() / 2];
    printf("target: CHOP execute median <= 250 ns: %s (%lld ns); 0 allocations per cook: %s\n",
           median <= 250 ? "met" : "MISSED", static_cast<long long>(median),
           chop_exec.allocs == 0 && chop_exec.frees == 0 ? "met" : "MISSED");

    p.destroy_chop(w.chop);
    p.destroy_dat(w.dat);
    p.close();
    const bool no_allocs = chop_exec.allocs == 0 && chop_exec.frees == 0 && chop_full.allocs == 0 &&
                           dat_exec.allocs == 0;
    return no_allocs ? 0 : 1;
}

}  // namespace host
