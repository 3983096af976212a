// expectations.h: what tests/plugin.rs tells the host to expect (the simulator's schedule, the
// tables' headers, the Spotify run), read from its expectations file.
#ifndef TDS_HOST_EXPECTATIONS_H
#define TDS_HOST_EXPECTATIONS_H

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "report.h"

namespace host {

struct Track {
    long seed = 0;
    int index = 0;
    std::string id, uri, name, artists, album, art;
    long duration_ms = 0;
    double tempo = 0;
};

struct Segment {
    long seed = 0;
    double start = 0, len = 0;
    std::string kind;
    int track = -1;
};

struct Phase {
    std::string name;
    long seed = 0;
    double speed = 1;
    int frames = 0;
};

// The Spotify runs: a saved login for `client_id` in `token_dir`, and the track the scripted
// Web API plays.
struct SpotifyRun {
    bool set = false;
    std::string client_id, token_dir, name, uri, user;
    long duration_ms = 0;
    double seconds = 0;
};

struct Expectations {
    std::vector<Phase> phases;
    std::vector<Track> tracks;
    std::vector<Segment> segments;
    std::vector<std::pair<std::string, std::pair<int, std::string>>> statuses;  // name -> code, text
    // Header of each multi-row DAT mode, and the `field` column of the status mode.
    std::vector<std::pair<std::string, std::vector<std::string>>> columns;
    long pulse_note_ms = -1;
    long transport_seed = -1;
    SpotifyRun spotify;

    bool load(const char* path) {
        std::ifstream in(path);
        if (!in) {
            return false;
        }
        std::string line;
        while (std::getline(in, line)) {
            std::vector<std::string> f;
            std::stringstream ss(line);
            std::string cell;
            while (std::getline(ss, cell, '\t')) {
                f.push_back(cell);
            }
            if (f.empty()) {
                continue;
            }
            if (f[0] == "phase" && f.size() == 5) {
                phases.push_back(Phase{f[1], std::stol(f[2]), std::stod(f[3]), std::stoi(f[4])});
            } else if (f[0] == "track" && f.size() == 11) {
                Track t;
                t.seed = std::stol(f[1]);
                t.index = std::stoi(f[2]);
                t.id = f[3];
                t.uri = f[4];
                t.name = f[5];
                t.artists = f[6];
                t.album = f[7];
                t.art = f[8];
                t.duration_ms = std::stol(f[9]);
                t.tempo = std::stod(f[10]);
                tracks.push_back(t);
            } else if (f[0] == "segment" && f.size() == 6) {
                segments.push_back(Segment{std::stol(f[1]), std::stod(f[2]), std::stod(f[3]), f[4], std::stoi(f[5])});
            } else if (f[0] == "status" && f.size() == 4) {
                statuses.push_back({f[1], {std::stoi(f[2]), f[3]}});
            } else if (f[0] == "columns" && f.size() >= 3) {
                columns.push_back({f[1], std::vector<std::string>(f.begin() + 2, f.end())});
            } else if (f[0] == "pulse_note_ms" && f.size() == 2) {
                pulse_note_ms = std::stol(f[1]);
            } else if (f[0] == "transport" && f.size() == 2) {
                transport_seed = std::stol(f[1]);
            } else if (f[0] == "spotify" && f.size() == 8) {
                spotify = SpotifyRun{true, f[1], f[2], f[3], f[4], f[5], std::stol(f[6]), std::stod(f[7])};
            } else {
                fprintf(stderr, "expectations: cannot read line: %s\n", line.c_str());
                return false;
            }
        }
        return true;
    }

    // The header of DAT mode `mode` (for `status`: its `field` column), or null.
    const std::vector<std::string>* header(const char* mode) const {
        for (const auto& c : columns) {
            if (c.first == mode) {
                return &c.second;
            }
        }
        fail("expectations: no columns for mode %s", mode);
        return nullptr;
    }

    const Track* track(long seed, int index) const {
        for (const Track& t : tracks) {
            if (t.seed == seed && t.index == index) {
                return &t;
            }
        }
        return nullptr;
    }

    int code(const char* status) const {
        for (const auto& s : statuses) {
            if (s.first == status) {
                return s.second.first;
            }
        }
        fail("expectations: no status %s", status);
        return -100;
    }
    std::string text(const char* status) const {
        for (const auto& s : statuses) {
            if (s.first == status) {
                return s.second.second;
            }
        }
        fail("expectations: no status %s", status);
        return "?";
    }

    const Track* by_id(long seed, const char* id) const {
        for (const Track& t : tracks) {
            if (t.seed == seed && t.id == id) {
                return &t;
            }
        }
        return nullptr;
    }

    // The track whose length and tempo a CHOP shows, or null.
    const Track* by_channels(long seed, float duration, float tempo) const {
        for (const Track& t : tracks) {
            if (t.seed == seed && std::fabs(duration - t.duration_ms / 1000.0) < 2e-3 &&
                std::fabs(tempo - t.tempo) < 2e-3) {
                return &t;
            }
        }
        return nullptr;
    }

    // What the player shows over time: a track index, or -1 for a gap, repeats merged.
    std::vector<int> states(long seed) const {
        std::vector<int> out;
        for (const Segment& s : segments) {
            if (s.seed != seed) {
                continue;
            }
            const int state = s.kind == "gap" ? -1 : s.track;
            if (out.empty() || out.back() != state) {
                out.push_back(state);
            }
        }
        return out;
    }
};

inline std::string describe_states(const std::vector<int>& states) {
    std::string s;
    for (int st : states) {
        if (!s.empty()) {
            s += " -> ";
        }
        s += st < 0 ? std::string("gap") : "track " + std::to_string(st);
    }
    return s.empty() ? "(nothing)" : s;
}

}  // namespace host

#endif  // TDS_HOST_EXPECTATIONS_H
