#!/usr/bin/env python3
"""The beat-tracking measurement set: MIDI arrangements, their annotations, rendered audio.

`python3 tools/beats_set.py OUT_DIR` writes, for each piece, `NAME.mid`, `NAME.json` (the true
beats, downbeats, section boundaries and meter, from the same score) and `NAME.wav` (rendered by
Debian's `fluidsynth` with the FluidR3 General MIDI soundfont at 44.1 kHz). Pieces whose WAV is
newer than this script are kept, so `cargo bench --bench beats` renders once per checkout.

Why this shape: the tracker must be measured on music a real synthesizer plays (attacks, decays,
reverb, mixing), with the grid known exactly. Every note is humanized (timing jitter of a few
milliseconds, velocity spread) from a fixed seed, so the set is the same on every machine. The
annotations keep the nominal grid: a drummer's jitter is not the beat.

MIDI bytes are written by hand (format 0, one track, 960 ticks per second at the default tempo):
the file format is small, and it keeps the set's only dependency the synthesizer.
"""

import json
import os
import wave
import random
import struct
import subprocess
import sys

SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
RATE = 44100
TICKS_PER_SECOND = 960  # 480 ticks per quarter at the default 120 BPM
START_S = 0.25
DRUMS = 9  # General MIDI channel 10

# General MIDI drum keys.
KICK, SNARE, CLAP, RIM, CLOSED_HAT, PEDAL_HAT, OPEN_HAT, CRASH, RIDE, TAMB = 36, 38, 39, 37, 42, 44, 46, 49, 51, 54
# General MIDI programs (0-based).
PIANO, EPIANO, CLAV, ORGAN, NYLON, CLEAN_GTR, MUTED_GTR, DIST_GTR = 0, 4, 7, 16, 24, 27, 28, 30
FINGER_BASS, PICK_BASS, SLAP_BASS, SYNTH_BASS, STRINGS, PAD, SAW_LEAD, BRASS = 33, 34, 36, 38, 48, 89, 81, 61
PIZZICATO = 45


class Score:
    """Notes in seconds on a beat grid that may change tempo, plus what the grid is."""

    def __init__(self, name, seed, beats_per_bar):
        self.name = name
        self.rng = random.Random(seed)
        self.beats_per_bar = beats_per_bar
        self.notes = []  # (start_s, end_s, channel, key, velocity)
        self.programs = {}
        self.beats = []  # (time_s, position in bar, 1-based)
        self.sections = []  # start times of sections after the first
        self.t = START_S

    def program(self, channel, program):
        self.programs[channel] = program

    def bars(self, count, bpm, parts, section=True):
        """`count` bars at `bpm`; `parts(score, bar_start, beat_s, bar_index)` adds the notes."""
        beat_s = 60.0 / bpm
        if section and self.beats:
            self.sections.append(self.t)
        for bar in range(count):
            for b in range(self.beats_per_bar):
                self.beats.append((self.t + b * beat_s, b + 1))
            parts(self, self.t, beat_s, bar)
            self.t += self.beats_per_bar * beat_s

    def note(self, at, channel, key, velocity, length, jitter_ms=6.0, spread=10):
        """One humanized note: timing jitter (Gaussian, ms) and a velocity spread."""
        at += self.rng.gauss(0.0, jitter_ms / 1000.0)
        velocity = max(1, min(127, int(velocity + self.rng.uniform(-spread, spread))))
        self.notes.append((max(0.0, at), max(0.0, at) + length, channel, key, velocity))

    def drum(self, at, key, velocity, jitter_ms=6.0):
        self.note(at, DRUMS, key, velocity, 0.1, jitter_ms)

    def chord(self, at, channel, keys, velocity, length):
        for k in keys:
            self.note(at, channel, k, velocity, length, jitter_ms=8.0)

    def midi(self):
        events = []
        for channel, program in sorted(self.programs.items()):
            events.append((0, 0, bytes([0xC0 | channel, program])))
        for start, end, channel, key, velocity in self.notes:
            events.append((round(start * TICKS_PER_SECOND), 2, bytes([0x90 | channel, key, velocity])))
            events.append((round(end * TICKS_PER_SECOND), 1, bytes([0x80 | channel, key, 0])))
        events.sort(key=lambda e: (e[0], e[1]))
        track = bytearray()
        last = 0
        for tick, _, data in events:
            track += varlen(tick - last) + data
            last = tick
        # One second of tail, so decays and reverb are rendered.
        track += varlen(TICKS_PER_SECOND) + b"\xff\x2f\x00"
        header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480)
        return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)

    def annotations(self):
        return {
            "name": self.name,
            "beats_per_bar": self.beats_per_bar,
            "beats": [round(t, 6) for t, _ in self.beats],
            "beat_positions": [p for _, p in self.beats],
            "downbeats": [round(t, 6) for t, p in self.beats if p == 1],
            "sections": [round(t, 6) for t in self.sections],
            "duration": round(self.t, 6),
            "tempi": sorted({round(60.0 / (b[0] - a[0]), 2) for a, b in zip(self.beats, self.beats[1:])}),
        }


