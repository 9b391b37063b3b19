// Music corpora as training data: pieces of performance events (music.ts), training crops within
// pieces (a crop ends at a uniformly random event of a random piece and starts at SOS when the
// whole prefix fits), Music Transformer's augmentation on request (transposition −3…+3 semitones,
// time stretch ×{0.95, 0.975, 1, 1.025, 1.05}; a transposition that leaves 21–108 is redrawn as
// none), and validation from fixed, seeded crops of the validation pieces.
import { Rng } from '../tensor/rng.js';
import { cropEnd, cropRows } from './crops.js';
import { encodePiece, musicCodec, notesToEvents, transposeEvents, type Note } from './music.js';
import type { DataSource } from './source.js';
import { maxOf } from '../tensor/extent.js';

export interface Piece {
  /** Where it came from (a file's relative path, or "synthetic 12"). */
  readonly name: string;
  readonly notes: readonly Note[];
  /** Event classes (notesToEvents(notes).events). */
  readonly events: Int32Array;
}

export const STRETCHES = [0.95, 0.975, 1, 1.025, 1.05] as const;
const VALIDATION_SEED = 0x3a51c;

/**
 * Deterministic split by name: a piece is held out when a hash of its name falls below
 * `fraction`; at least one piece is held out when fraction > 0 and there are 2 or more.
 */
export function splitPieces<T extends { name: string }>(pieces: readonly T[], fraction: number): { train: T[]; validation: T[] } {
  const hash = (s: string): number => { let h = 2166136261; for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619); return (h >>> 0) / 2 ** 32; };
  const scored = pieces.map((p) => ({ p, h: hash(p.name) }));
  let validation = scored.filter((x) => x.h < fraction);
  if (validation.length === 0 && fraction > 0 && pieces.length >= 2) validation = [scored.reduce((a, b) => (b.h < a.h ? b : a))];
  const held = new Set(validation.map((x) => x.p));
  return { train: pieces.filter((p) => !held.has(p)), validation: validation.map((x) => x.p) };
}

export function musicSource(train: readonly Piece[], validation: readonly Piece[], description: string, augment: boolean): DataSource & { readonly validationPieces: readonly Piece[] } {
  if (train.length === 0) throw new RangeError(`${description}: no training pieces`);
  const codec = musicCodec();
  const plain = train.map((p) => encodePiece(p.events)), valid = validation.map((p) => encodePiece(p.events));
  const stretched = new Map<string, Int32Array>();
  /** Training piece i's events at time stretch s (cached). */
  const stretchedEvents = (i: number, s: number): Int32Array => {
    const key = `${i}|${s}`;
    let events = s === 1 ? train[i]!.events : stretched.get(key);
    if (!events) {
      events = notesToEvents(train[i]!.notes.map((n) => ({ ...n, start: n.start * s, end: n.end * s }))).events;
      stretched.set(key, events);
    }
    return events;
  };
  const variant = (rng: Rng, i: number): Int32Array => {
    if (!augment) return plain[i]!;
    const s = STRETCHES[rng.int(STRETCHES.length)]!, shift = rng.int(7) - 3;
    const events = stretchedEvents(i, s);
    return encodePiece((shift !== 0 ? transposeEvents(events, shift) : null) ?? events);
  };
  // Transposition changes no length, but a stretch can lengthen or shorten a piece either way (close
  // time marks merge or split at quantisation), so the largest position is over every stretch.
  const events = (list: readonly Int32Array[]): number => list.reduce((n, x) => n + x.length - 2, 0);
  return {
    validationPieces: validation,
    description: `${description}: ${train.length} training pieces (${events(plain)} events), ${validation.length} validation pieces (${events(valid)} events)` +
      `${augment ? ', augmented (transposition ±3, time stretch ±5%)' : ''}`,
    trainBatch: (rng, B, M, minCrop) => {
      const picks = Array.from({ length: B }, () => variant(rng, rng.int(plain.length)));
      return cropRows(picks, picks.map((p) => cropEnd(rng, p.length, minCrop)), M, codec);
    },
    validationBatches: (B, M, count) => {
      if (valid.length === 0) throw new RangeError(`${description}: no validation pieces`);
      const rng = new Rng(VALIDATION_SEED);
      return Array.from({ length: count }, (_, c) => {
        const picks = Array.from({ length: B }, (__, b) => valid[(c * B + b) % valid.length]!);
        return cropRows(picks, picks.map((p) => cropEnd(rng, p.length, 1)), M, codec);
      });
    },
    scoredInputs: () => null,
    maxPosition: () => Math.max(maxOf(plain.map((p) => p.length)), maxOf(valid.map((p) => p.length)),
      augment ? maxOf(STRETCHES.flatMap((st) => train.map((_, i) => stretchedEvents(i, st).length + 2))) : -Infinity),
    coordinateDims: 0,
    hasValidation: valid.length > 0,
  };
}
