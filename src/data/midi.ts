// Standard MIDI files ↔ notes in seconds (spec music §2–§3), through the `midi-file` package (pure
// JS: it parses running status and writes raw events; we add the rest):
//   - formats 0 and 1 (format 2, independent sequences, is refused); metrical time through the tempo
//     map of every track's Set Tempo events (default 120 bpm); SMPTE time (frames per second ×
//     ticks per frame) read as absolute time, with a notice;
//   - note-on with velocity 0 is a note-off; a note-off closes the oldest open note of its channel
//     and pitch (first in, first out); notes open at the end of their track close there;
//   - the sustain pedal (CC 64 ≥ 64 = down) per channel: a note released while the pedal is down
//     lasts until the pedal goes up, or until its pitch is struck again on that channel, if sooner;
//   - the drum channel (10, index 9) is skipped unless keepDrums;
//   - a piece lasts at most MAX_PIECE_SECONDS (24 hours): a longer one, or a tempo of 0 µs per beat,
//     is refused (a damaged delta time can otherwise make a piece of centuries, whose time-shift
//     events no memory holds).
// Written files: format 0, one track, 500 ticks per quarter at 120 bpm (1 tick = 1 ms), piano.
import { parseMidi, writeMidi, type MidiData, type MidiEvent } from 'midi-file';
import { DataError } from '../errors.js';
import type { Note } from './music.js';

export interface MidiReadOptions {
  /** Keep channel 10 (General MIDI percussion). Default false. */
  readonly keepDrums?: boolean;
}

export interface MidiNotes {
  readonly notes: Note[];
  /** Notices about the file (SMPTE time, drum notes skipped); one line each. */
  readonly notices: string[];
}

const DRUMS = 9;
/** The longest piece read: 24 hours (86,400 s; at least as many time-shift events). */
export const MAX_PIECE_SECONDS = 24 * 3600;
const TICKS_PER_BEAT = 500, TEMPO = 500_000;

/**
 * Checks the chunk structure before parsing: an MThd header, then as many chunks as it declares
 * tracks, each fitting in the file. Bytes after the last declared chunk (padding some writers
 * leave) are ignored.
 */