def varlen(value):
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def chords_of(roots, minor=()):
    """Triads (root, third, fifth) for MIDI roots, minor where the index is in `minor`."""
    return [[r, r + (3 if i in minor else 4), r + 7] for i, r in enumerate(roots)]


# ---- the pieces -------------------------------------------------------------------------------


def house():
    s = Score("house", 124, 4)
    s.program(0, SYNTH_BASS)
    s.program(1, PAD)
    s.program(2, EPIANO)
    prog = chords_of([57, 53, 48, 55], minor=(0,))

    def drums(s, t, b, bar, hats=True, clap=True):
        for i in range(4):
            s.drum(t + i * b, KICK, 112)
            if hats:
                s.drum(t + (i + 0.5) * b, OPEN_HAT, 80)
            s.drum(t + (i + 0.25) * b, CLOSED_HAT, 45)
            s.drum(t + (i + 0.75) * b, CLOSED_HAT, 45)
        if clap:
            s.drum(t + b, CLAP, 95)
            s.drum(t + 3 * b, CLAP, 95)

    def bass(s, t, b, bar):
        root = [45, 41, 36, 43][bar % 4]
        for i in range(4):
            s.note(t + (i + 0.5) * b, 0, root, 100, 0.4 * b)

    def intro(s, t, b, bar):
        drums(s, t, b, bar, clap=False)
        bass(s, t, b, bar)

    def groove(s, t, b, bar):
        drums(s, t, b, bar)
        bass(s, t, b, bar)
        s.chord(t, 1, prog[bar % 4], 70, 4 * b)

    def breakdown(s, t, b, bar):
        s.chord(t, 2, [k + 12 for k in prog[bar % 4]], 85, 1.5 * b)
        s.chord(t + 2.5 * b, 2, [k + 12 for k in prog[bar % 4]], 75, 1.0 * b)
        for i in range(4):
            s.drum(t + (i + 0.5) * b, OPEN_HAT, 70)

    s.bars(8, 124, intro)
    s.bars(8, 124, groove)
    s.bars(4, 124, breakdown)
    s.bars(8, 124, groove)
    return s


