// Long-range structure, measured (docs/music.md): on synthetic pieces whose theme returns
// transposed (data/synthetic-music.ts), prompt the model with everything up to and including the
// return's first NOTE_ON (which fixes the transposition), decode greedily, and compare with the
// piece's own events: the fraction of the return's events reproduced in place, and of its notes
// (the i-th NOTE_ON of the continuation against the i-th of the truth).
import { encodePiece, NOTE_OFF } from '../data/music.js';
import type { SyntheticPiece } from '../data/synthetic-music.js';
import type { PerceiverAR } from '../models/perceiver-ar/model.js';
import { generate } from '../sample/generate.js';
import { BYTE_OFFSET } from '../data/vocab.js';

export interface ReturnScore {
  /** Events of the return (after the prompt) reproduced at their position. */
  readonly eventAccuracy: number;
  /** NOTE_ONs of the return whose pitch matches, in order. */
  readonly noteAccuracy: number;
  readonly events: number;
  readonly notes: number;
}

/** Scores one continuation (event classes) against the truth (event classes). */
export function scoreReturn(truth: ArrayLike<number>, generated: ArrayLike<number>): ReturnScore {
  let events = 0;
  for (let i = 0; i < truth.length; i++) if (generated[i] === truth[i]) events++;
  const ons = (x: ArrayLike<number>): number[] => Array.from(x).filter((c) => c >= 0 && c < NOTE_OFF);
  const t = ons(truth), g = ons(generated);
  let notes = 0;
  t.forEach((p, i) => { if (g[i] === p) notes++; });
  return { eventAccuracy: truth.length ? events / truth.length : 1, noteAccuracy: t.length ? notes / t.length : 1, events: truth.length, notes: t.length };
}

/** The mean scores over pieces (each piece weighted by its events / notes), greedy cached decoding. */
export function returnAccuracy(model: PerceiverAR, pieces: readonly SyntheticPiece[], onPiece?: (done: number) => void): ReturnScore {
  let events = 0, notes = 0, eventHits = 0, noteHits = 0;
  pieces.forEach((p, i) => {
    const ids = encodePiece(p.events), cut = p.returnStart + 2; // SOS + events through the return's first NOTE_ON
    const truth = p.events.subarray(p.returnStart + 1);
    const r = generate(model, Array.from(ids.subarray(0, cut)), { maxNewTokens: truth.length, temperature: 0, topK: 0, topP: 1, seed: 0, stopAtEos: true, cached: true });
    const s = scoreReturn(truth, Array.from(r.tokens, (t) => t - BYTE_OFFSET));
    events += s.events; notes += s.notes; eventHits += s.eventAccuracy * s.events; noteHits += s.noteAccuracy * s.notes;
    onPiece?.(i + 1);
  });
  return { eventAccuracy: eventHits / events, noteAccuracy: noteHits / notes, events, notes };
}
