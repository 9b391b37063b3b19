// Bits per dimension on images (spec images §4): every subpixel of every image is a target; the
// targets of an image are scored in non-overlapping blocks of S, each by the last S latents of one
// forward over the whole prefix before it (numLatents ≥ S latents; the earlier ones only give the
// scored ones more context). bits/dim is the mean −log₂ p(target) under the softmax over the full
// vocabulary; the pixel-only figure renormalises over the 256 pixel ids (labelled as such).
import { cropRows } from '../data/crops.js';
import { encodeImage, imageCodec, imageEvents, type Image } from '../data/images.js';
import { BYTE_OFFSET, PAD } from '../data/vocab.js';
import { IGNORE } from '../models/perceiver-ar/layout.js';
import type { PerceiverAR } from '../models/perceiver-ar/model.js';

export interface ImageEvalOptions {
  /** Targets scored per forward (S). */
  readonly stride: number;
  /** Latents per forward (≥ stride; default stride). */
  readonly numLatents?: number;
  /** Crops per forward. */
  readonly batchSize: number;
  /** Evaluate the first maxImages images (0 = all). */
  readonly maxImages: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ImageEvalResult {
  readonly bitsPerDim: number;
  /** The same targets under the softmax restricted to pixel ids. */
  readonly pixelBitsPerDim: number;
  readonly images: number;
  readonly subpixels: number;
  readonly seconds: number;
}

export function evaluateImages(model: PerceiverAR, images: readonly Image[], opts: ImageEvalOptions): ImageEvalResult {
  if (images.length === 0) throw new RangeError('evaluateImages: no images');
  const c = model.config, shape = images[0]!.shape, codec = imageCodec(shape), L = imageEvents(shape), M = c.contextLength;
  const S = opts.stride, N = opts.numLatents ?? S, V = c.vocabSize;
  if (!Number.isInteger(S) || S < 1 || S > M) throw new RangeError(`stride must be an integer in [1, ${M}], got ${S}`);
  if (!Number.isInteger(N) || N < S || N > M) throw new RangeError(`numLatents must be an integer in [stride = ${S}, ${M}], got ${N}`);
  if (V < 256 + BYTE_OFFSET) throw new RangeError(`evaluateImages: the model's vocabulary (${V}) does not hold the 256 pixel ids`);
  const chosen = opts.maxImages > 0 ? images.slice(0, opts.maxImages) : images;
  // Every (image, block) pair: the block's last target event; blocks of S from the first subpixel.
  const jobs: { seq: Int32Array; prev: number; end: number }[] = [];
  for (const img of chosen) {
    const seq = encodeImage(img);
    for (let prev = 1; prev < L; prev = Math.min(L, prev + S)) jobs.push({ seq, prev, end: Math.min(L, prev + S) });
  }
  const started = performance.now();
  let nats = 0, pixelNats = 0, count = 0;
  for (let i = 0; i < jobs.length; i += opts.batchSize) {
    const group = jobs.slice(i, i + opts.batchSize);
    const batch = cropRows(group.map((j) => j.seq), group.map((j) => j.end), M, codec);
    // Score only each block's own targets, events (prev, end]: input e predicts event e + 1.
    group.forEach((job, b) => {
      const start = Math.max(1, job.end - M);
      for (let e = start; e < job.prev; e++) batch.targets[b * M + (e - start)] = PAD;
    });
    const r = model.forward(batch, { numLatents: Math.min(N, batch.length) });
    nats += r.crossEntropy * r.tokens;
    count += r.tokens;
    const logits = model.logits(), targets = r.layout.latentTargets;
    for (let row = 0; row < targets.length; row++) {
      const t = targets[row]!;
      if (t === IGNORE) continue;
      let mx = -Infinity;
      for (let v = BYTE_OFFSET; v < BYTE_OFFSET + 256; v++) mx = Math.max(mx, logits[row * V + v]!);
      let sum = 0;
      for (let v = BYTE_OFFSET; v < BYTE_OFFSET + 256; v++) sum += Math.exp(logits[row * V + v]! - mx);
      pixelNats += mx + Math.log(sum) - logits[row * V + t]!;
    }
    opts.onProgress?.(Math.min(jobs.length, i + opts.batchSize), jobs.length);
  }
  return {
    bitsPerDim: nats / count / Math.LN2, pixelBitsPerDim: pixelNats / count / Math.LN2, images: chosen.length, subpixels: count,
    seconds: (performance.now() - started) / 1000,
  };
}
