import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HALT_TOLERANCE, readTape, readTapeBackward, type ReaderSettings } from '../src/models/adatape/reader.js';
import { Rng } from '../src/tensor/rng.js';
import { gradcheck, weightedSum } from './helpers/gradcheck.js';

const SETTINGS: ReaderSettings = { maxTape: 10, candidates: 5, threshold: 2, keyDim: 4, ponder: 'sum-squares' };

function randomBank(rng: Rng, B: number, Mb: number, C: number, scale = 1): { query: Float64Array; bank: Float64Array } {
  return { query: rng.fillUniform(new Float64Array(B * C), scale) as Float64Array, bank: rng.fillUniform(new Float64Array(B * Mb * C), scale) as Float64Array };
}

describe('Adaptive Tape Reading invariants (spec adatape §3)', () => {
  const C = 8;

  it('n ∈ [⌈τ⌉, T] for random inputs, and no bank token is used twice in a row', () => {
    const rng = new Rng(1), B = 16, Mb = 60;
    for (const scale of [0.1, 1, 3, 10]) {
      const { query, bank } = randomBank(rng, B, Mb, C, scale);
      const tape = new Float64Array(B * SETTINGS.maxTape * C);
      const tr = readTape(SETTINGS, B, C, Mb, query, bank, Mb * C, new Uint8Array(B * Mb).fill(1), tape);
      for (let b = 0; b < B; b++) {
        const n = tr.length[b]!;
        assert.ok(n >= Math.ceil(SETTINGS.threshold) && n <= SETTINGS.maxTape, `row ${b}: n = ${n}`);
        const chosen = Array.from(tr.chosen.subarray(b * 10 * 5, (b + 1) * 10 * 5)).filter((m) => m >= 0);
        assert.equal(new Set(chosen).size, chosen.length, `row ${b} reused a bank token`);
        assert.equal(chosen.length, n * 5);
        for (let t = n; t < SETTINGS.maxTape; t++) for (let c = 0; c < C; c++) assert.equal(tape[(b * 10 + t) * C + c], 0, 'slots ≥ n are zero');
      }
    }
  });

  it('tied scores give n = T and R = T(1 − 1/K)', () => {
    const B = 3, Mb = 50;
    const bank = new Float64Array(B * Mb * C).fill(0.5), query = new Float64Array(B * C).fill(0.25);
    const tr = readTape(SETTINGS, B, C, Mb, query, bank, Mb * C, new Uint8Array(B * Mb).fill(1), new Float64Array(B * 10 * C));
    for (let b = 0; b < B; b++) {
      assert.equal(tr.length[b], 10);
      assert.ok(Math.abs(tr.ponder[b]! - 10 * (1 - 1 / 5)) < 1e-12, `R = ${tr.ponder[b]}`);
      // Ties are broken by index: step t takes tokens 5t … 5t + 4.
      assert.deepEqual(Array.from(tr.chosen.subarray(b * 50, b * 50 + 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  });

  it('one dominating candidate every step gives n = ⌈τ⌉ (also with the max ponder term and τ = 2.5)', () => {
    const B = 2, Mb = 30;
    const bank = new Float64Array(B * Mb * C), query = new Float64Array(B * C);
    for (let b = 0; b < B; b++) {
      query[b * C] = 1;
      for (let m = 0; m < Mb; m++) bank[(b * Mb + m) * C] = 1000 - 100 * ((m * 7 + b) % Mb);
    }
    for (const s of [SETTINGS, { ...SETTINGS, threshold: 2.5, candidates: 4, ponder: 'max' as const }]) {
      const tr = readTape(s, B, C, Mb, query, bank, Mb * C, new Uint8Array(B * Mb).fill(1), new Float64Array(B * 10 * C));
      for (let b = 0; b < B; b++) {
        assert.equal(tr.length[b], Math.ceil(s.threshold), `τ ${s.threshold}, row ${b}`);
        assert.ok(tr.halting[b]! >= s.threshold - HALT_TOLERANCE);
      }
    }
  });

  it("a row's result does not depend on the other rows (per-row gathering)", () => {
    const rng = new Rng(2), B = 4, Mb = 40;
    const { query, bank } = randomBank(rng, B, Mb, C, 2);
    const run = (q: Float64Array, k: Float64Array) => {
      const tape = new Float64Array(B * 10 * C);
      const tr = readTape(SETTINGS, B, C, Mb, q, k, Mb * C, new Uint8Array(B * Mb).fill(1), tape);
      return { tape, tr };
    };
    const a = run(query, bank);
    const q2 = Float64Array.from(query), k2 = Float64Array.from(bank);
    rng.fillUniform(q2.subarray(C), 5);
    rng.fillUniform(k2.subarray(Mb * C), 5);
    const b = run(q2, k2);
    assert.deepEqual(Array.from(b.tape.subarray(0, 10 * C)), Array.from(a.tape.subarray(0, 10 * C)));
    assert.equal(b.tr.length[0], a.tr.length[0]);
    assert.equal(b.tr.ponder[0], a.tr.ponder[0]);
    assert.notDeepEqual(Array.from(b.tape.subarray(10 * C)), Array.from(a.tape.subarray(10 * C)), 'the other rows did change');
  });

  it('hidden bank tokens are never read; a used-up bank ends the tape', () => {
    const rng = new Rng(3), B = 2, Mb = 12;
    const { query, bank } = randomBank(rng, B, Mb, C);
    const available = new Uint8Array(B * Mb).fill(1);
    for (const m of [1, 4, 7]) available[m] = 0;
    const tr = readTape(SETTINGS, B, C, Mb, query, bank, Mb * C, available, new Float64Array(B * 10 * C));
    const row0 = Array.from(tr.chosen.subarray(0, 50)).filter((m) => m >= 0);
    for (const m of [1, 4, 7]) assert.ok(!row0.includes(m), `hidden token ${m} was read`);
    assert.equal(row0.length, 9, 'row 0 reads all 9 available tokens');
    assert.ok(tr.length[0]! <= 2);
  });

  it('gradients through the soft weights (task and ponder) match float64 finite differences', () => {
    for (const ponder of ['sum-squares', 'max'] as const) {
      const s: ReaderSettings = { ...SETTINGS, ponder };
      const rng = new Rng(4), B = 3, Mb = 40;
      const { query, bank } = randomBank(rng, B, Mb, C, 1.5);
      const wTape = rng.fillUniform(new Float64Array(B * 10 * C)) as Float64Array, dPonder = [0.3, -0.7, 1.1];
      const available = new Uint8Array(B * Mb).fill(1);
      const loss = (): number => {
        const tape = new Float64Array(B * 10 * C);
        const tr = readTape(s, B, C, Mb, query, bank, Mb * C, available, tape);
        return weightedSum(tape, wTape) + weightedSum(tr.ponder, dPonder);
      };
      const tape = new Float64Array(B * 10 * C);
      const tr = readTape(s, B, C, Mb, query, bank, Mb * C, available, tape);
      const dQuery = new Float64Array(B * C), dBank = new Float64Array(B * Mb * C);
      readTapeBackward(s, C, tr, bank, Mb * C, wTape, dPonder, dQuery, dBank);
      gradcheck(`reader d(query), ${ponder}`, loss, query, dQuery, { atol: 1e-6, rtol: 1e-5 });
      gradcheck(`reader d(bank), ${ponder}`, loss, bank, dBank, { atol: 1e-6, rtol: 1e-5, samples: 200 });
      assert.ok(dQuery.some((g) => g !== 0) && dBank.some((g) => g !== 0));
    }
  });

  it('a shared (learnable) bank: stride 0, gradients summed over rows', () => {
    const rng = new Rng(5), B = 3, Mb = 30;
    const query = rng.fillUniform(new Float64Array(B * C)) as Float64Array, bank = rng.fillUniform(new Float64Array(Mb * C)) as Float64Array;
    const wTape = rng.fillUniform(new Float64Array(B * 10 * C)) as Float64Array, dPonder = [0.2, 0.2, 0.2];
    const available = new Uint8Array(B * Mb).fill(1);
    available[5] = 0; available[Mb + 6] = 0;
    const loss = (): number => {
      const tape = new Float64Array(B * 10 * C);
      const tr = readTape(SETTINGS, B, C, Mb, query, bank, 0, available, tape);
      return weightedSum(tape, wTape) + weightedSum(tr.ponder, dPonder);
    };
    const tr = readTape(SETTINGS, B, C, Mb, query, bank, 0, available, new Float64Array(B * 10 * C));
    const dQuery = new Float64Array(B * C), dBank = new Float64Array(Mb * C);
    readTapeBackward(SETTINGS, C, tr, bank, 0, wTape, dPonder, dQuery, dBank);
    gradcheck('shared bank d(bank)', loss, bank, dBank, { atol: 1e-6, rtol: 1e-5 });
  });
});
