// MIDI corpora from bytes (Node and browsers): every .mid/.midi file under a directory of a
// FileSystem (recursive, sorted by relative path) as a piece of performance events. A file that
// cannot be read, or has no notes in 21–108, is skipped with one warning line naming it; a
// directory with no usable file is an error.
import { DataError, InputError } from '../errors.js';
import { listFilesDeep, type FileSystem } from '../io/file-system.js';
import { midiToNotes, type MidiReadOptions } from './midi.js';
import type { Piece } from './music-source.js';
import { MAX_PITCH, MIN_PITCH, notesToEvents } from './music.js';
import { maxOf } from '../tensor/extent.js';

export interface MidiCorpus {
  readonly pieces: Piece[];
  /** One line per skipped file or notice. */
  readonly warnings: string[];
  readonly summary: string;
}

export function listMidiFiles(fs: FileSystem, dir: string): string[] {
  return listFilesDeep(fs, dir, (name) => /\.midi?$/i.test(name));
}

/** One MIDI file as a piece (DataError with one line when it cannot be used). */
export function midiPiece(bytes: Uint8Array, name: string, opts: MidiReadOptions = {}): { piece: Piece; notices: string[] } {
  const { notes, notices } = midiToNotes(bytes, name, opts);
  const { events, dropped } = notesToEvents(notes);
  if (dropped > 0) notices.push(`${dropped} notes outside the piano range 21–108 dropped`);
  if (events.length === 0) throw new DataError(`MIDI file ${name}: no notes${notes.length ? ' in the piano range 21–108' : ''}`);
  return { piece: { name, notes: notes.filter((n) => n.pitch >= MIN_PITCH && n.pitch <= MAX_PITCH), events }, notices };
}

export function readMidiCorpus(fs: FileSystem, dir: string, opts: MidiReadOptions = {}): MidiCorpus {
  if (fs.kind(dir) === null) throw new DataError(`MIDI data ${dir} does not exist`);
  const single = fs.kind(dir) === 'file';
  const files = single ? [dir] : listMidiFiles(fs, dir);
  if (files.length === 0) throw new DataError(`MIDI data ${dir}: no .mid or .midi files (searched recursively)`);
  const pieces: Piece[] = [], warnings: string[] = [];
  for (const f of files) {
    const name = single ? f : fs.relative(dir, f);
    try {
      const { piece, notices } = midiPiece(fs.readBytes(f, 'MIDI file'), name, opts);
      pieces.push(piece);
      for (const n of notices) warnings.push(`${name}: ${n}`);
    } catch (e) {
      // A file that cannot be read (empty, unreadable) or used is skipped, as the corpus's other problems are.
      if (!(e instanceof InputError)) throw e;
      warnings.push(`skipped ${e.message}`);
    }
  }
  if (pieces.length === 0) throw new DataError(`MIDI data ${dir}: none of the ${files.length} files could be used (${warnings[0]}${warnings.length > 1 ? ', …' : ''})`);
  const events = pieces.reduce((n, p) => n + p.events.length, 0), seconds = pieces.reduce((s, p) => s + Math.max(0, maxOf(p.notes.map((n) => n.end), 0)), 0);
  return {
    pieces, warnings,
    summary: `${dir}: ${pieces.length} pieces, ${events} events, ${(seconds / 60).toFixed(1)} minutes; ${files.length - pieces.length} of ${files.length} files skipped`,
  };
}
