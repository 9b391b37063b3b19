// Reading training data from the user's files: UTF-8 text as bytes, or token-id files.
import { extname } from 'node:path';
import { mirroredSource, streamSource, type DataSource } from '../../data/source.js';
import { BYTE_OFFSET, byteToId, EOS, PAD, SOS } from '../../data/vocab.js';
import { DataError } from '../../errors.js';
import { imageSource } from '../../data/image-source.js';
import { syntheticImages } from '../../data/synthetic-images.js';
import { readImageDataset } from './image-files.js';
import { musicSource, splitPieces, type Piece } from '../../data/music-source.js';
import { MUSIC_VOCAB } from '../../data/music.js';
import { syntheticMusicSplit } from '../../data/synthetic-music.js';
import { readMidiCorpus } from './music-files.js';

/** The built-in synthetic image set (data=synthetic-images). */
const SYNTHETIC_SHAPE = { width: 32, height: 32, channels: 3 } as const, SYNTHETIC_TRAIN = 4000, SYNTHETIC_TEST = 256;
import type { DataConfig } from '../../train/config.js';
import { readFileChecked } from './files.js';

/** A text file as one document of byte ids: [SOS, byte + 3 …, EOS]. */
export function readTextIds(path: string): Int32Array {
  const bytes = readFileChecked(path, 'data file');
  const ids = new Int32Array(bytes.length + 2);
  ids[0] = SOS;
  for (let i = 0; i < bytes.length; i++) ids[i + 1] = byteToId(bytes[i]!);
  ids[bytes.length + 1] = EOS;
  return ids;
}

/**
 * A token-id file: `.i32` little-endian int32, `.u16` little-endian uint16, otherwise text of
 * whitespace-separated non-negative integers. Ids are used as they are (include SOS/EOS yourself).
 * Every id is range-checked before it is stored, and PAD (0) — which marks "no token" in batches —
 * is refused, naming the first position that holds it.
 */
export function readTokenIds(path: string, vocabSize: number): Int32Array {
  const bytes = readFileChecked(path, 'token-id file');
  const ext = extname(path).toLowerCase();
  const fail = (msg: string): never => { throw new DataError(`token-id file ${path}: ${msg}`); };
  const check = (id: number, i: number): number => {
    if (id === PAD) fail(`id ${PAD} (PAD) at token ${i}; PAD marks padding and cannot appear inside a stream (ids start at ${EOS}: EOS ${EOS}, SOS ${SOS})`);
    if (id < 0 || id >= vocabSize) fail(`id ${id} at token ${i} is outside the vocabulary [0, ${vocabSize})`);
    return id;
  };
  let ids: Int32Array;
  if (ext === '.i32' || ext === '.u16') {
    const width = ext === '.i32' ? 4 : 2;
    if (bytes.length % width !== 0) fail(`${bytes.length} bytes is not a whole number of ${ext} values`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    ids = new Int32Array(bytes.length / width);
    for (let i = 0; i < ids.length; i++) ids[i] = check(width === 4 ? view.getInt32(i * 4, true) : view.getUint16(i * 2, true), i);
  } else {
    const text = new TextDecoder().decode(bytes).trim();
    const words = text === '' ? [] : text.split(/\s+/);
    ids = new Int32Array(words.length);
    words.forEach((w, i) => {
      if (!/^\d+$/.test(w)) fail(`'${w.slice(0, 20)}' (token ${i}) is not a non-negative integer`);
      // Checked as a number before storing: an Int32Array would wrap 4294967361 to 65.
      const n = w.length > 15 ? Infinity : Number(w);
      if (n >= vocabSize) fail(`id ${w.length > 20 ? `${w.slice(0, 20)}…` : w} at token ${i} is outside the vocabulary [0, ${vocabSize})`);
      ids[i] = check(n, i);
    });
  }
  if (ids.length < 2) fail(`holds ${ids.length} id${ids.length === 1 ? '' : 's'}; it needs at least 2`);
  return ids;
}

/** The built-in synthetic music (data=synthetic-music): 2,000 training and 64 validation pieces. */
export function syntheticMusicPieces(split: 'train' | 'validation'): Piece[] {
  return syntheticMusicSplit(split).map((p, i) => ({ name: `synthetic ${split} ${i}`, notes: p.notes, events: p.events }));
}

/**
 * Music data: the synthetic pieces, or a MIDI corpus split by file (splitPieces); the corpus's
 * warnings (skipped files, notices) and summary go to `log`.
 */
export function loadMusic(c: DataConfig, log: (line: string) => void = () => {}): ReturnType<typeof musicSource> {
  if (c.data === 'synthetic-music') {
    return musicSource(syntheticMusicPieces('train'), syntheticMusicPieces('validation'), 'synthetic pieces with a returning theme', c.augment);
  }
  const corpus = readMidiCorpus(c.dataPath, { keepDrums: c.keepDrums });
  for (const w of corpus.warnings) log(w);
  log(corpus.summary);
  const { train, validation } = splitPieces(corpus.pieces, c.validationFraction);
  if (train.length === 0) throw new DataError(`MIDI data ${c.dataPath}: every piece went to validation; lower validationFraction`);
  return musicSource(train, validation, c.dataPath, c.augment);
}

export function loadDataSource(c: DataConfig, vocabSize: number, log?: (line: string) => void): DataSource {
  switch (c.data) {
    case 'mirrored':
      if (c.alphabet + BYTE_OFFSET > vocabSize) {
        throw new DataError(`the mirrored task with alphabet ${c.alphabet} needs vocabSize ≥ ${c.alphabet + BYTE_OFFSET} (symbols + PAD/EOS/SOS), got ${vocabSize}`);
      }
      return mirroredSource(c.alphabet, c.positionOffset);
    case 'text': {
      if (vocabSize < 256 + BYTE_OFFSET) throw new DataError(`text data needs vocabSize ≥ ${256 + BYTE_OFFSET} (bytes + PAD/EOS/SOS), got ${vocabSize}`);
      return streamSource(readTextIds(c.dataPath), c.validationFraction, c.dataPath);
    }
    case 'ids': return streamSource(readTokenIds(c.dataPath, vocabSize), c.validationFraction, c.dataPath);
    case 'images': case 'synthetic-images': {
      if (vocabSize < 256 + BYTE_OFFSET) throw new DataError(`image data needs vocabSize ≥ ${256 + BYTE_OFFSET} (pixel values + PAD/EOS/SOS), got ${vocabSize}`);
      if (c.data === 'synthetic-images') {
        return imageSource(syntheticImages(SYNTHETIC_TRAIN, 1), syntheticImages(SYNTHETIC_TEST, 2), SYNTHETIC_SHAPE, 'synthetic 32×32 RGB images');
      }
      const d = readImageDataset(c.dataPath, c.validationFraction);
      return imageSource(d.train, d.test, d.shape, d.description);
    }
    case 'music': case 'synthetic-music': {
      if (vocabSize < MUSIC_VOCAB) throw new DataError(`music data needs vocabSize ≥ ${MUSIC_VOCAB} (performance events + PAD/EOS/SOS), got ${vocabSize}`);
      return loadMusic(c, log);
    }
    default: { const never: never = c.data; throw new Error(`unknown data kind ${String(never)}`); }
  }
}
