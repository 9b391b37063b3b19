// One decoding cache store: keys/values of up to `capacity` entries with their positions and
// validity (kept apart from cache.ts so the prefix tape can use it without an import circle).
import type { F32, I32, U8 } from '../../kernels/types.js';

export interface KvStore {
  readonly kv: F32;
  readonly positions: I32;
  readonly valid: U8;
  readonly capacity: number;
  count: number;
}

