// Reading MIDI corpora (Node): every .mid/.midi file under a directory (recursive, sorted by
// relative path) as a piece of performance events. A file that cannot be read, or has no notes in
// 21–108, is skipped with one warning line naming it; a directory with no usable file is an error.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { midiToNotes, type MidiReadOptions } from '../../data/midi.js';
import type { Piece } from '../../data/music-source.js';
import { MAX_PITCH, MIN_PITCH, notesToEvents } from '../../data/music.js';
import { DataError } from '../../errors.js';
import { readFileChecked } from './files.js';

export interface MidiCorpus {
  readonly pieces: Piece[];
  /** One line per skipped file or notice. */
  readonly warnings: string[];
  readonly summary: string;
}

export function listMidiFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.midi?$/i.test(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** One MIDI file as a piece (DataError with one line when it cannot be used). */
export function readMidiPiece(path: string, name: string, opts: MidiReadOptions = {}): { piece: Piece; notices: string[] } {
  const { notes, notices } = midiToNotes(readFileChecked(path, 'MIDI file'), name, opts);
  const { events, dropped } = notesToEvents(notes);
  if (dropped > 0) notices.push(`${dropped} notes outside the piano range 21–108 dropped`);
  if (events.length === 0) throw new DataError(`MIDI file ${name}: no notes${notes.length ? ' in the piano range 21–108' : ''}`);
  return { piece: { name, notes: notes.filter((n) => n.pitch >= MIN_PITCH && n.pitch <= MAX_PITCH), events }, notices };
}

export function readMidiCorpus(dir: string, opts: MidiReadOptions = {}): MidiCorpus {
  if (!existsSync(dir)) throw new DataError(`MIDI data ${dir} does not exist`);
  const single = statSync(dir).isFile();
  const files = single ? [dir] : listMidiFiles(dir);
  if (files.length === 0) throw new DataError(`MIDI data ${dir}: no .mid or .midi files (searched recursively)`);
  const pieces: Piece[] = [], warnings: string[] = [];
  for (const f of files) {
    const name = single ? f : relative(dir, f);
    try {
      const { piece, notices } = readMidiPiece(f, name, opts);
      pieces.push(piece);
      for (const n of notices) warnings.push(`${name}: ${n}`);
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      warnings.push(`skipped ${e.message}`);
    }
  }
  if (pieces.length === 0) throw new DataError(`MIDI data ${dir}: none of the ${files.length} files could be used (${warnings[0]}${warnings.length > 1 ? ', …' : ''})`);
  const events = pieces.reduce((n, p) => n + p.events.length, 0), seconds = pieces.reduce((s, p) => s + Math.max(0, ...p.notes.map((n) => n.end)), 0);
  return {
    pieces, warnings,
    summary: `${dir}: ${pieces.length} pieces, ${events} events, ${(seconds / 60).toFixed(1)} minutes; ${files.length - pieces.length} of ${files.length} files skipped`,
  };
}
