// Symbolic music as Perceiver AR sequences: the performance encoding of Music Transformer (spec
// music §1–§3). Event classes, in order: 88 NOTE_ON (pitch 21–108) · 88 NOTE_OFF · 100 TIME_SHIFT
// (1–100 steps of 10 ms) · 32 VELOCITY (bins of 4) = 308; id = class + 3 (PAD 0, EOS 1, SOS 2 in
// front), vocabulary 311. A piece is [SOS, events…, EOS].
// Encoding rules (documented in docs/music.md):
//   - times are quantised absolutely: step = round(seconds · 100); a note that quantises to zero
//     length lasts one step;
//   - at one step: every NOTE_OFF before any NOTE_ON, each group by pitch;
//   - gaps become TIME_SHIFTs of ≤ 100 steps; a VELOCITY event precedes a NOTE_ON only when the
//     bin changes (the first NOTE_ON always has one);
//   - decoding: NOTE_OFF closes the oldest open note of its pitch (first in, first out); zero-length
//     notes are dropped; notes still open at the end close there; a NOTE_ON before any VELOCITY gets
//     velocity 61 (bin 16).
// Pure data code: MIDI files are read and written by ./midi.ts.
import type { Codec } from './codec.js';
import { BYTE_OFFSET, EOS, PAD, SOS } from './vocab.js';

export const STEPS_PER_SECOND = 100;
export const MAX_SHIFT = 100;
export const VELOCITY_BINS = 32;
export const MIN_PITCH = 21;
export const MAX_PITCH = 108;
const PITCHES = MAX_PITCH - MIN_PITCH + 1;
export const NOTE_ON = 0;
export const NOTE_OFF = PITCHES;
export const TIME_SHIFT = 2 * PITCHES;
export const VELOCITY = TIME_SHIFT + MAX_SHIFT;
export const EVENT_CLASSES = VELOCITY + VELOCITY_BINS;
/** The vocabulary of a music model: the event classes after PAD/EOS/SOS. */
export const MUSIC_VOCAB = EVENT_CLASSES + BYTE_OFFSET;
const DEFAULT_BIN = 16;

/** A note in seconds; velocity 1–127. */
export interface Note {
  readonly pitch: number;
  readonly velocity: number;
  readonly start: number;
  readonly end: number;
}

export const velocityBin = (v: number): number => Math.floor((Math.min(127, Math.max(1, Math.round(v))) - 1) / 4) + 1;
export const binVelocity = (bin: number): number => 1 + 4 * (bin - 1);

/** A class id in words ("NOTE_ON 60", "TIME_SHIFT 30", …), for tests and logs. */
export function describeEvent(c: number): string {
  if (c < NOTE_OFF) return `NOTE_ON ${c + MIN_PITCH}`;
  if (c < TIME_SHIFT) return `NOTE_OFF ${c - NOTE_OFF + MIN_PITCH}`;
  if (c < VELOCITY) return `TIME_SHIFT ${c - TIME_SHIFT + 1}`;
  if (c < EVENT_CLASSES) return `VELOCITY ${c - VELOCITY + 1}`;
  throw new RangeError(`event class ${c} is outside [0, ${EVENT_CLASSES})`);
}

/** Notes → event classes. Notes outside 21–108 are dropped (counted in `dropped`). */
export function notesToEvents(notes: readonly Note[]): { events: Int32Array; dropped: number } {
  const marks: { step: number; on: boolean; pitch: number; velocity: number }[] = [];
  let dropped = 0;
  for (const n of notes) {
    if (n.pitch < MIN_PITCH || n.pitch > MAX_PITCH) { dropped++; continue; }
    const start = Math.round(n.start * STEPS_PER_SECOND), end = Math.max(start + 1, Math.round(n.end * STEPS_PER_SECOND));
    marks.push({ step: start, on: true, pitch: n.pitch, velocity: n.velocity }, { step: end, on: false, pitch: n.pitch, velocity: 0 });
  }
  marks.sort((a, b) => a.step - b.step || Number(a.on) - Number(b.on) || a.pitch - b.pitch);
  const out: number[] = [];
  let clock = 0, bin = 0;
  for (const m of marks) {
    for (let gap = m.step - clock; gap > 0; gap -= MAX_SHIFT) out.push(TIME_SHIFT + Math.min(gap, MAX_SHIFT) - 1);
    clock = m.step;
    if (m.on) {
      const b = velocityBin(m.velocity);
      if (b !== bin) { out.push(VELOCITY + b - 1); bin = b; }
      out.push(NOTE_ON + m.pitch - MIN_PITCH);
    } else {
      out.push(NOTE_OFF + m.pitch - MIN_PITCH);
    }
  }
  return { events: Int32Array.from(out), dropped };
}

