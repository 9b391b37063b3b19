// Transformer-XL buffers for batch B: one segment's activations (R = B·S rows), each layer's keys
// [memory; segment] (B·(Mem + S) rows) and memory (B·Mem rows). Nothing grows with the context M
// except, for evaluation, the logits of every position (B·M·V, to score them all).
import type { Allocator } from '../../engine.js';
import type { F32, I32, U8 } from '../../kernels/types.js';
import type { BlockActs, BlockGrads, KeyActs } from '../perceiver-ar/blocks.js';
import type { XLConfig } from './config.js';

export interface XLMemory { readonly h: F32; readonly positions: I32; readonly valid: U8 }

export interface XLWorkspace {
  readonly B: number;
  /** The longest example length this workspace scores (for allLogits). */
  readonly M: number;
  readonly tokens: I32; readonly positions: I32; readonly valid: U8; readonly targets: I32;
  /** stream[0] = embeddings, stream[l + 1] = output of layer l; [R, C]. */
  readonly stream: readonly F32[];
  readonly acts: readonly BlockActs[];
  readonly keys: readonly (KeyActs & { readonly positions: I32; readonly valid: U8 })[];
  readonly memory: readonly XLMemory[];
  readonly finalOut: F32; readonly finalMean: F32; readonly finalRstd: F32;
  readonly logits: F32; readonly loss: F32; readonly lse: F32;
  readonly allLogits: F32;
  readonly grads: { readonly block: BlockGrads; readonly dStream: F32; readonly dLogits: F32; readonly dKv: F32; readonly dXn: F32; readonly dKeys: F32 } | null;
}

export function allocateXLWorkspace(a: Allocator, c: XLConfig, B: number, M: number, withGrads: boolean, withLogits: boolean): XLWorkspace {
  const S = c.segmentLength, Mem = c.memoryLength, C = c.width, F = c.mlpRatio * C, V = c.vocabSize, H = c.numHeads;
  const R = B * S, Rk = B * (Mem + S);
  const f = (n: number, what: string): F32 => a.allocF32(n, what);
  return {
    B, M,
    tokens: a.allocI32(R, 'segment tokens'), positions: a.allocI32(R, 'segment positions'), valid: a.allocU8(R, 'segment validity'),
    targets: a.allocI32(R, 'segment targets'),
    stream: Array.from({ length: c.numLayers + 1 }, () => f(R * C, 'residual stream')),
    acts: Array.from({ length: c.numLayers }, (): BlockActs => ({
      lnOut: f(R * C, 'ln'), lnMean: f(R, 'ln mean'), lnRstd: f(R, 'ln rstd'), q: f(R * C, 'q'), att: f(R * C, 'attention'),
      lse: f(R * H, 'attention lse'), proj: f(R * C, 'attention proj'), mid: f(R * C, 'residual'), ln2Out: f(R * C, 'ln2'),
      ln2Mean: f(R, 'ln2 mean'), ln2Rstd: f(R, 'ln2 rstd'), h: f(R * F, 'mlp hidden'), a: f(R * F, 'mlp activation'), mlpOut: f(R * C, 'mlp out'),
    })),
    keys: Array.from({ length: c.numLayers }, () => ({
      keys: f(Rk * C, 'memory + segment'), xn: f(Rk * C, 'ln keys'), mean: f(Rk, 'ln keys mean'), rstd: f(Rk, 'ln keys rstd'),
      kv: f(Rk * 2 * C, 'kv'), positions: a.allocI32(Rk, 'key positions'), valid: a.allocU8(Rk, 'key validity'), count: Mem + S,
    })),
    memory: Array.from({ length: c.numLayers }, () => ({
      h: f(B * Mem * C, 'memory'), positions: a.allocI32(B * Mem, 'memory positions'), valid: a.allocU8(B * Mem, 'memory validity'),
    })),
    finalOut: f(R * C, 'final ln'), finalMean: f(R, 'final ln mean'), finalRstd: f(R, 'final ln rstd'),
    logits: f(R * V, 'logits'), loss: f(R, 'loss'), lse: f(R, 'logsumexp'),
    allLogits: f(withLogits ? B * M * V : 0, 'logits of every position'),
    grads: withGrads ? {
      block: {
        dLn: f(R * C, 'dln'), dQ: f(R * C, 'dq'), dAtt: f(R * C, 'datt'), dProj: f(R * C, 'dproj'), dH: f(R * F, 'dh'), dA: f(R * F, 'da'),
        dMlp: f(R * C, 'dmlp'),
      },
      dStream: f(R * C, 'dstream'), dLogits: f(R * V, 'dlogits'), dKv: f(Rk * 2 * C, 'dkv'), dXn: f(Rk * C, 'dxn'), dKeys: f(Rk * C, 'dkeys'),
    } : null,
  };
}