def hiphop():
    s = Score("hiphop_swing", 90, 4)
    s.program(0, FINGER_BASS)
    s.program(1, EPIANO)
    s.program(2, BRASS)
    swing = 2.0 / 3.0  # the off-beat eighth lands two thirds into the beat
    prog = chords_of([50, 53, 55, 48], minor=(0, 2))

    def beat(s, t, b, bar, busy):
        for i in range(4):
            s.drum(t + i * b, CLOSED_HAT, 70)
            s.drum(t + (i + swing) * b, CLOSED_HAT, 50)
        s.drum(t, KICK, 115)
        s.drum(t + (1 + swing) * b, KICK, 90)
        s.drum(t + 2.0 * b + (swing * b if busy else 0.0), KICK, 105)
        s.drum(t + b, SNARE, 105)
        s.drum(t + 3 * b, SNARE, 105)
        if busy:
            s.drum(t + (3 + swing) * b, SNARE, 45)

    def bass(s, t, b, bar):
        root = [38, 41, 43, 36][bar % 4]
        s.note(t, 0, root, 105, 0.9 * b)
        s.note(t + (1 + swing) * b, 0, root + 7, 85, 0.3 * b)
        s.note(t + 2 * b, 0, root + 12, 95, 0.6 * b)

    def verse(s, t, b, bar):
        beat(s, t, b, bar, False)
        bass(s, t, b, bar)
        s.chord(t + swing * b, 1, [k + 12 for k in prog[bar % 4]], 65, 1.2 * b)
        s.chord(t + (2 + swing) * b, 1, [k + 12 for k in prog[bar % 4]], 60, 0.8 * b)

    def hook(s, t, b, bar):
        beat(s, t, b, bar, True)
        bass(s, t, b, bar)
        s.chord(t, 2, [k + 12 for k in prog[bar % 4]], 90, 0.5 * b)
        s.chord(t + (2 + swing) * b, 2, [k + 12 for k in prog[bar % 4]], 80, 0.4 * b)
        s.drum(t, TAMB, 60)

    s.bars(4, 90, lambda s, t, b, bar: (beat(s, t, b, bar, False), bass(s, t, b, bar)))
    s.bars(8, 90, verse)
    s.bars(4, 90, hook)
    return s


def funk():
    s = Score("funk", 105, 4)
    s.program(0, SLAP_BASS)
    s.program(1, CLAV)
    s.program(2, ORGAN)

    def drums(s, t, b, bar):
        for i in range(16):
            s.drum(t + i * b / 4, CLOSED_HAT, 70 if i % 2 == 0 else 45, jitter_ms=4)
        for k in (0.0, 0.75, 2.5):
            s.drum(t + k * b, KICK, 110)
        s.drum(t + b, SNARE, 110)
        s.drum(t + 3 * b, SNARE, 110)
        for g in (1.75, 2.25, 3.75):
            s.drum(t + g * b, SNARE, 35)

    def bass(s, t, b, bar):
        root = [40, 40, 45, 43][bar % 4]
        for k, off, vel in ((0.0, 0, 115), (0.75, 12, 80), (1.5, 10, 90), (2.5, 0, 105), (3.25, 7, 85)):
            s.note(t + k * b, 0, root + off, vel, 0.2 * b)

    def clav(s, t, b, bar):
        keys = [[64, 67, 71], [64, 67, 71], [69, 72, 76], [67, 71, 74]][bar % 4]
        for k in (0.5, 1.25, 2.0, 2.75, 3.5):
            s.chord(t + k * b, 1, keys, 80, 0.12 * b)

    def verse(s, t, b, bar):
        drums(s, t, b, bar)
        bass(s, t, b, bar)
        clav(s, t, b, bar)

    def chorus(s, t, b, bar):
        verse(s, t, b, bar)
        if bar == 0:
            s.drum(t, CRASH, 100)
        s.chord(t, 2, [[52, 56, 59], [52, 56, 59], [57, 61, 64], [55, 59, 62]][bar % 4], 80, 3.8 * b)

    s.bars(8, 105, verse)
    s.bars(8, 105, chorus)
    s.bars(4, 105, verse)
    return s


