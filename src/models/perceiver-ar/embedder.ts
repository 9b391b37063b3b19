// Embeddings of arbitrary input rows of a batch (token + absolute positions), for the streamed
// cross-attend and the latents when the inputs' embeddings are not held (streamed-keys.ts).
import type { F32, I32, KernelSet } from '../../kernels/types.js';
import { PAD } from '../../nn/batch.js';
import type { ParamStore } from '../../nn/params.js';
import { hasLearnedTable, hasTable, type ModelConfig } from './config.js';
import { absolutePositionReader, type Batch } from './layout.js';
import type { InputEmbedder, StreamBuffers } from './streamed-keys.js';

export function batchEmbedder(k: KernelSet, c: ModelConfig, params: ParamStore, sinusoid: F32 | null, batch: Batch,
  bufs: StreamBuffers): InputEmbedder {
  const Ci = c.embedDim;
  const read = !hasTable(c) ? null : absolutePositionReader(batch, c.positionDims);
  const tokens = (idx: I32, n: number): I32 => {
    const ids = bufs.tokenIds.subarray(0, n);
    for (let r = 0; r < n; r++) ids[r] = idx[r]! < 0 ? PAD : batch.tokens[idx[r]!]!;
    return ids;
  };
  const positions = (idx: I32, n: number, p: number): I32 => {
    const ids = bufs.positionIds.subarray(0, n);
    for (let r = 0; r < n; r++) {
      const pos = idx[r]! < 0 ? 0 : read!(idx[r]!, p);
      if (pos < 0 || pos > c.maxPosition) {
        throw new RangeError(`position ${pos} (dimension ${p}) is outside the absolute table [0, ${c.maxPosition}]; raise maxPosition`);
      }
      ids[r] = pos;
    }
    return ids;
  };
  const absolute = hasTable(c) ? c.positionDims : 0;
  return {
    forward(idx, n, out) {
      const y = out.subarray(0, n * Ci);
      k.embeddingForward(c.vocabSize, Ci, params.get('embed.tokens').value, tokens(idx, n), y);
      for (let p = 0; p < absolute; p++) {
        const table = hasLearnedTable(c) ? params.get(`embed.position.${p}`).value : sinusoid!;
        const tmp = bufs.positionTmp.subarray(0, n * Ci);
        k.embeddingForward(c.maxPosition + 1, Ci, table, positions(idx, n, p), tmp);
        k.add(y, tmp, y);
      }
      for (let r = 0; r < n; r++) if (idx[r]! < 0) y.fill(0, r * Ci, (r + 1) * Ci);
    },
    backward(idx, n, dOut) {
      const dy = dOut.subarray(0, n * Ci);
      for (let r = 0; r < n; r++) if (idx[r]! < 0) dy.fill(0, r * Ci, (r + 1) * Ci);
      k.embeddingBackward(c.vocabSize, Ci, params.get('embed.tokens').grad, tokens(idx, n), dy);
      if (!hasLearnedTable(c)) return;
      for (let p = 0; p < absolute; p++) k.embeddingBackward(c.maxPosition + 1, Ci, params.get(`embed.position.${p}`).grad, positions(idx, n, p), dy);
    },
  };
}