/** Event classes → notes (sorted by start, then pitch). Ids outside the classes are refused. */
export function eventsToNotes(events: ArrayLike<number>): Note[] {
  const open = new Map<number, { start: number; velocity: number }[]>(), notes: Note[] = [];
  let clock = 0, velocity = binVelocity(DEFAULT_BIN);
  const close = (pitch: number, at: number): void => {
    const q = open.get(pitch), first = q?.shift();
    if (first && at > first.start) notes.push({ pitch, velocity: first.velocity, start: first.start / STEPS_PER_SECOND, end: at / STEPS_PER_SECOND });
  };
  for (let i = 0; i < events.length; i++) {
    const c = events[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= EVENT_CLASSES) throw new RangeError(`event ${i}: class ${c} is outside [0, ${EVENT_CLASSES})`);
    if (c < NOTE_OFF) {
      const p = c + MIN_PITCH;
      if (!open.has(p)) open.set(p, []);
      open.get(p)!.push({ start: clock, velocity });
    } else if (c < TIME_SHIFT) close(c - NOTE_OFF + MIN_PITCH, clock);
    else if (c < VELOCITY) clock += c - TIME_SHIFT + 1;
    else velocity = binVelocity(c - VELOCITY + 1);
  }
  for (const [pitch, q] of open) while (q.length) close(pitch, clock);
  return notes.sort((a, b) => a.start - b.start || a.pitch - b.pitch);
}

/** A piece as model ids: [SOS, class + 3 …, EOS]. */
export function encodePiece(events: ArrayLike<number>): Int32Array {
  const ids = new Int32Array(events.length + 2);
  ids[0] = SOS;
  for (let i = 0; i < events.length; i++) ids[i + 1] = events[i]! + BYTE_OFFSET;
  ids[events.length + 1] = EOS;
  return ids;
}

/** Model ids back to event classes: SOS and PAD are skipped, decoding stops at EOS; other reserved ids are refused. */
export function decodePiece(ids: ArrayLike<number>): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id === EOS) break;
    if (id === SOS || id === PAD) continue;
    if (id < BYTE_OFFSET || id >= MUSIC_VOCAB) throw new RangeError(`id ${id} at ${i} is not a music event (ids ${BYTE_OFFSET}–${MUSIC_VOCAB - 1})`);
    out.push(id - BYTE_OFFSET);
  }
  return Int32Array.from(out);
}

/** Seconds of music in a list of event classes (the sum of its time shifts). */
export function eventSeconds(events: ArrayLike<number>): number {
  let steps = 0;
  for (let i = 0; i < events.length; i++) { const c = events[i]!; if (c >= TIME_SHIFT && c < VELOCITY) steps += c - TIME_SHIFT + 1; }
  return steps / STEPS_PER_SECOND;
}

/** Transposes event classes by `semitones`; null when a note would leave 21–108. */
export function transposeEvents(events: Int32Array, semitones: number): Int32Array | null {
  const out = Int32Array.from(events);
  for (let i = 0; i < out.length; i++) {
    const c = out[i]!;
    if (c >= TIME_SHIFT) continue;
    const base = c < NOTE_OFF ? NOTE_ON : NOTE_OFF, p = c - base + MIN_PITCH + semitones;
    if (p < MIN_PITCH || p > MAX_PITCH) return null;
    out[i] = base + p - MIN_PITCH;
  }
  return out;
}

/** The music codec: event ids and EOS may be sampled anywhere; PAD and SOS never. */
export function musicCodec(): Codec {
  const allowed = new Uint8Array(MUSIC_VOCAB).fill(1);
  allowed[PAD] = 0;
  allowed[SOS] = 0;
  return {
    kind: 'music', description: `performance events (${EVENT_CLASSES} classes + PAD/EOS/SOS)`, vocabSize: MUSIC_VOCAB, coordinateDims: 0, maxCoordinate: 0,
    sequenceLength: null, coordinates: () => [], allowedAt: () => allowed,
  };
}