def rock():
    s = Score("rock", 120, 4)
    s.program(0, PICK_BASS)
    s.program(1, DIST_GTR)
    s.program(2, CLEAN_GTR)

    def drums(s, t, b, bar, ride=False):
        for i in range(8):
            s.drum(t + i * b / 2, RIDE if ride else CLOSED_HAT, 75 if i % 2 == 0 else 55)
        s.drum(t, KICK, 115)
        s.drum(t + 2 * b, KICK, 110)
        s.drum(t + 2.5 * b, KICK, 90)
        s.drum(t + b, SNARE, 115)
        s.drum(t + 3 * b, SNARE, 115)

    def roots(bar):
        return [40, 43, 45, 38][bar % 4]

    def verse(s, t, b, bar):
        drums(s, t, b, bar)
        for i in range(8):
            s.note(t + i * b / 2, 0, roots(bar), 100, 0.4 * b)
        for i in range(4):
            s.chord(t + i * b, 2, [roots(bar) + 24, roots(bar) + 31, roots(bar) + 36], 70, 0.9 * b)

    def chorus(s, t, b, bar):
        drums(s, t, b, bar, ride=True)
        if bar % 4 == 0:
            s.drum(t, CRASH, 110)
        for i in range(8):
            s.note(t + i * b / 2, 0, roots(bar), 110, 0.4 * b)
        s.chord(t, 1, [roots(bar) + 12, roots(bar) + 19, roots(bar) + 24], 100, 1.9 * b)
        s.chord(t + 2 * b, 1, [roots(bar) + 12, roots(bar) + 19, roots(bar) + 24], 100, 1.9 * b)

    s.bars(8, 120, verse)
    s.bars(8, 120, chorus)
    s.bars(8, 120, verse)
    return s


