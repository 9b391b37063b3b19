#!/usr/bin/env python3
"""Writes the music-token fixtures of test/port-music.test.ts (test/fixtures/port-music/): small
MIDI files written here with mido that exercise the port's tokenizer and its quirks (the sustain
pedal, notes after the last pedal release, one note-off closing several notes, a note-on and a
note-off on the same tick, programs, channels and tracks, controller events and pitch bends
before the first note, tempo changes, drums, half-step gaps), and for each the token ids the port's encoder gives and the notes its
decoder gives back from them (tokens.json).

The port's code is not part of this repository: --port is a checkout of
github.com/krasserm/perceiver-io (its perceiver/data/audio/midi_processor.py is loaded by path),
--pretty-midi a checkout of github.com/craffel/pretty-midi (pure Python; needs python3-mido,
python3-numpy, python3-six from Debian). Run from the repository root:

    /usr/bin/python3 scripts/interop/make-port-music-fixtures.py --port=PATH/perceiver-io --pretty-midi=PATH/pretty-midi
"""
import argparse
import importlib.util
import json
import os
import sys
import tempfile

parser = argparse.ArgumentParser()
parser.add_argument('--port', required=True)
parser.add_argument('--pretty-midi', required=True)
parser.add_argument('--out', default=os.path.join('test', 'fixtures', 'port-music'))
parser.add_argument('--extra', nargs='*', default=[], help='more MIDI files to include (copied in under their names)')
args = parser.parse_args()

# pretty_midi imports importlib_resources (for its sound font, not used here): the standard library's stands in.
shim = tempfile.mkdtemp()
with open(os.path.join(shim, 'importlib_resources.py'), 'w') as f:
    f.write('from importlib.resources import *\n')
sys.path[:0] = [args.pretty_midi, shim]

import mido  # noqa: E402
import pretty_midi  # noqa: E402

spec = importlib.util.spec_from_file_location('midi_processor', os.path.join(args.port, 'perceiver', 'data', 'audio', 'midi_processor.py'))
mp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mp)


def track(*events):
    """Messages at absolute ticks → a track with delta times."""
    t = mido.MidiTrack()
    last = 0
    for tick, msg in sorted(events, key=lambda e: e[0]):
        t.append(msg.copy(time=tick - last))
        last = tick
    return t


def on(ch, pitch, vel):
    return mido.Message('note_on', channel=ch, note=pitch, velocity=vel)


def off(ch, pitch, vel=64):
    return mido.Message('note_off', channel=ch, note=pitch, velocity=vel)


def cc(ch, number, value):
    return mido.Message('control_change', channel=ch, control=number, value=value)


