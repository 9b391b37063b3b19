// Activation and gradient buffers for one (batch, context, latents) shape, allocated from the
// engine in one go and reused every step; a larger shape allocates a new workspace.
import { countingAllocator, type Allocator, type AllocationPlan } from '../../engine.js';
import type { F32, I32, U8 } from '../../kernels/types.js';
import type { BlockActs, BlockGrads, KeyActs } from './blocks.js';
import { hasTable, type ModelConfig } from './config.js';
import { allocateTapeBuffers, type TapeBuffers } from './prefix-tape.js';
import { allocateStreamBuffers, type StreamBuffers } from './streamed-keys.js';

export interface Workspace {
  readonly B: number; readonly M: number; readonly N: number;
  /** Keys per row per chunk when the cross-attend streams them (0: every input's buffers held). */
  readonly keyChunk: number;
  /** The streamed cross-attend's chunk buffers (keyChunk > 0); the input-sized buffers are then empty. */
  readonly streamed: StreamBuffers | null;
  // inputs: R_in = B·M rows (+1 zero row that invalid latents gather)
  readonly tokens: I32; readonly positionIds: readonly I32[]; readonly embed: F32; readonly posTmp: F32;
  readonly keyIndex: I32; readonly keyActs: KeyActs & { readonly positions: I32; readonly valid: U8 };
  // latents: R = B·N rows
  readonly latentIndex: I32; readonly latentPositions: I32; readonly latentValid: U8; readonly targets: I32;
  readonly latentIn: F32;
  /** Residual stream: stream[0] = projected latents, stream[i + 1] = output of block i. */
  readonly stream: readonly F32[];
  readonly blocks: readonly BlockActs[];
  readonly finalOut: F32; readonly finalMean: F32; readonly finalRstd: F32;
  readonly logits: F32; readonly loss: F32; readonly lse: F32;
  // gradients
  readonly grads: BlockGrads;
  readonly dStream: F32; readonly dLogits: F32; readonly dLatentIn: F32;
  readonly dKv: F32; readonly dXn: F32; readonly dKeys: F32; readonly dEmbed: F32;
  /** The prefix tape's buffers (config.tapeLength > 0; the tape needs held keys, so none when streaming). */
  readonly tape: TapeBuffers | null;
}

/** The engine memory a workspace would take, computed by the allocation code itself. */
export function planWorkspace(c: ModelConfig, B: number, M: number, N: number, withGrads: boolean, keyChunk = 0): AllocationPlan {
  const counter = countingAllocator();
  allocateWorkspace(counter, c, B, M, N, withGrads, keyChunk);
  return counter.plan;
}

export function allocateWorkspace(engine: Allocator, c: ModelConfig, B: number, M: number, N: number, withGrads: boolean,
  keyChunk = 0): Workspace {
  const C = c.width, Ci = c.embedDim, F = c.mlpRatio * C, V = c.vocabSize;
  // Streaming keeps no per-input buffer here: the embedder reads the batch's own arrays.
  const Rin = keyChunk > 0 ? 0 : B * M, R = B * N;
  const f = (n: number, what: string): F32 => engine.allocF32(n, what);
  const g = (n: number, what: string): F32 => engine.allocF32(withGrads ? n : 0, what);
  const blockActs = (qWidth: number, heads: number): BlockActs => ({
    lnOut: f(R * C, 'ln'), lnMean: f(R, 'ln mean'), lnRstd: f(R, 'ln rstd'), q: f(R * qWidth, 'q/qkv'),
    att: f(R * C, 'attention'), lse: f(R * heads, 'attention lse'), proj: f(R * C, 'attention proj'), mid: f(R * C, 'residual'),
    ln2Out: f(R * C, 'ln2'), ln2Mean: f(R, 'ln2 mean'), ln2Rstd: f(R, 'ln2 rstd'),
    h: f(R * F, 'mlp hidden'), a: f(R * F, 'mlp activation'), mlpOut: f(R * C, 'mlp out'),
  });
  const blocks = [blockActs(C, c.crossAttendHeads)];
  for (let l = 0; l < c.numLayers; l++) blocks.push(blockActs(3 * C, c.numHeads));
  return {
    B, M, N, keyChunk,
    streamed: keyChunk > 0 ? allocateStreamBuffers(engine, c, B, N, keyChunk, withGrads) : null,
    tokens: engine.allocI32(Rin, 'tokens'),
    positionIds: Array.from({ length: !hasTable(c) ? 0 : c.positionDims }, () => engine.allocI32(Rin, 'position ids')),
    embed: f((Rin + 1) * Ci, 'input embeddings'), posTmp: f(!hasTable(c) ? 0 : Rin * Ci, 'position embeddings'),
    keyIndex: engine.allocI32(Rin, 'cross-attend key index'),
    keyActs: {
      keys: f(Rin * Ci, 'gathered keys'), xn: f(Rin * Ci, 'ln_kv'), mean: f(Rin, 'ln_kv mean'), rstd: f(Rin, 'ln_kv rstd'),
      kv: f(Rin * 2 * C, 'cross kv'), positions: engine.allocI32(Rin, 'key positions'), valid: engine.allocU8(Rin, 'key valid'), count: M,
    },
    latentIndex: engine.allocI32(R, 'latent index'), latentPositions: engine.allocI32(R, 'latent positions'),
    latentValid: engine.allocU8(R, 'latent valid'), targets: engine.allocI32(R, 'targets'),
    latentIn: f(R * Ci, 'latent inputs'),
    stream: Array.from({ length: c.numLayers + 2 }, () => f(R * C, 'residual stream')),
    blocks,
    finalOut: f(R * C, 'final ln'), finalMean: f(R, 'final ln mean'), finalRstd: f(R, 'final ln rstd'),
    logits: f(R * V, 'logits'), loss: f(R, 'loss'), lse: f(R, 'logsumexp'),
    grads: {
      dLn: g(R * C, 'dln'), dQ: g(R * 3 * C, 'dq'), dAtt: g(R * C, 'datt'), dProj: g(R * C, 'dproj'),
      dH: g(R * F, 'dh'), dA: g(R * F, 'da'), dMlp: g(R * C, 'dmlp'),
    },
    dStream: g(R * C, 'dstream'), dLogits: g(R * V, 'dlogits'), dLatentIn: g(R * Ci, 'dlatent in'),
    dKv: g(Rin * 2 * C, 'dkv'), dXn: g(Rin * Ci, 'dxn'), dKeys: g(Rin * Ci, 'dkeys'), dEmbed: g((Rin + 1) * Ci, 'dembed'),
    tape: c.tapeLength > 0 && keyChunk === 0 ? allocateTapeBuffers(engine, c, B, M, N, withGrads) : null,
  };
}
