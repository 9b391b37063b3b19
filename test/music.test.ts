import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMidi, writeMidi, type MidiEvent } from 'midi-file';
import { midiToNotes, notesToMidi } from '../src/data/midi.js';
import {
  binVelocity, decodePiece, describeEvent, encodePiece, eventsToNotes, MUSIC_VOCAB, notesToEvents, transposeEvents, velocityBin, type Note,
} from '../src/data/music.js';
import { splitPieces } from '../src/data/music-source.js';
import { syntheticPiece } from '../src/data/synthetic-music.js';
import { Rng } from '../src/tensor/rng.js';

const words = (events: ArrayLike<number>): string[] => Array.from(events, describeEvent);
const note = (pitch: number, start: number, end: number, velocity = 80): Note => ({ pitch, velocity, start, end });

/** A MIDI file from tracks of [deltaTicks, event] (ticksPerBeat 480 unless given). */
export function midiBytes(tracks: MidiEvent[][], header: { format?: 0 | 1 | 2; ticksPerBeat?: number; framesPerSecond?: number; ticksPerFrame?: number } = {},
  running = false): Uint8Array {
  const h = { format: header.format ?? (tracks.length > 1 ? 1 : 0), numTracks: tracks.length, ...(header.framesPerSecond
    ? { framesPerSecond: header.framesPerSecond, ticksPerFrame: header.ticksPerFrame } : { ticksPerBeat: header.ticksPerBeat ?? 480 }) };
  return Uint8Array.from(writeMidi({ header: h, tracks: tracks.map((t) => [...t, { deltaTime: 0, meta: true, type: 'endOfTrack' } as MidiEvent]) }, { running }));
}
export const on = (dt: number, pitch: number, velocity = 80, channel = 0): MidiEvent => ({ deltaTime: dt, type: 'noteOn', channel, noteNumber: pitch, velocity });
export const off = (dt: number, pitch: number, channel = 0): MidiEvent => ({ deltaTime: dt, type: 'noteOff', channel, noteNumber: pitch, velocity: 0 });
const pedal = (dt: number, down: boolean, channel = 0): MidiEvent => ({ deltaTime: dt, type: 'controller', channel, controllerType: 64, value: down ? 127 : 0 });
const tempo = (dt: number, us: number): MidiEvent => ({ deltaTime: dt, meta: true, type: 'setTempo', microsecondsPerBeat: us });

describe('the performance encoding (spec music §1–§3)', () => {
  it('encodes small pieces as hand-written event lists: velocity only when the bin changes, shifts split at 1 s, offs before ons', () => {
    assert.deepEqual(words(notesToEvents([note(60, 0, 0.5), note(64, 0.5, 1)]).events),
      ['VELOCITY 20', 'NOTE_ON 60', 'TIME_SHIFT 50', 'NOTE_OFF 60', 'NOTE_ON 64', 'TIME_SHIFT 50', 'NOTE_OFF 64']);
    assert.deepEqual(words(notesToEvents([note(60, 0, 0.1, 80), note(62, 2.6, 2.7, 78), note(64, 2.7, 2.8, 100)]).events),
      ['VELOCITY 20', 'NOTE_ON 60', 'TIME_SHIFT 10', 'NOTE_OFF 60', 'TIME_SHIFT 100', 'TIME_SHIFT 100', 'TIME_SHIFT 50', 'NOTE_ON 62',
        'TIME_SHIFT 10', 'NOTE_OFF 62', 'VELOCITY 25', 'NOTE_ON 64', 'TIME_SHIFT 10', 'NOTE_OFF 64']);
    // Overlapping notes of one pitch: decoding closes the oldest first, so both come back.
    const overlap = [note(60, 0, 1), note(60, 0.5, 1.5)];
    const ev = notesToEvents(overlap).events;
    assert.deepEqual(words(ev), ['VELOCITY 20', 'NOTE_ON 60', 'TIME_SHIFT 50', 'NOTE_ON 60', 'TIME_SHIFT 50', 'NOTE_OFF 60', 'TIME_SHIFT 50', 'NOTE_OFF 60']);
    assert.deepEqual(eventsToNotes(ev), overlap.map((n) => ({ ...n, velocity: binVelocity(velocityBin(80)) })));
    // A chord: ons in pitch order; out-of-range notes dropped and counted.
    const chord = notesToEvents([note(67, 0, 0.2), note(60, 0, 0.2), note(110, 0, 0.2)]);
    assert.deepEqual(words(chord.events), ['VELOCITY 20', 'NOTE_ON 60', 'NOTE_ON 67', 'TIME_SHIFT 20', 'NOTE_OFF 60', 'NOTE_OFF 67']);
    assert.equal(chord.dropped, 1);
  });

  it('velocity bins as note_seq: bin = (v − 1) // 4 + 1, decoded 1 + 4(bin − 1)', () => {
    assert.deepEqual([1, 4, 5, 80, 127].map(velocityBin), [1, 1, 2, 20, 32]);
    assert.deepEqual([1, 2, 32].map(binVelocity), [1, 5, 125]);
  });

  it('decoding: zero-length notes dropped, open notes closed at the end, default velocity, ids ↔ classes with SOS/EOS', () => {
    const ev = notesToEvents([note(60, 0, 0.3)]).events;
    const withStray = Int32Array.from([...ev, 0 /* NOTE_ON 21, never closed */, 88 + 5 /* NOTE_OFF 26 with nothing open */]);
    assert.deepEqual(eventsToNotes(withStray).map((n) => n.pitch), [60]);
    assert.deepEqual(eventsToNotes([39, 176 + 9]).map((n) => [n.pitch, n.velocity, n.end]), [[60, 61, 0.1]]);
    const ids = encodePiece(ev);
    assert.equal(ids[0], 2); assert.equal(ids[ids.length - 1], 1);
    assert.deepEqual(Array.from(decodePiece(ids)), Array.from(ev));
    assert.throws(() => decodePiece([2, MUSIC_VOCAB]), /id 311 at 1 is not a music event/);
    assert.deepEqual(words(transposeEvents(ev, 3)!).filter((w) => w.startsWith('NOTE')), ['NOTE_ON 63', 'NOTE_OFF 63']);
    assert.equal(transposeEvents(notesToEvents([note(107, 0, 1)]).events, 3), null);
  });
});