def pieces():
    # 1. A melody with varied velocities and gaps (rounding of time shifts, shifts over a second).
    melody = [(0, on(0, 60, 80)), (240, off(0, 60)), (250, on(0, 64, 81)), (500, off(0, 64)), (1500, on(0, 67, 100)), (1530, off(0, 67)),
              (4000, on(0, 72, 3)), (4003, off(0, 72)), (4004, on(0, 60, 127)), (5210, off(0, 60))]
    yield 'melody', [track(*melody)], 480
    # 2. The sustain pedal: notes inside spans extended to the next same-pitch onset or the span end,
    #    a repeated pedal release extending the last span, notes after the last span (dropped by the port).
    pedal = [(0, cc(0, 64, 127)), (0, on(0, 60, 70)), (100, off(0, 60)), (200, on(0, 64, 70)), (250, off(0, 64)), (300, on(0, 60, 90)), (350, off(0, 60)),
             (600, cc(0, 64, 0)), (650, cc(0, 64, 10)), (700, on(0, 55, 60)), (800, off(0, 55)), (900, cc(0, 64, 100)), (950, on(0, 67, 50)), (960, off(0, 67)),
             (1200, cc(0, 64, 0)), (1300, on(0, 72, 99)), (1400, off(0, 72))]
    yield 'pedal', [track(*pedal)], 480
    # 3. One note-off closing two open notes of a pitch; a note-off and a note-on on the same tick; a spurious note-off.
    overlap = [(0, on(0, 62, 50)), (100, on(0, 62, 90)), (200, off(0, 62)), (300, on(0, 65, 40)), (400, off(0, 65)), (400, on(0, 65, 70)),
               (500, off(0, 65)), (600, off(0, 70)), (700, on(0, 66, 0)), (800, on(0, 68, 77)), (900, on(0, 68, 0)),
               # A note-on listed before a note-off of its pitch on the same tick: the off closes the older note only.
               (1000, on(0, 69, 60)), (1200, on(0, 69, 70)), (1200, off(0, 69)), (1300, off(0, 69))]
    yield 'overlap', [track(*overlap)], 480
    # 5. Gaps of half a time step (5 ms ticks at 100 ticks per beat): Python rounds them half to even.
    rounding = [(0, on(0, 60, 64)), (1, off(0, 60)), (4, on(0, 62, 64)), (9, off(0, 62)), (12, on(0, 64, 64)), (17, off(0, 64)), (20, on(0, 65, 64)),
                (27, off(0, 65))]
    yield 'rounding', [track(*rounding)], 100
    # 4. Tracks, channels and programs: a program change mid-track (a new instrument), controller
    #    events before the first note (stragglers), drums on channel 10; tempo changes on track 0.
    conductor = track((0, mido.MetaMessage('set_tempo', tempo=500000)), (960, mido.MetaMessage('set_tempo', tempo=300000)),
                      (1920, mido.MetaMessage('set_tempo', tempo=300000)), (2880, mido.MetaMessage('set_tempo', tempo=800000)))
    piano = track((0, cc(0, 64, 127)), (10, on(0, 48, 60)), (500, off(0, 48)), (600, cc(0, 64, 0)), (960, mido.Message('program_change', channel=0, program=5)),
                  (980, cc(0, 64, 127)), (1000, on(0, 50, 61)), (1500, off(0, 50)), (2000, cc(0, 64, 0)), (2500, on(0, 52, 62)), (3000, off(0, 52)))
    other = track((0, cc(3, 7, 100)), (100, on(3, 76, 110)), (1000, off(3, 76)), (1100, on(9, 36, 120)), (1110, off(9, 36)), (2900, on(3, 77, 20)), (4000, off(3, 77)))
    yield 'ensemble', [conductor, piano, other], 480
    # 6. A pitch bend before the first note makes a straggler instrument; after a program change, the
    #    new instrument shares its controller list, and pedal events land there (the port then emits a note twice).
    bend = mido.Message('pitchwheel', channel=0, pitch=100)
    bends = [(1, bend), (4, on(0, 64, 90)), (7, mido.Message('program_change', channel=0, program=5)), (13, off(0, 64)), (30, cc(0, 64, 127)),
             (32, cc(0, 64, 63)), (39, cc(0, 64, 127)), (42, mido.Message('program_change', channel=0, program=0)), (53, cc(0, 64, 63)),
             (60, on(0, 67, 70)), (90, off(0, 67))]
    yield 'bends', [track(*bends)], 24


os.makedirs(args.out, exist_ok=True)
expected = {'port': 'krasserm/perceiver-io 46c6325', 'pretty_midi': 'craffel/pretty-midi', 'pieces': {}}


def files():
    for name, tracks, tpb in pieces():
        mid = mido.MidiFile(type=1 if len(tracks) > 1 else 0, ticks_per_beat=tpb)
        mid.tracks.extend(tracks)
        path = os.path.join(args.out, f'{name}.mid')
        mid.save(path)
        yield name, path
    for extra in args.extra:
        name = os.path.splitext(os.path.basename(extra))[0]
        path = os.path.join(args.out, f'{name}.mid')
        with open(extra, 'rb') as src, open(path, 'wb') as dst:
            dst.write(src.read())
        yield name, path


for name, path in files():
    ids = [int(i) for i in mp.encode_midi(pretty_midi.PrettyMIDI(path))]
    decoded = mp.decode_midi(ids)
    notes = [{'pitch': n.pitch, 'velocity': n.velocity, 'start': n.start, 'end': n.end} for n in decoded.instruments[0].notes]
    expected['pieces'][name] = {'ids': ids, 'notes': notes}
    print(name, len(ids), 'tokens', len(notes), 'notes', file=sys.stderr)
with open(os.path.join(args.out, 'tokens.json'), 'w') as f:
    json.dump(expected, f, indent=1)
