// Long-range structure, measured (docs/music.md): on synthetic pieces whose themes return
// transposed (data/synthetic-music.ts), prompt the model with everything up to and including a
// return's first NOTE_ON (which fixes the transposition), decode greedily, and compare with the
// piece's own events: the fraction of the return's events reproduced in place, of its notes (the
// i-th NOTE_ON of the continuation against the i-th of the truth), and of its notes recalled from
// the theme at the theme's pitch or transposed (the theme is random in every piece, so only a
// model that reaches back ~160 events can score above chance on either).
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
  /** NOTE_ONs of the return that match the truth, or the theme's note untransposed (truth − transpose). */
  readonly recallAccuracy: number;
  readonly events: number;
  readonly notes: number;
}

/** Scores one continuation (event classes) against the truth (event classes) of a return transposed by `transpose`. */
export function scoreReturn(truth: ArrayLike<number>, generated: ArrayLike<number>, transpose = 0): ReturnScore {
  let events = 0;
  for (let i = 0; i < truth.length; i++) if (generated[i] === truth[i]) events++;
  const ons = (x: ArrayLike<number>): number[] => Array.from(x).filter((c) => c >= 0 && c < NOTE_OFF);
  const t = ons(truth), g = ons(generated);
  let notes = 0, recalled = 0;
  t.forEach((p, i) => { if (g[i] === p) notes++; if (g[i] === p || g[i] === p - transpose) recalled++; });
  return { eventAccuracy: truth.length ? events / truth.length : 1, noteAccuracy: t.length ? notes / t.length : 1,
    recallAccuracy: t.length ? recalled / t.length : 1, events: truth.length, notes: t.length };
}

/** The mean scores over every return of every piece (weighted by events / notes), greedy cached decoding. */
export function returnAccuracy(model: PerceiverAR, pieces: readonly SyntheticPiece[], onPiece?: (done: number) => void): ReturnScore {
  let events = 0, notes = 0, eventHits = 0, noteHits = 0, recallHits = 0;
  pieces.forEach((p, i) => {
    const ids = encodePiece(p.events);
    for (const ret of p.returns) {
      const cut = ret.start + 2; // SOS + events through the return's first NOTE_ON
      const truth = p.events.subarray(ret.start + 1, ret.end);
      const r = generate(model, Array.from(ids.subarray(0, cut)), { maxNewTokens: truth.length, temperature: 0, topK: 0, topP: 1, seed: 0, stopAtEos: true, cached: true });
      const s = scoreReturn(truth, Array.from(r.tokens, (t) => t - BYTE_OFFSET), ret.transpose);
      events += s.events; notes += s.notes; eventHits += s.eventAccuracy * s.events; noteHits += s.noteAccuracy * s.notes; recallHits += s.recallAccuracy * s.notes;
    }
    onPiece?.(i + 1);
  });
  return { eventAccuracy: eventHits / events, noteAccuracy: noteHits / notes, recallAccuracy: recallHits / notes, events, notes };
}