function checkChunks(bytes: Uint8Array, name: string): void {
  const fail = (msg: string): never => { throw new DataError(`MIDI file ${name}: ${msg}`); };
  const id = (at: number): string => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 14 || id(0) !== 'MThd') fail(`not a standard MIDI file (it does not start with an MThd header${bytes.length < 14 ? `; ${bytes.length} bytes` : ''})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const tracks = view.getUint16(10);
  let at = 8 + view.getUint32(4);
  for (let chunk = 1; chunk <= tracks; chunk++) {
    if (bytes.length - at < 8) fail(`truncated: the header declares ${tracks} tracks, the file ends after ${chunk - 1}`);
    const len = view.getUint32(at + 4);
    if (at + 8 + len > bytes.length) fail(`truncated: chunk ${chunk} ('${id(at)}') declares ${len} bytes, only ${bytes.length - at - 8} remain`);
    at += 8 + len;
  }
}

export function parseMidiFile(bytes: Uint8Array, name: string): MidiData {
  checkChunks(bytes, name);
  let midi: MidiData;
  try {
    midi = parseMidi(bytes);
  } catch (e) {
    throw new DataError(`MIDI file ${name}: unreadable (${e instanceof Error ? e.message : String(e)})`);
  }
  const h = midi.header;
  if (h.format === 2) throw new DataError(`MIDI file ${name}: format 2 (independent sequences) is not supported; formats 0 and 1 are`);
  if (h.format !== 0 && h.format !== 1) throw new DataError(`MIDI file ${name}: format ${h.format} is not a MIDI file format (0, 1 and 2 exist; 0 and 1 are supported)`);
  if (h.framesPerSecond !== undefined) {
    if (!(h.framesPerSecond > 0) || !((h.ticksPerFrame ?? 0) > 0)) {
      throw new DataError(`MIDI file ${name}: SMPTE time with ${h.framesPerSecond} frames per second and ${h.ticksPerFrame ?? 0} ticks per frame; both must be positive`);
    }
  } else if (!((h.ticksPerBeat ?? 0) > 0)) {
    throw new DataError(`MIDI file ${name}: the header gives ${h.ticksPerBeat ?? 0} ticks per beat; a time division must be positive`);
  }
  if (midi.tracks.length === 0) throw new DataError(`MIDI file ${name}: no tracks`);
  return midi;
}

/** tick → seconds for a file: the tempo map (metrical time) or the SMPTE rate. */
function clockOf(midi: MidiData, name: string, notices: string[]): (tick: number) => number {
  const h = midi.header;
  if (h.framesPerSecond !== undefined) {
    const perSecond = h.framesPerSecond * h.ticksPerFrame!;
    notices.push(`SMPTE time: ${h.framesPerSecond} frames/s × ${h.ticksPerFrame} ticks/frame, read as absolute time (tempo events ignored)`);
    return (tick) => tick / perSecond;
  }
  const tpb = h.ticksPerBeat!;
  const changes: { tick: number; us: number }[] = [];
  for (const track of midi.tracks) {
    let tick = 0;
    for (const e of track) {
      tick += e.deltaTime;
      if (e.type !== 'setTempo') continue;
      if (!(e.microsecondsPerBeat > 0)) throw new DataError(`MIDI file ${name}: a tempo event at tick ${tick} sets ${e.microsecondsPerBeat} microseconds per beat; a tempo must be positive`);
      changes.push({ tick, us: e.microsecondsPerBeat });
    }
  }
  changes.sort((a, b) => a.tick - b.tick);
  // Segment starts: (tick, seconds, µs per beat from there on).
  const segs = [{ tick: 0, sec: 0, us: TEMPO }];
  for (const c of changes) {
    const last = segs[segs.length - 1]!;
    const sec = last.sec + ((c.tick - last.tick) * last.us) / (tpb * 1e6);
    if (c.tick === last.tick) segs[segs.length - 1] = { tick: c.tick, sec: last.sec, us: c.us };
    else segs.push({ tick: c.tick, sec, us: c.us });
  }
  return (tick) => {
    let lo = 0;
    for (let hi = segs.length - 1; lo < hi;) { const mid = (lo + hi + 1) >> 1; if (segs[mid]!.tick <= tick) lo = mid; else hi = mid - 1; }
    const s = segs[lo]!;
    return s.sec + ((tick - s.tick) * s.us) / (tpb * 1e6);
  };
}

/** The notes of a MIDI file in seconds, pedal applied (see the top of this file). */
export function midiToNotes(bytes: Uint8Array, name: string, opts: MidiReadOptions = {}): MidiNotes {
  const midi = parseMidiFile(bytes, name), notices: string[] = [];
  const seconds = clockOf(midi, name, notices);
  type Raw = { channel: number; pitch: number; velocity: number; start: number; end: number };
  const raw: Raw[] = [];
  const pedal = new Map<number, { t: number; down: boolean }[]>();
  let drums = 0;
  for (const track of midi.tracks) {
    const open = new Map<number, Raw[]>();
    let tick = 0;
    for (const e of track as MidiEvent[]) {
      tick += e.deltaTime;
      if (e.type !== 'noteOn' && e.type !== 'noteOff' && e.type !== 'controller') continue;
      if (e.channel === DRUMS && !opts.keepDrums) { if (e.type === 'noteOn' && e.velocity > 0) drums++; continue; }
      const t = seconds(tick);
      if (e.type === 'controller') {
        if (e.controllerType === 64) { if (!pedal.has(e.channel)) pedal.set(e.channel, []); pedal.get(e.channel)!.push({ t, down: e.value >= 64 }); }
        continue;
      }
      const key = e.channel * 128 + e.noteNumber;
      if (e.type === 'noteOn' && e.velocity > 0) {
        const n: Raw = { channel: e.channel, pitch: e.noteNumber, velocity: e.velocity, start: t, end: Number.NaN };
        if (!open.has(key)) open.set(key, []);
        open.get(key)!.push(n);
        raw.push(n);
      } else {
        const n = open.get(key)?.shift();
        if (n) n.end = t;
      }
    }
    const endOfTrack = seconds(tick);
    for (const q of open.values()) for (const n of q) n.end = endOfTrack;
  }
  if (drums > 0) notices.push(`${drums} drum notes (channel 10) skipped`);
  // A format-1 file's tracks each bring pedal events of a channel: in time order before use (stable:
  // events at the same time keep their order).
  for (const events of pedal.values()) events.sort((a, b) => a.t - b.t);
  const last = raw.reduce((m, n) => Math.max(m, n.end), 0);
  // Sustain: per channel, the pedal-up time that ends a note released at t with the pedal down.
  const releasedAt = (channel: number, t: number): number => {
    const events = pedal.get(channel);
    if (!events) return t;
    let down = false, i = 0;
    for (; i < events.length && events[i]!.t <= t; i++) down = events[i]!.down;
    if (!down) return t;
    for (; i < events.length; i++) if (!events[i]!.down) return events[i]!.t;
    return Math.max(t, last);
  };
  const byKey = new Map<number, Raw[]>();
  for (const n of raw) { const k = n.channel * 128 + n.pitch; if (!byKey.has(k)) byKey.set(k, []); byKey.get(k)!.push(n); }
  const notes: Note[] = [];
  for (const list of byKey.values()) {
    list.sort((a, b) => a.start - b.start);
    list.forEach((n, i) => {
      const next = list[i + 1]?.start ?? Infinity, sustained = releasedAt(n.channel, n.end);
      const end = sustained > n.end ? Math.max(n.end, Math.min(sustained, next)) : n.end;
      if (end > n.start) notes.push({ pitch: n.pitch, velocity: n.velocity, start: n.start, end });
    });
  }
  notes.sort((a, b) => a.start - b.start || a.pitch - b.pitch);
  const length = notes.reduce((m, n) => Math.max(m, n.end), 0);
  if (length > MAX_PIECE_SECONDS) {
    throw new DataError(`MIDI file ${name}: a note ends at ${(length / 3600).toFixed(1)} hours; pieces of at most ${MAX_PIECE_SECONDS / 3600} hours are read (a damaged delta time?)`);
  }
  return { notes, notices };
}

/** Notes → a standard MIDI file (format 0, 500 ticks per quarter at 120 bpm: 1 tick = 1 ms; channel 1, piano). */
export function notesToMidi(notes: readonly Note[], title = 'perceiver-ar'): Uint8Array {
  const marks: { tick: number; on: boolean; pitch: number; velocity: number }[] = [];
  for (const n of notes) {
    const start = Math.round(n.start * 1000), end = Math.max(start + 1, Math.round(n.end * 1000));
    marks.push({ tick: start, on: true, pitch: n.pitch, velocity: Math.min(127, Math.max(1, Math.round(n.velocity))) }, { tick: end, on: false, pitch: n.pitch, velocity: 0 });
  }
  marks.sort((a, b) => a.tick - b.tick || Number(a.on) - Number(b.on) || a.pitch - b.pitch);
  const track: MidiEvent[] = [
    { deltaTime: 0, meta: true, type: 'trackName', text: title },
    { deltaTime: 0, meta: true, type: 'setTempo', microsecondsPerBeat: TEMPO },
    { deltaTime: 0, type: 'programChange', channel: 0, programNumber: 0 },
  ];
  let tick = 0;
  for (const m of marks) {
    const deltaTime = m.tick - tick;
    tick = m.tick;
    track.push(m.on ? { deltaTime, type: 'noteOn', channel: 0, noteNumber: m.pitch, velocity: m.velocity }
      : { deltaTime, type: 'noteOff', channel: 0, noteNumber: m.pitch, velocity: 0 });
  }
  track.push({ deltaTime: 0, meta: true, type: 'endOfTrack' });
  return Uint8Array.from(writeMidi({ header: { format: 0, numTracks: 1, ticksPerBeat: TICKS_PER_BEAT }, tracks: [track] }));
}
