// Which inputs the cross-attend sees as keys (spec §5, cross-attend dropout). At evaluation, or
// with rate 0: every input. While training with rate p:
//   'subsample': per row, a uniformly chosen round((1 − p)·prefix) of the inputs before the first
//                latent, plus every latent's own input, gathered into B × Mk keys so the attention
//                costs O(Mk·N) instead of O(M·N);
//   'mask':      each prefix input hidden with probability p through its validity flag (no saving).
// A latent's own input is never dropped, so every latent always has a key to attend to.
import type { Rng } from '../../tensor/rng.js';
import type { CrossAttendDropoutMode } from './config.js';
import type { LatentLayout } from './layout.js';
import type { KeyList } from './streamed-keys.js';

/** The keys of each row: Mk = count per row, index into the B·M inputs (−1 = padding), positions, validity. */
export interface CrossAttendKeyList extends KeyList {
  /** True when the keys are a gathered subset (index ≠ identity). */
  readonly gathered: boolean;
}

export function crossAttendKeys(layout: LatentLayout, rate: number, mode: CrossAttendDropoutMode, rng: Rng | null): CrossAttendKeyList {
  const { B, M, N } = layout;
  if (rate > 0 && !rng) throw new Error('crossAttendKeys: dropout needs an rng');
  if (rate === 0 || mode === 'mask') {
    const valid = layout.inputValid.slice();
    if (rate > 0) {
      for (let b = 0; b < B; b++) {
        const first = Math.max(0, layout.lengths[b]! - N);
        for (let j = 0; j < first; j++) if (rng!.next() < rate) valid[b * M + j] = 0;
      }
    }
    return { count: M, index: Int32Array.from({ length: B * M }, (_, i) => i), positions: layout.inputPositions, valid, gathered: false };
  }
  const kept: number[][] = [];
  let Mk = 1;
  for (let b = 0; b < B; b++) {
    const len = layout.lengths[b]!, first = Math.max(0, len - N);
    const keep = Math.round(first * (1 - rate));
    // A partial Fisher–Yates shuffle: the first `keep` entries are a uniform sample without replacement.
    const prefix = Array.from({ length: first }, (_, j) => j);
    for (let i = 0; i < keep; i++) {
      const s = i + rng!.int(first - i);
      const t = prefix[i]!; prefix[i] = prefix[s]!; prefix[s] = t;
    }
    const rowKeys = prefix.slice(0, keep).sort((x, y) => x - y);
    for (let j = first; j < len; j++) rowKeys.push(j);
    kept.push(rowKeys);
    Mk = Math.max(Mk, rowKeys.length);
  }
  const index = new Int32Array(B * Mk), positions = new Int32Array(B * Mk), valid = new Uint8Array(B * Mk);
  for (let b = 0; b < B; b++) {
    const rowKeys = kept[b]!;
    for (let i = 0; i < Mk; i++) {
      const r = b * Mk + i, j = rowKeys[i];
      index[r] = j === undefined ? -1 : b * M + j;
      positions[r] = j === undefined ? 0 : layout.inputPositions[b * M + j]!;
      valid[r] = j === undefined ? 0 : 1;
    }
  }
  return { count: Mk, index, positions, valid, gathered: true };
}
