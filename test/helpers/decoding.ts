// Cached decoding against uncached forwards (spec §6.4): shared by the decoding and prefix-tape tests.
import type { PerceiverAR } from '../../src/models/perceiver-ar/model.js';
import { windowBatch } from '../../src/sample/generate.js';
import { Rng } from '../../src/tensor/rng.js';
import { assertClose } from './compare.js';

/** Logits of the last latent of an uncached forward over the sequence with `latents` latents. */
export function uncachedLogits(model: PerceiverAR, seq: number[], latents: number): Float32Array {
  model.forward(windowBatch(seq, model.config.contextLength), { numLatents: latents });
  const V = model.config.vocabSize;
  return Float32Array.from(model.logits().subarray((latents - 1) * V, latents * V));
}

/**
 * Primes a cache with one latent on a random prompt of promptLength tokens, then runs 2N steps:
 * N − 1 single-token steps fill the latent caches, a reset re-encodes with 3 latents, then more
 * steps; every step's logits must equal an uncached forward with as many latents. Returns the
 * final sequence length (beyond contextLength the window has slid).
 */
export function checkCachedEqualsUncached(model: PerceiverAR, promptLength = 8): number {
  const config = model.config, N = config.numLatents, fill = 3, V = config.vocabSize;
  const rng = new Rng(1);
  const seq = [2, ...Array.from({ length: promptLength - 1 }, () => 3 + rng.int(V - 3))];
  const cache = model.decodeCache(N);
  model.forward(windowBatch(seq, config.contextLength), { numLatents: 1, cache });
  assertClose(Float32Array.from(model.logits()), uncachedLogits(model, seq, 1), 'primed logits');
  let latents = 1;
  for (let step = 0; step < 2 * N; step++) {
    const token = 3 + rng.int(V - 3);
    seq.push(token);
    let got: Float32Array;
    if (cache.layers.some((l) => l.count >= N)) {
      model.forward(windowBatch(seq, config.contextLength), { numLatents: fill, cache });
      got = Float32Array.from(model.logits().subarray((fill - 1) * V, fill * V));
      latents = fill;
    } else {
      got = Float32Array.from(model.decodeStep(cache, token, seq.length));
      latents++;
    }
    assertClose(got, uncachedLogits(model, seq, latents), `step ${step} (${latents} latents)`, 2e-5, 2e-4);
  }
  return seq.length;
}
