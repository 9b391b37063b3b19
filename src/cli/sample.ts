// Showing what a copy-task model does: prompt [SOS, r1 … rK], generate greedily, compare with
// the true mirror.
import { mirroredHalfLength, mirroredSequence } from '../data/mirrored.js';
import { idToByte } from '../data/vocab.js';
import type { PerceiverAR } from '../models/perceiver-ar/model.js';
import { generate } from '../sample/generate.js';
import { Rng } from '../tensor/rng.js';

const hex = (ids: ArrayLike<number>, n: number): string =>
  Array.from({ length: Math.min(n, ids.length) }, (_, i) => idToByte(ids[i]!).toString(16).padStart(2, '0')).join(' ') + (ids.length > n ? ' …' : '');

export function showMirroredSample(model: PerceiverAR, seed: number): string {
  const K = mirroredHalfLength(model.config.contextLength);
  const seq = mirroredSequence(new Rng(seed + 1000), K);
  const prompt = seq.subarray(0, K + 1);
  const r = generate(model, prompt, { maxNewTokens: K, temperature: 0, topK: 0, topP: 1, seed, stopAtEos: false, cached: true });
  const expected = seq.subarray(K + 1, 2 * K + 1);
  let correct = 0;
  for (let i = 0; i < K; i++) if (r.tokens[i] === expected[i]) correct++;
  return [
    `sample (bytes in hex; K = ${K}; cached greedy decoding, ${r.resets} re-encodes, ${(K / r.seconds).toFixed(0)} tokens/s):`,
    `  prompt     ${hex(prompt.subarray(1), 16)}`,
    `  generated  ${hex(r.tokens, 16)}`,
    `  expected   ${hex(expected, 16)}`,
    `  ${correct}/${K} generated tokens match the mirror`,
  ].join('\n');
}
