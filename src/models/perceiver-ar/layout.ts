// Where the latents sit in a batch, which inputs and latents are valid, and what each latent
// predicts (spec §2–§4). Everything the masks need is here as positions and validity flags; the
// attention kernel applies "key visible iff keyPos ≤ queryPos and key valid" itself.
import { PAD, type Batch } from '../../nn/batch.js';

export type { Batch };

export const IGNORE = -1;

export interface LatentLayout {
  readonly B: number;
  readonly M: number;
  readonly N: number;
  /** [B] valid inputs per row. */
  readonly lengths: Int32Array;
  /** [B·N] global input row (b·M + j) each latent sits on, or −1 when invalid. */
  readonly latentIndex: Int32Array;
  /** [B·N] event index of each latent (0 when invalid). */
  readonly latentPositions: Int32Array;
  readonly latentValid: Uint8Array;
  /** [B·M] event index of the inputs and their validity. */
  readonly inputPositions: Int32Array;
  readonly inputValid: Uint8Array;
  /** [B·N] the target of each latent, IGNORE where the latent is invalid or the target is PAD. */
  readonly latentTargets: Int32Array;
}

export function checkBatch(batch: Batch): void {
  const { batchSize: B, length: M } = batch;
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(M) || M < 1) throw new RangeError(`batch: batchSize and length must be positive integers, got ${B}×${M}`);
  if (batch.tokens.length !== B * M || batch.targets.length !== B * M) throw new RangeError(`batch: tokens and targets must hold ${B}×${M} ids`);
  if (batch.positions.length !== B * M) throw new RangeError(`batch: positions (the event index) must hold ${B}×${M} values, got ${batch.positions.length}`);
  if (batch.coordinates) {
    const P = batch.coordinateDims ?? 0;
    if (!Number.isInteger(P) || P < 1 || batch.coordinates.length !== B * M * P) {
      throw new RangeError(`batch: coordinates must hold ${B}×${M}×coordinateDims values with coordinateDims ≥ 1, got ${batch.coordinates.length} with coordinateDims ${String(batch.coordinateDims)}`);
    }
  }
  checkRightPadded(batch);
  checkEventIndex(batch);
}

/** The event index of each row's valid inputs starts at ≥ 1 and strictly increases (the causal order must be a total order). */
function checkEventIndex(batch: Batch): void {
  const { batchSize: B, length: M } = batch;
  for (let b = 0; b < B; b++) {
    let last = 0;
    for (let j = 0; j < M; j++) {
      if (batch.tokens[b * M + j] === PAD) break;
      const p = batch.positions[b * M + j]!;
      if (!Number.isInteger(p) || p <= last) {
        throw new RangeError(`batch: row ${b}, input ${j} has event index ${p} after ${last}; positions must be the 1-based event index, strictly ` +
          'increasing along a row (coordinates such as x, y or channel go in batch.coordinates)');
      }
      last = p;
    }
  }
}

/** Rows must be right-padded: PAD only after a row's valid tokens (the layout places latents on the last valid ones). */
function checkRightPadded(batch: Batch): void {
  const { batchSize: B, length: M } = batch;
  for (let b = 0; b < B; b++) {
    let padded = false;
    for (let j = 0; j < M; j++) {
      const t = batch.tokens[b * M + j]!;
      if (t === PAD) padded = true;
      else if (padded) throw new RangeError(`batch: row ${b} has a token after padding at input ${j}; rows must be right-padded`);
    }
  }
}

/** Lays N latents on the last N valid inputs of each row (spec §3.2). */
export function layoutLatents(batch: Batch, numLatents: number): LatentLayout {
  const { batchSize: B, length: M } = batch;
  const N = numLatents;
  if (!Number.isInteger(N) || N < 1 || N > M) throw new RangeError(`numLatents must be an integer in [1, ${M}] (the context length), got ${N}`);
  checkRightPadded(batch);
  const lengths = new Int32Array(B);
  const inputPositions = new Int32Array(B * M), inputValid = new Uint8Array(B * M);
  for (let b = 0; b < B; b++) {
    let len = 0;
    for (let j = 0; j < M; j++) {
      const valid = batch.tokens[b * M + j] !== PAD;
      if (valid) len = j + 1;
      inputValid[b * M + j] = valid ? 1 : 0;
      inputPositions[b * M + j] = valid ? batch.positions[b * M + j]! : 0;
    }
    lengths[b] = len;
  }
  const latentIndex = new Int32Array(B * N), latentPositions = new Int32Array(B * N);
  const latentValid = new Uint8Array(B * N), latentTargets = new Int32Array(B * N);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < N; i++) {
      const j = lengths[b]! - N + i;
      const r = b * N + i;
      if (j < 0) {
        latentIndex[r] = -1;
        latentTargets[r] = IGNORE;
        continue;
      }
      latentIndex[r] = b * M + j;
      latentPositions[r] = inputPositions[b * M + j]!;
      latentValid[r] = 1;
      const t = batch.targets[b * M + j]!;
      latentTargets[r] = t === PAD ? IGNORE : t;
    }
  }
  return { B, M, N, lengths, latentIndex, latentPositions, latentValid, inputPositions, inputValid, latentTargets };
}

/**
 * Reads the value an absolute position table embeds for input i (b·M + j) and table p: the event
 * index when the model has one table (positionDims 1), else coordinate p.
 */
export function absolutePositionReader(batch: Batch, positionDims: number): (i: number, p: number) => number {
  if (positionDims === 1) return (i) => batch.positions[i]!;
  const coords = batch.coordinates, P = batch.coordinateDims;
  if (!coords || P !== positionDims) {
    throw new RangeError(`this model embeds ${positionDims} coordinates per input (positionDims ${positionDims}), but the batch carries ` +
      `${coords ? `${String(P)}` : 'none'}; give batch.coordinates with coordinateDims ${positionDims}`);
  }
  return (i, p) => coords[i * P + p]!;
}

/** Dense [B][N][M] cross-attend mask (1 = visible), by the kernel's rule. For tests and docs. */
export function crossAttendMask(l: LatentLayout): number[][][] {
  return Array.from({ length: l.B }, (_, b) => Array.from({ length: l.N }, (_, i) => Array.from({ length: l.M }, (_, j) =>
    l.inputValid[b * l.M + j] && l.inputPositions[b * l.M + j]! <= l.latentPositions[b * l.N + i]! ? 1 : 0)));
}

/** Dense [B][N][N] latent self-attention mask (1 = visible), by the kernel's rule. */
export function selfAttendMask(l: LatentLayout): number[][][] {
  return Array.from({ length: l.B }, (_, b) => Array.from({ length: l.N }, (_, i) => Array.from({ length: l.N }, (_, j) =>
    l.latentValid[b * l.N + j] && l.latentPositions[b * l.N + j]! <= l.latentPositions[b * l.N + i]! ? 1 : 0)));
}
