#!/usr/bin/env node
// How short can AdaTape's tape be on parity? With the input-driven bank of the experiment (one
// token per element, Dense(one-hot), no position) every element of the same value has the SAME
// bank token, so the reader's candidates tie within a value and share its weight: a step's max
// weight is at most 1/(tied tokens of the preferred value among the K candidates). The halting sum
// h += max w then depends only on the input's counts and on the order in which the query prefers
// the three values, not on how hard the ponder loss pushes. This runs the library's own reader
// (readTape, the training code's halting) on the parity test set with bank tokens e_v and a query
// that prefers the values in a fixed order with a score gap, and prints the tape-length statistics;
// then the floor over every per-step preference (an exhaustive search with peaked scores: a step
// that puts value v first adds 1/(tokens of v among its K candidates) to h, the most it can add).
//   node scripts/tape-length-floor.mjs [--length=32] [--maxTape=10] [--threshold=2] [--gaps=0.5,1000]
import { join } from 'node:path';
import { parseOptions } from './options.mjs';

const lib = await import(join(import.meta.dirname, '..', 'dist', 'src', 'node.js'));
const { parityBatch } = await import(join(import.meta.dirname, '..', 'dist', 'src', 'data', 'parity.js'));
const opts = parseOptions(process.argv.slice(2), ['length', 'maxTape', 'threshold', 'gaps']);
const L = Number(opts.length ?? 32), T = Number(opts.maxTape ?? 10), tau = Number(opts.threshold ?? 2);
const gaps = (opts.gaps ?? '0.5,1000').split(',').map(Number);
const settings = { maxTape: T, candidates: Math.floor(T / tau), threshold: tau, keyDim: 3, ponder: 'sum-squares' };
// The parity test set of `perceiver-ar train --task=parity` (seed 0x7e57 + L, 16 batches of 128).
const rng = new lib.Rng(0x7e57 + L);
const batches = Array.from({ length: 16 }, () => parityBatch(rng, 128, L));

console.log(`parity length ${L}, T ${T}, τ ${tau}, K ${settings.candidates}: tape length over ${16 * 128} test examples`);
console.log('| preference (most preferred first) | score gap | mean | variance |\n|---|---:|---:|---:|');
for (const gap of gaps) {
  for (const order of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]) {
    const lengths = [];
    for (const b of batches) {
      const B = b.batchSize, C = 3;
      // Bank token of value v: e_v; query: score(v) = gap·(2 − rank(v))·√3 / √dk = gap·(2 − rank(v)).
      const bank = new Float32Array(B * L * C), query = new Float32Array(B * C);
      for (let i = 0; i < B * L; i++) bank[i * C + b.values[i]] = 1;
      for (let r = 0; r < B; r++) order.forEach((v, rank) => { query[r * C + v] = gap * (2 - rank) * Math.sqrt(3); });
      const trace = lib.readTape(settings, B, C, L, query, bank, L * C, new Uint8Array(B * L).fill(1), new Float32Array(B * T * C));
      lengths.push(...trace.length);
    }
    const mean = lengths.reduce((s, n) => s + n, 0) / lengths.length;
    const variance = lengths.reduce((s, n) => s + (n - mean) ** 2, 0) / lengths.length;
    console.log(`| ${order.map((v) => ['−1', '0', '+1'][v]).join(' > ')} | ${gap} | ${mean.toFixed(2)} | ${variance.toFixed(2)} |`);
  }
}

/** The shortest tape any sequence of per-step value preferences can give one example (peaked scores). */
function shortest(values, used, h, n) {
  if (h >= tau - 1e-9 || n === T) return n;
  const free = [];
  for (let m = 0; m < L; m++) if (!used[m]) free.push(m);
  if (!free.length) return n;
  let best = Infinity;
  const seen = new Set();
  for (const order of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]) {
    const picked = free.slice().sort((x, y) => order.indexOf(values[x]) - order.indexOf(values[y]) || x - y).slice(0, settings.candidates);
    const key = picked.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    const tied = picked.filter((m) => values[m] === values[picked[0]]).length, next = used.slice();
    for (const m of picked) next[m] = true;
    best = Math.min(best, shortest(values, next, Math.min(tau, h + 1 / tied), n + 1));
  }
  return best;
}
const floor = batches.flatMap((b) => Array.from({ length: b.batchSize },
  (_, e) => shortest(Array.from(b.values.subarray(e * L, (e + 1) * L)), new Array(L).fill(false), 0, 0)));
const fm = floor.reduce((s, n) => s + n, 0) / floor.length;
console.log(`| any per-step preference (the floor) | peaked | ${fm.toFixed(2)} | ${(floor.reduce((s, n) => s + (n - fm) ** 2, 0) / floor.length).toFixed(2)} |`);