describe('MIDI files in and out (midi-file)', () => {
  it('tempo changes map ticks to seconds; running status and note-on velocity 0 as note-off are read', () => {
    const bytes = midiBytes([[tempo(0, 500_000), tempo(960, 250_000)], [on(0, 60), on(480, 60, 0), on(960, 62), on(480, 62, 0)]],
      {}, true);
    const { notes } = midiToNotes(bytes, 'tempo.mid');
    assert.deepEqual(notes.map((n) => [n.pitch, +n.start.toFixed(6), +n.end.toFixed(6)]), [[60, 0, 0.5], [62, 1.25, 1.5]]);
  });

  it('the sustain pedal lengthens released notes to the pedal-up, or to the next strike of the same pitch', () => {
    // 480 ticks = 0.5 s. Pedal down at 0.25 s, up at 1.5 s; 60 released at 0.5 s → 1.5 s; 62 released at 0.5 s, struck again at 1 s → 1 s.
    const bytes = midiBytes([[on(0, 60), on(0, 62), pedal(240, true), off(240, 60), off(0, 62), on(480, 62), off(240, 62), pedal(240, false)]]);
    const { notes } = midiToNotes(bytes, 'pedal.mid');
    assert.deepEqual(notes.map((n) => [n.pitch, n.start, n.end]), [[60, 0, 1.5], [62, 0, 1], [62, 1, 1.5]]);
  });

  it('pedal events gathered from several tracks of a format-1 file are used in time order', () => {
    // Track 1: pedal down 2–3 s. Track 2: pedal down 0–1 s, and note 60 from 0.2 to 0.3 s, released with the pedal down → 1 s.
    const bytes = midiBytes([[pedal(1920, true), pedal(480, false)], [pedal(0, true), on(192, 60), off(96, 60), pedal(672, false)]]);
    assert.deepEqual(midiToNotes(bytes, 'tracks.mid').notes.map((n) => [n.pitch, +n.start.toFixed(6), +n.end.toFixed(6)]), [[60, 0.2, 1]]);
  });

  it('skips the drum channel unless asked, with a notice', () => {
    const bytes = midiBytes([[on(0, 60), on(0, 36, 100, 9), off(480, 60), off(0, 36, 9)]]);
    const r = midiToNotes(bytes, 'drums.mid');
    assert.deepEqual(r.notes.map((n) => n.pitch), [60]);
    assert.match(r.notices.join(), /1 drum notes \(channel 10\) skipped/);
    assert.deepEqual(midiToNotes(bytes, 'drums.mid', { keepDrums: true }).notes.map((n) => n.pitch), [36, 60]);
  });

  it('odd and corrupt files: one clear line each (SMPTE time is read, with a notice)', () => {
    const good = midiBytes([[on(0, 60), off(100, 60)]]);
    assert.throws(() => midiToNotes(good.subarray(0, good.length - 3), 'cut.mid'), /^DataError: MIDI file cut\.mid: truncated: chunk 1 \('MTrk'\) declares \d+ bytes, only \d+ remain$/m);
    assert.throws(() => midiToNotes(new TextEncoder().encode('hello, not midi at all'), 'text.mid'), /not a standard MIDI file/);
    const twoTracks = midiBytes([[on(0, 60), off(100, 60)], [on(0, 62), off(100, 62)]]), oneTrack = twoTracks.subarray(0, good.length);
    assert.throws(() => midiToNotes(oneTrack, 'short.mid'), /truncated: the header declares 2 tracks, the file ends after 1/);
    assert.deepEqual(midiToNotes(Uint8Array.from([...good, 0, 0, 0]), 'padded.mid').notes.map((n) => n.pitch), [60], 'trailing padding is ignored');
    assert.throws(() => midiToNotes(midiBytes([[on(0, 60), off(10, 60)], [on(0, 62), off(10, 62)]], { format: 2 }), 'f2.mid'),
      /format 2 \(independent sequences\) is not supported/);
    const smpte = midiToNotes(midiBytes([[on(0, 60), off(50, 60)]], { framesPerSecond: 25, ticksPerFrame: 40 }), 'smpte.mid');
    assert.deepEqual(smpte.notes.map((n) => n.end), [0.05]);
    assert.match(smpte.notices.join(), /SMPTE time: 25 frames\/s × 40 ticks\/frame/);
    assert.equal(midiToNotes(midiBytes([[tempo(0, 400_000)]]), 'empty.mid').notes.length, 0);
    // A time division of 0 (ticks per beat, or SMPTE ticks per frame) and the undefined format 3: refused, not NaN times or a guess.
    const header = (bytes: Uint8Array, at: number, values: number[]): Uint8Array => { const b = Uint8Array.from(bytes); b.set(values, at); return b; };
    assert.throws(() => midiToNotes(header(good, 12, [0, 0]), 'tpb0.mid'), /^DataError: MIDI file tpb0\.mid: the header gives 0 ticks per beat; a time division must be positive$/m);
    assert.throws(() => midiToNotes(header(good, 12, [0xe7, 0]), 'smpte0.mid'), /MIDI file smpte0\.mid: SMPTE time with 25 frames per second and 0 ticks per frame; both must be positive/);
    assert.throws(() => midiToNotes(header(good, 8, [0, 3]), 'f3.mid'), /MIDI file f3\.mid: format 3 is not a MIDI file format/);
  });

  it('written files are standard MIDI that the package reads back: format 0, 500 ticks per quarter at 120 bpm', () => {
    const notes = [note(60, 0, 0.5, 90), note(64, 0.25, 1.0, 40)];
    const bytes = notesToMidi(notes);
    const parsed = parseMidi(bytes);
    assert.equal(parsed.header.format, 0);
    assert.equal(parsed.header.ticksPerBeat, 500);
    assert.ok(parsed.tracks[0]!.some((e) => e.type === 'setTempo' && e.microsecondsPerBeat === 500_000));
    assert.deepEqual(midiToNotes(bytes, 'out.mid').notes, notes);
  });

  it('round trip MIDI → events → MIDI keeps pitch, onset and offset within 10 ms and velocity within its bin (generated files)', () => {
    for (let seed = 0; seed < 6; seed++) {
      const rng = new Rng(seed), events: MidiEvent[] = [tempo(0, 500_000)];
      const open: number[] = [];
      let sincePedal = 0;
      for (let i = 0; i < 120; i++) {
        // Long silences now and then, tempo changes, the pedal, and overlapping strikes of few pitches.
        const dt = rng.next() < 0.05 ? 3000 + rng.int(3000) : rng.int(200);
        const r = rng.next();
        if (r < 0.05) events.push(tempo(dt, 300_000 + rng.int(600_000)));
        else if (r < 0.12) { events.push(pedal(dt, sincePedal % 2 === 0)); sincePedal++; }
        else if (r < 0.6 || open.length === 0) { const p = 55 + rng.int(8); events.push(on(dt, p, 1 + rng.int(127))); open.push(p); }
        else events.push(off(dt, open.splice(rng.int(open.length), 1)[0]!));
      }
      const original = midiToNotes(midiBytes([events]), `gen${seed}.mid`).notes;
      const back = midiToNotes(notesToMidi(eventsToNotes(notesToEvents(original).events)), 'back.mid').notes;
      assert.equal(back.length, original.length, `seed ${seed}: note count`);
      // Pair by pitch, in order of onset.
      for (const p of new Set(original.map((n) => n.pitch))) {
        const a = original.filter((n) => n.pitch === p), b = back.filter((n) => n.pitch === p);
        assert.equal(a.length, b.length);
        a.forEach((n, i) => {
          const m = b[i]!, ctx = `seed ${seed}, pitch ${p}, note ${i}: ${JSON.stringify(n)} vs ${JSON.stringify(m)}`;
          assert.ok(Math.abs(m.start - n.start) <= 0.0105 && Math.abs(m.end - n.end) <= 0.0105 + (n.end - n.start < 0.01 ? 0.01 : 0), ctx);
          assert.equal(velocityBin(m.velocity), velocityBin(n.velocity), ctx);
        });
      }
    }
  });
});