def dnb():
    s = Score("dnb", 174, 4)
    s.program(0, SYNTH_BASS)
    s.program(1, PAD)

    def drums(s, t, b, bar):
        for i in range(8):
            s.drum(t + i * b / 2, CLOSED_HAT, 60 if i % 2 else 75, jitter_ms=3)
        s.drum(t, KICK, 115, jitter_ms=3)
        s.drum(t + 2.5 * b, KICK, 105, jitter_ms=3)
        s.drum(t + b, SNARE, 115, jitter_ms=3)
        s.drum(t + 3 * b, SNARE, 115, jitter_ms=3)

    def bass(s, t, b, bar):
        root = [38, 38, 41, 36][(bar // 2) % 4]
        s.note(t, 0, root, 110, 2.4 * b)
        s.note(t + 2.5 * b, 0, root + 3, 100, 1.4 * b)

    def intro(s, t, b, bar):
        s.chord(t, 1, [62, 65, 69], 75, 4 * b)
        for i in range(8):
            s.drum(t + i * b / 2, CLOSED_HAT, 60 if i % 2 else 75, jitter_ms=3)
        s.drum(t + b, RIM, 80)
        s.drum(t + 3 * b, RIM, 80)

    def drop(s, t, b, bar):
        drums(s, t, b, bar)
        bass(s, t, b, bar)
        if bar % 8 == 0:
            s.drum(t, CRASH, 105)

    s.bars(8, 174, intro)
    s.bars(16, 174, drop)
    s.bars(8, 174, lambda s, t, b, bar: (drums(s, t, b, bar), s.chord(t, 1, [62, 65, 69], 70, 4 * b)))
    return s


def waltz():
    s = Score("waltz_3_4", 3, 3)
    s.program(0, PIANO)
    s.program(1, STRINGS)
    s.program(2, PIZZICATO)
    prog = [(43, [59, 62, 67]), (48, [60, 64, 67]), (50, [62, 66, 69]), (43, [59, 62, 67])]

    def oom_pah(s, t, b, bar, ch):
        root, chord = prog[bar % 4]
        s.note(t, ch, root, 100, 0.9 * b)
        s.note(t, ch, root - 12, 90, 0.9 * b)
        s.chord(t + b, ch, chord, 60, 0.6 * b)
        s.chord(t + 2 * b, ch, chord, 60, 0.6 * b)

    def piano(s, t, b, bar):
        oom_pah(s, t, b, bar, 0)
        root, chord = prog[bar % 4]
        s.note(t, 0, chord[-1] + 12, 85, 2.0 * b)
        s.note(t + 2 * b, 0, chord[1] + 12, 75, 0.9 * b)

    def strings(s, t, b, bar):
        oom_pah(s, t, b, bar, 2)
        root, chord = prog[bar % 4]
        s.chord(t, 1, [k + 12 for k in chord], 80, 3 * b)

    s.bars(12, 150, piano)
    s.bars(12, 150, strings)
    s.bars(8, 150, piano)
    return s


def ballad():
    s = Score("piano_ballad", 70, 4)
    s.program(0, PIANO)
    prog = [(48, [60, 64, 67]), (45, [60, 64, 69]), (41, [60, 65, 69]), (43, [59, 62, 67])]
    tune = [[76, 74, 72, 74], [72, 71, 69, 71], [69, 72, 77, 76], [74, 72, 71, 67]]

    def arpeggio(s, t, b, bar):
        root, chord = prog[bar % 4]
        s.note(t, 0, root - 12, 85, 3.5 * b, jitter_ms=10, spread=12)
        seq = [root, chord[0], chord[1], chord[2], chord[1], chord[0], root + 7, chord[0]]
        for i, k in enumerate(seq):
            s.note(t + i * b / 2, 0, k, 55 if i else 75, 0.5 * b, jitter_ms=10, spread=12)

    def melody(s, t, b, bar):
        arpeggio(s, t, b, bar)
        for i, k in enumerate(tune[bar % 4]):
            s.note(t + i * b, 0, k, 80, 0.95 * b, jitter_ms=12, spread=12)

    def block_chords(s, t, b, bar):
        root, chord = prog[(bar + 2) % 4]
        for i in range(4):
            s.note(t + i * b, 0, root - 12 if i % 2 == 0 else root, 80, 0.9 * b, jitter_ms=10)
            s.chord(t + i * b, 0, [k + 12 for k in chord], 70 if i else 85, 0.9 * b)

    s.bars(4, 70, arpeggio)
    s.bars(6, 70, melody)
    s.bars(4, 70, block_chords)
    return s


def tempo_change():
    s = Score("tempo_change", 7, 4)
    s.program(0, FINGER_BASS)
    s.program(1, CLEAN_GTR)
    s.program(2, ORGAN)

    def pop(s, t, b, bar, organ=False):
        for i in range(8):
            s.drum(t + i * b / 2, CLOSED_HAT, 70 if i % 2 == 0 else 50)
        s.drum(t, KICK, 112)
        s.drum(t + 1.5 * b, KICK, 90)
        s.drum(t + 2 * b, KICK, 105)
        s.drum(t + b, SNARE, 110)
        s.drum(t + 3 * b, SNARE, 110)
        root = [45, 41, 48, 43][bar % 4]
        for i in range(4):
            s.note(t + i * b, 0, root, 100, 0.8 * b)
        ch = 2 if organ else 1
        s.chord(t, ch, [root + 24, root + 28, root + 31], 75, 1.8 * b)
        s.chord(t + 2 * b, ch, [root + 24, root + 28, root + 31], 70, 1.8 * b)

    s.bars(12, 100, pop)
    s.bars(12, 128, lambda s, t, b, bar: pop(s, t, b, bar, organ=True))
    return s


def write_f32(wav, out):
    """The WAV's samples as interleaved stereo little-endian float32, what the benchmark reads."""
    import numpy

    with wave.open(wav) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, RATE), wav
        pcm = numpy.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    (pcm.astype("<f4") / 32768.0).tofile(out)


PIECES = [house, hiphop, funk, rock, dnb, waltz, ballad, tempo_change]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "target/beats"
    os.makedirs(out, exist_ok=True)
    script_time = os.path.getmtime(__file__)
    names = []
    for make in PIECES:
        score = make()
        names.append(score.name)
        base = os.path.join(out, score.name)
        with open(base + ".json", "w") as f:
            json.dump(score.annotations(), f)
        wav = base + ".wav"
        if os.path.exists(wav) and os.path.getmtime(wav) > script_time and os.path.exists(base + ".f32"):
            continue
        with open(base + ".mid", "wb") as f:
            f.write(score.midi())
        # -n no MIDI driver, -i no shell, -q quiet; -g gain keeps a mix of ~10 voices from clipping.
        subprocess.run(
            ["fluidsynth", "-ni", "-q", "-g", "0.5", "-F", wav[:-4] + ".part.wav", "-r", str(RATE), SOUNDFONT, base + ".mid"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        os.replace(wav[:-4] + ".part.wav", wav)
        write_f32(wav, base + ".f32")
    print("\n".join(names))


if __name__ == "__main__":
    main()
