import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crossAttendMask, layoutLatents, selfAttendMask, IGNORE, type Batch } from '../src/models/perceiver-ar/layout.js';

/** Rows of tokens (0 = PAD) with positions 1, 2, … on valid tokens; targets = 100 + position. */
function batchOf(rows: number[][]): Batch {
  const B = rows.length, M = rows[0]!.length;
  const tokens = new Int32Array(rows.flat());
  const positions = new Int32Array(B * M), targets = new Int32Array(B * M);
  for (let i = 0; i < B * M; i++) {
    positions[i] = tokens[i] ? (i % M) + 1 : 0;
    targets[i] = tokens[i] ? 100 + (i % M) + 1 : 0;
  }
  return { batchSize: B, length: M, tokens, positions, targets };
}

describe('latent layout and masks (hand-written expected matrices)', () => {
  it('M=4, N=2, no padding: latents on inputs 3 and 4', () => {
    const l = layoutLatents(batchOf([[5, 6, 7, 8]]), 2);
    assert.deepEqual(Array.from(l.latentIndex), [2, 3]);
    assert.deepEqual(crossAttendMask(l), [[
      [1, 1, 1, 0],
      [1, 1, 1, 1],
    ]]);
    assert.deepEqual(selfAttendMask(l), [[
      [1, 0],
      [1, 1],
    ]]);
    assert.deepEqual(Array.from(l.latentTargets), [103, 104]);
  });

  it('M=5, N=3, second row right-padded to length 3', () => {
    const l = layoutLatents(batchOf([[5, 6, 7, 8, 9], [5, 6, 7, 0, 0]]), 3);
    assert.deepEqual(Array.from(l.latentIndex), [2, 3, 4, 5, 6, 7]);
    assert.deepEqual(crossAttendMask(l), [
      [[1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 1]],
      [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]],
    ]);
    assert.deepEqual(selfAttendMask(l)[1], [[1, 0, 0], [1, 1, 0], [1, 1, 1]]);
  });

  it('M=4, N=3, a row shorter than N: leading latents invalid, masked as keys and not scored', () => {
    const l = layoutLatents(batchOf([[5, 6, 0, 0]]), 3);
    assert.deepEqual(Array.from(l.latentIndex), [-1, 0, 1]);
    assert.deepEqual(Array.from(l.latentValid), [0, 1, 1]);
    assert.deepEqual(Array.from(l.latentTargets), [IGNORE, 101, 102]);
    assert.deepEqual(crossAttendMask(l), [[
      [0, 0, 0, 0],
      [1, 0, 0, 0],
      [1, 1, 0, 0],
    ]]);
    assert.deepEqual(selfAttendMask(l), [[
      [0, 0, 0],
      [0, 1, 0],
      [0, 1, 1],
    ]]);
  });

  it('N = M (the decoder-only Transformer): an ordinary causal mask', () => {
    const l = layoutLatents(batchOf([[5, 6, 7]]), 3);
    assert.deepEqual(crossAttendMask(l), [[[1, 0, 0], [1, 1, 0], [1, 1, 1]]]);
  });

  it('rejects numLatents beyond the context and rows padded in the middle', () => {
    assert.throws(() => layoutLatents(batchOf([[5, 6]]), 3), /numLatents must be an integer in \[1, 2\] \(the context length\), got 3/);
    assert.throws(() => layoutLatents(batchOf([[5, 6, 7, 8], [5, 0, 7, 0]]), 2), /row 1 has a token after padding at input 2; rows must be right-padded/);
    assert.throws(() => layoutLatents(batchOf([[0, 6, 7]]), 1), /row 0 has a token after padding at input 1/);
  });
});
