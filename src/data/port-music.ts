// The PyTorch port's symbolic-music tokens (spec krasserm-interop §6; what its giant-midi model
// reads and writes): 0–127 NOTE_ON(pitch), 128–255 NOTE_OFF(pitch), 256–355 TIME_SHIFT(v) of
// (v + 1)·10 ms, 356–387 VELOCITY(b) for velocity 4b, 388 PAD; no SOS or EOS. Encoding follows the
// port's reading of a MIDI file (pretty_midi's notes and controllers, then midi-neural-processor's
// events) quirk for quirk, because its models learned them: a note-off closes every open note of
// its channel and pitch started on another tick; instruments are (program, channel, track), with
// controller events before an instrument's first note kept for it; the sustain pedal extends the
// notes that start inside a span, but a span's notes are only extended when a later note starts
// after it, and notes after the last span are dropped; each gap is rounded on its own (half to
// even) into 1 s shifts and a remainder; a VELOCITY event comes before a NOTE_ON whenever the
// previous event's raw velocity differs from the new bin. Decoding is the port's too.
import type { MidiData } from 'midi-file';
import { DataError } from '../errors.js';
import { parseMidiFile } from './midi.js';
import type { Note } from './music.js';

export const PORT_MUSIC_VOCAB = 389;
export const PORT_NOTE_ON = 0, PORT_NOTE_OFF = 128, PORT_TIME_SHIFT = 256, PORT_VELOCITY = 356, PORT_PAD = 388;
const SHIFTS = 100;
/** pretty_midi's limit: a file whose largest tick is beyond it is taken as corrupt. */
const MAX_TICK = 1e7;

/** A note as pretty_midi holds it (times in seconds; `end` may be moved by the pedal). */
interface PmNote { velocity: number; pitch: number; start: number; end: number }
interface PmControl { readonly number: number; readonly value: number; readonly time: number }
interface PmInstrument { readonly notes: PmNote[]; controls: PmControl[] }

/** pretty_midi's tick → seconds: tempo events of the first track only (120 bpm until the first), repeated tempi ignored. */
function tickClock(midi: MidiData, name: string): (tick: number) => number {
  const tpb = midi.header.ticksPerBeat;
  if (!tpb) throw new DataError(`MIDI file ${name}: SMPTE time division; the port's reader takes it as ticks per beat and its tokens would be meaningless, so it is not tokenized`);
  const scales: [number, number][] = [[0, 60 / (120 * tpb)]];
  let tick = 0;
  for (const e of midi.tracks[0]!) {
    tick += e.deltaTime;
    if (e.type !== 'setTempo') continue;
    const scale = 60 / ((6e7 / e.microsecondsPerBeat) * tpb);
    if (tick === 0) scales.splice(0, scales.length, [0, scale]);
    else if (scale !== scales[scales.length - 1]![1]) scales.push([tick, scale]);
  }
  // The time at each change's tick, accumulated as pretty_midi does: start + scale · ticks.
  const starts: number[] = [0];
  for (let i = 1; i < scales.length; i++) starts.push(starts[i - 1]! + scales[i - 1]![1] * (scales[i]![0] - scales[i - 1]![0]));
  return (t) => {
    let i = scales.length - 1;
    while (i > 0 && scales[i]![0] > t) i--;
    return starts[i]! + scales[i]![1] * (t - scales[i]![0]);
  };
}

/** pretty_midi's instruments of a file, in the order it creates them, with their notes in note-off order. */
function prettyMidiInstruments(midi: MidiData, name: string): PmInstrument[] {
  const time = tickClock(midi, name), instruments = new Map<string, PmInstrument>(), stragglers = new Map<string, PmInstrument>();
  const instrument = (program: number, channel: number, track: number, create: boolean): PmInstrument => {
    const key = `${program}/${channel}/${track}`, own = instruments.get(key);
    if (own) return own;
    const straggler = stragglers.get(`${channel}/${track}`);
    if (!create && straggler) return straggler;
    // A new instrument takes the controller list of the straggler of its channel and track (the same list, shared).
    const made: PmInstrument = { notes: [], controls: create && straggler ? straggler.controls : [] };
    if (create) instruments.set(key, made);
    else stragglers.set(`${channel}/${track}`, made);
    return made;
  };
  let last = 0;
  for (const events of midi.tracks) { let t = 0; for (const e of events) t += e.deltaTime; last = Math.max(last, t); }
  if (last + 1 > MAX_TICK) throw new DataError(`MIDI file ${name}: its largest tick is ${last + 1}; the port's reader refuses files past ${MAX_TICK} ticks as corrupt`);
  midi.tracks.forEach((events, track) => {
    const open = new Map<string, [number, number][]>(), program = new Array<number>(16).fill(0);
    let tick = 0;
    for (const e of events) {
      tick += e.deltaTime;
      if (e.type === 'programChange') program[e.channel] = e.programNumber;
      else if (e.type === 'noteOn' && e.velocity > 0) {
        const key = `${e.channel}/${e.noteNumber}`;
        if (!open.has(key)) open.set(key, []);
        open.get(key)!.push([tick, e.velocity]);
      } else if (e.type === 'noteOff' || e.type === 'noteOn') {
        const key = `${e.channel}/${e.noteNumber}`, notes = open.get(key);
        if (!notes) continue;
        const close = notes.filter(([start]) => start !== tick), keep = notes.filter(([start]) => start === tick);
        for (const [start, velocity] of close) {
          instrument(program[e.channel]!, e.channel, track, true).notes.push({ velocity, pitch: e.noteNumber, start: time(start), end: time(tick) });
        }
        if (close.length > 0 && keep.length > 0) open.set(key, keep);
        else open.delete(key);
      } else if (e.type === 'controller') {
        instrument(program[e.channel]!, e.channel, track, false).controls.push({ number: e.controllerType, value: e.value, time: time(tick) });
      } else if (e.type === 'pitchBend') {
        // Bends are not tokens, but they find (or make) an instrument as controllers do — a straggler whose controller list a later instrument takes.
        instrument(program[e.channel]!, e.channel, track, false);
      }
    }
  });
  return [...instruments.values()];
}

