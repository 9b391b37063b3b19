// Where the latents sit in a batch, which inputs and latents are valid, and what each latent
// predicts (spec §2–§4). Everything the masks need is here as positions and validity flags; the
// attention kernel applies "key visible iff keyPos ≤ queryPos and key valid" itself.
import { PAD } from '../../data/vocab.js';

/** A batch of B rows of M inputs (right-padded with PAD) and the token after each input. */
export interface Batch {
  readonly batchSize: number;
  readonly length: number;
  /** [B, M] input ids; PAD only after a row's valid prefix. */
  readonly tokens: Int32Array;
  /** [B, M, P] 1-based positions per position dimension; 0 for PAD. */
  readonly positions: Int32Array;
  /** Position dimensions P (1 for sequences; e.g. 3 for x, y, channel). */
  readonly positionDims: number;
  /** [B, M] the target after input j (PAD where there is none: not scored). */
  readonly targets: Int32Array;
}

export const IGNORE = -1;

export interface LatentLayout {
  readonly B: number;
  readonly M: number;
  readonly N: number;
  /** [B] valid inputs per row. */
  readonly lengths: Int32Array;
  /** [B·N] global input row (b·M + j) each latent sits on, or −1 when invalid. */
  readonly latentIndex: Int32Array;
  /** [B·N] dim-0 position of each latent (0 when invalid). */
  readonly latentPositions: Int32Array;
  readonly latentValid: Uint8Array;
  /** [B·M] dim-0 positions of the inputs and their validity. */
  readonly inputPositions: Int32Array;
  readonly inputValid: Uint8Array;
  /** [B·N] the target of each latent, IGNORE where the latent is invalid or the target is PAD. */
  readonly latentTargets: Int32Array;
}

export function checkBatch(batch: Batch): void {
  const { batchSize: B, length: M, positionDims: P } = batch;
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(M) || M < 1) throw new RangeError(`batch: batchSize and length must be positive integers, got ${B}×${M}`);
  if (batch.tokens.length !== B * M || batch.targets.length !== B * M) throw new RangeError(`batch: tokens and targets must hold ${B}×${M} ids`);
  if (batch.positions.length !== B * M * P) throw new RangeError(`batch: positions must hold ${B}×${M}×${P} values`);
  checkRightPadded(batch);
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
  const { batchSize: B, length: M, positionDims: P } = batch;
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
      inputPositions[b * M + j] = valid ? batch.positions[(b * M + j) * P]! : 0;
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
