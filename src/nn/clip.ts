import type { F32, KernelSet } from '../kernels/types.js';

/**
 * Global-norm gradient clipping over several gradient buffers: if the joint L2 norm exceeds
 * maxNorm, every buffer is scaled by maxNorm/norm. Returns the norm before clipping and the scale
 * applied (1 when not clipped). A non-finite norm is returned as is and nothing is scaled, so the
 * caller can skip the step.
 */
export function clipGlobalNorm(kernels: KernelSet, grads: readonly F32[], maxNorm: number): { norm: number; scale: number } {
  if (!(maxNorm > 0)) throw new RangeError(`clipGlobalNorm: maxNorm must be > 0, got ${maxNorm}`);
  let sq = 0;
  for (const g of grads) sq += kernels.sumSquares(g);
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(norm) || norm <= maxNorm) return { norm, scale: 1 };
  const scale = maxNorm / norm;
  for (const g of grads) kernels.scale(g, scale);
  return { norm, scale };
}