interface Span { start: number; end: number; managed: PmNote[] }

/** The port's sustain spans from CC 64: ≥ 64 opens one, < 64 closes it (or moves the last one's end); an unclosed span is dropped. */
function sustainSpans(controls: readonly PmControl[]): Span[] {
  const spans: Span[] = [];
  let open: Span | null = null;
  for (const c of controls) {
    if (c.value >= 64 && open === null) open = { start: c.time, end: NaN, managed: [] };
    else if (c.value < 64 && open !== null) { open.end = c.time; spans.push(open); open = null; } else if (c.value < 64 && spans.length > 0) spans[spans.length - 1]!.end = c.time;
  }
  return spans;
}

/** The port's pedal handling, literally (notes in the instrument's order; a span's notes are extended only when a note after it ends its scan). */
function sustainNotes(spans: readonly Span[], notes: readonly PmNote[]): PmNote[] {
  const stream: PmNote[] = [];
  let rest = notes;
  for (const span of spans) {
    for (let i = 0; i < rest.length; i++) {
      const note = rest[i]!;
      if (note.start < span.start) stream.push(note);
      else if (note.start > span.end) {
        rest = rest.slice(i);
        // Later notes first: each ends at the next onset of its pitch inside the span, or at the span's end (or its own, if later).
        const next = new Map<number, number>();
        for (let j = span.managed.length - 1; j >= 0; j--) {
          const m = span.managed[j]!, onset = next.get(m.pitch);
          m.end = onset ?? Math.max(span.end, m.end);
          next.set(m.pitch, m.start);
        }
        break;
      } else {
        span.managed.push(note);
      }
    }
  }
  for (const span of spans) for (const n of span.managed) stream.push(n);
  return stream.sort((a, b) => a.start - b.start);
}

/** Python's round(): half to even. */
const roundHalfEven = (x: number): number => { const r = Math.round(x); return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r; };

/** The port's token ids of a MIDI file's bytes (`name` for messages). */
export function encodePortMidi(bytes: Uint8Array, name: string): number[] {
  const midi = parseMidiFile(bytes, name), notes: PmNote[] = [];
  for (const inst of prettyMidiInstruments(midi, name)) {
    const spans = sustainSpans(inst.controls.filter((c) => c.number === 64));
    for (const n of spans.length > 0 ? sustainNotes(spans, inst.notes) : inst.notes) notes.push(n);
  }
  // On and off events by note onset, then by time (both sorts stable, as Python's).
  const events = [...notes].sort((a, b) => a.start - b.start)
    .flatMap((n) => [{ on: true, time: n.start, pitch: n.pitch, velocity: n.velocity as number | null }, { on: false, time: n.end, pitch: n.pitch, velocity: null }])
    .sort((a, b) => a.time - b.time);
  const ids: number[] = [];
  let now = 0, lastVelocity: number | null = 0;
  for (const e of events) {
    let gap = roundHalfEven((e.time - now) * 100);
    for (; gap >= SHIFTS; gap -= SHIFTS) ids.push(PORT_TIME_SHIFT + SHIFTS - 1);
    if (gap > 0) ids.push(PORT_TIME_SHIFT + gap - 1);
    if (e.velocity !== null && lastVelocity !== (e.velocity >> 2)) ids.push(PORT_VELOCITY + (e.velocity >> 2));
    ids.push((e.on ? PORT_NOTE_ON : PORT_NOTE_OFF) + e.pitch);
    now = e.time;
    lastVelocity = e.velocity;
  }
  return ids;
}

/**
 * The notes the port's decoder makes of token ids: time shifts accumulate, VELOCITY sets 4b, a
 * NOTE_OFF closes the latest NOTE_ON of its pitch (which stays open: a second off makes another
 * note), zero-length notes and offs without an on are skipped; sorted by onset. PAD (388) is read
 * as the port reads it: a VELOCITY of bin 32, so later notes get velocity 128 (generation never
 * samples it).
 */
export function decodePortTokens(ids: readonly number[]): Note[] {
  const notes: Note[] = [], lastOn = new Map<number, { time: number; velocity: number }>();
  let time = 0, velocity = 0;
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= PORT_MUSIC_VOCAB) throw new RangeError(`decodePortTokens: ${id} is not a token id (0–${PORT_MUSIC_VOCAB - 1})`);
    if (id >= PORT_VELOCITY) velocity = (id - PORT_VELOCITY) * 4;
    else if (id >= PORT_TIME_SHIFT) time += (id - PORT_TIME_SHIFT + 1) / 100;
    else if (id >= PORT_NOTE_OFF) {
      const on = lastOn.get(id - PORT_NOTE_OFF);
      if (on && time - on.time !== 0) notes.push({ pitch: id - PORT_NOTE_OFF, velocity: on.velocity, start: on.time, end: time });
    } else {
      lastOn.set(id, { time, velocity });
    }
  }
  return notes.sort((a, b) => a.start - b.start);
}