describe('music data', () => {
  it('synthetic pieces: each return is its theme transposed, 98 events after it', () => {
    const p = syntheticPiece(new Rng(4));
    const ons = Array.from(p.events.keys()).filter((i) => p.events[i]! < 88);
    assert.equal(p.returns.length, 4);
    assert.equal(ons.length, 4 * 48);
    p.returns.forEach((r, c) => {
      const themeOns = ons.slice(c * 48, c * 48 + 16), returnOns = ons.slice(c * 48 + 32, c * 48 + 48);
      assert.equal(r.start, returnOns[0]);
      assert.deepEqual(returnOns.map((i) => p.events[i]), themeOns.map((i) => p.events[i]! + r.transpose));
      assert.equal(r.start - themeOns[0]!, 98, `return ${c} starts ${r.start - themeOns[0]!} events after its theme`);
      assert.equal(p.events[r.end - 1]! - 88, p.events[returnOns[15]!], 'the return ends with its last NOTE_OFF');
    });
  });

  it('splits pieces by name deterministically, holding out at least one', () => {
    const pieces = Array.from({ length: 10 }, (_, i) => ({ name: `dir/piece${i}.mid` }));
    const a = splitPieces(pieces, 0.1), b = splitPieces([...pieces].reverse(), 0.1);
    assert.ok(a.validation.length >= 1);
    assert.deepEqual(a.validation.map((p) => p.name).sort(), b.validation.map((p) => p.name).sort());
    assert.equal(splitPieces(pieces, 0).validation.length, 0);
    // A piece's side depends on its name alone: more pieces change nothing for the ten, a larger fraction only adds.
    const more = Array.from({ length: 200 }, (_, i) => ({ name: `dir/piece${i}.mid` }));
    const held = new Set(splitPieces(more, 0.1).validation.map((p) => p.name));
    const tenHeld = new Set(splitPieces(pieces, 0.5).validation.map((p) => p.name));
    for (const p of pieces) assert.equal(tenHeld.has(p.name), new Set(splitPieces(more, 0.5).validation.map((q) => q.name)).has(p.name), p.name);
    const wider = new Set(splitPieces(more, 0.5).validation.map((p) => p.name));
    for (const name of held) assert.ok(wider.has(name), `${name} is held out at 0.5 too`);
    assert.ok(held.size > 5 && held.size < 40 && wider.size > 60 && wider.size < 140, `${held.size} and ${wider.size} of 200 held out`);
  });
});

