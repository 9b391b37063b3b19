// MIDI corpora on disk (Node): the core's reader (data/midi-corpus.ts) over the node file system.
import { listMidiFiles as listFiles, midiPiece, readMidiCorpus as readCorpus, type MidiCorpus } from '../../data/midi-corpus.js';
import type { MidiReadOptions } from '../../data/midi.js';
import type { Piece } from '../../data/music-source.js';
import { nodeFileSystem } from './file-system.js';
import { readFileChecked } from './files.js';

export type { MidiCorpus };
export const listMidiFiles = (dir: string): string[] => listFiles(nodeFileSystem, dir);
export const readMidiCorpus = (dir: string, opts: MidiReadOptions = {}): MidiCorpus => readCorpus(nodeFileSystem, dir, opts);
/** One MIDI file as a piece (DataError with one line when it cannot be used). */
export const readMidiPiece = (path: string, name: string, opts: MidiReadOptions = {}): { piece: Piece; notices: string[] } =>
  midiPiece(readFileChecked(path, 'MIDI file'), name, opts);
