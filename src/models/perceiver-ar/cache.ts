// Decoding caches (spec §6, batch 1): the cross-attend's keys/values for up to M inputs (a ring:
// the oldest input is overwritten once M are held; order is irrelevant because masks use
// positions), and each self-attention layer's keys/values for up to N latents. Keys are stored
// rotated at their absolute positions. With a prefix tape (spec adatape §8: "cache them at
// prefill"), the tape's keys/values read at the last prime or reset are kept with them.
import type { Allocator } from '../../engine.js';
import type { F32 } from '../../kernels/types.js';
import type { ModelConfig } from './config.js';
import type { KvStore } from './kv-store.js';
import { allocateWorkspace, type Workspace } from './workspace.js';

export type { KvStore };

export interface DecodeCache {
  readonly cross: KvStore & { next: number };
  readonly layers: readonly KvStore[];
  /** Buffers for one single-token step (B = 1, one input, one latent). */
  readonly step: Workspace;
  /** The prefix tape's keys/values (T entries at the position of the first latent at the last prime or reset) and merge scratch (config.tapeLength > 0). */
  readonly tape: (KvStore & { readonly att: F32; readonly lse: F32 }) | null;
  /** With positionOrigin 'window': the event index before the primed window's first input (positions are stored less it). */
  origin: number;
  /** The inputs of the decode step under way, read by its live sections when it is replayed (model.ts decodeStep). */
  readonly input: { token: number; position: number; coordinates: Int32Array | null };
}

function store(engine: Allocator, capacity: number, width: number): KvStore {
  return { kv: engine.allocF32(capacity * 2 * width, 'kv cache'), positions: engine.allocI32(capacity, 'cache positions'),
    valid: engine.allocU8(capacity, 'cache validity'), capacity, count: 0 };
}

/** A cache for decoding with up to `numLatents` latents over a window of contextLength inputs. */
export function allocateDecodeCache(engine: Allocator, c: ModelConfig, numLatents: number): DecodeCache {
  return {
    cross: { ...store(engine, c.contextLength, c.width), next: 0 },
    layers: Array.from({ length: c.numLayers }, () => store(engine, numLatents, c.width)),
    step: allocateWorkspace(engine, c, 1, 1, 1, false),
    tape: c.tapeLength > 0
      ? { ...store(engine, c.tapeLength, c.width), att: engine.allocF32(c.width, 'tape attention'), lse: engine.allocF32(c.crossAttendHeads, 'tape lse') }
      : null,
    origin: 0,
    input: { token: 0, position: 0, coordinates: null },
  };
}

export function clearDecodeCache(cache: DecodeCache): void {
  cache.cross.count = 0;
  cache.cross.next = 0;
  cache.cross.valid.fill(0);
  for (const l of cache.layers) { l.count = 0; l.valid.fill(0); }
  if (cache.tape) { cache.tape.count = 0; cache.tape.valid.fill(0); }
  cache.origin = 0;
}

/** Appends one row kv [2C] with its position to the cross-attend ring. */
export function pushCross(cache: DecodeCache, kv: F32, position: number, width: number): void {
  const x = cache.cross, slot = x.next;
  x.kv.set(kv.subarray(0, 2 * width), slot * 2 * width);
  x.positions[slot] = position;
  x.valid[slot] = 1;
  x.next = (slot + 1) % x.capacity;
  x.count = Math.min(x.count + 1, x.capacity);
}