describe('long-range structure score', () => {
  it('scores a continuation by events in place and by note pitches in order', async () => {
    const { scoreReturn } = await import('../src/train/music-return.js');
    // truth: ON 60, SHIFT 20, OFF 60, ON 62; generated: an extra VELOCITY shifts the events but not the notes.
    const truth = [39, 195, 127, 41], shifted = [39, 195, 127, 290, 41], wrongNote = [39, 195, 127, 42];
    assert.deepEqual(scoreReturn(truth, truth), { eventAccuracy: 1, noteAccuracy: 1, recallAccuracy: 1, events: 4, notes: 2 });
    assert.deepEqual(scoreReturn(truth, shifted), { eventAccuracy: 0.75, noteAccuracy: 1, recallAccuracy: 1, events: 4, notes: 2 });
    assert.deepEqual(scoreReturn(truth, wrongNote), { eventAccuracy: 0.75, noteAccuracy: 0.5, recallAccuracy: 0.5, events: 4, notes: 2 });
    assert.deepEqual(scoreReturn(truth, []), { eventAccuracy: 0, noteAccuracy: 0, recallAccuracy: 0, events: 4, notes: 2 });
    // A return transposed by +2 played at the theme's pitch (ON 60, ON 62 → truth ON 62, ON 64): recalled, not exact.
    assert.deepEqual(scoreReturn([41, 43], [39, 41], 2), { eventAccuracy: 0, noteAccuracy: 0, recallAccuracy: 1, events: 2, notes: 2 });
  });
});
