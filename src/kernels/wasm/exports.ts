// The kernel module's callable exports, in a fixed order shared by the main thread and workers.
export const KERNEL_EXPORTS = [
  'matmul', 'matmulFewRowsPartial', 'matmulFewRowsReduce', 'matmulBf16', 'attentionForward', 'attentionBackward', 'attentionDecode',
  'attentionMerge',
  'biasAddForward', 'biasAddBackward', 'embeddingForward', 'embeddingBackward',
  'layerNormForward', 'layerNormBackward', 'layerNormReduceParams',
  'activationForward', 'activationBackward', 'gluForward', 'gluBackward', 'add', 'scale', 'dropout', 'rotary',
  'crossEntropyForward', 'crossEntropyBackward', 'adamw', 'sumSquares', 'fmaPeak', 'streamRead',
] as const;

export type KernelExport = typeof KERNEL_EXPORTS[number];

/**
 * Kernels whose every output is computed by one thread, the same way whatever the partition (rows
 * or output panels split between threads, nothing reduced across them): run as one share on one
 * thread they give the same floats as split. A pool running alone (solo) runs these as one share
 * (one call, one normalising prologue), and the rest share by share, in order, as the workers would.
 */
export const PARTITION_INVARIANT: ReadonlySet<KernelExport> = new Set<KernelExport>(['matmulBf16', 'rotary', 'embeddingForward', 'layerNormForward']);

/** Each export takes its own arguments followed by (tid, nth). */
export type KernelFunction = (...args: number[]) => number | void;

export function kernelFunctions(instance: WebAssembly.Instance): Record<KernelExport, KernelFunction> {
  // Sizes both sides assume: a module built from other sources would corrupt memory, not fail.
  for (const [name, expected] of Object.entries(MODULE_CONSTANTS)) {
    const g = instance.exports[name] as unknown;
    const value = typeof g === 'object' && g !== null && 'value' in g ? Number((g as { value: unknown }).value) : undefined;
    if (value !== expected) throw new Error(`kernel module's ${name} is ${value ?? 'missing'}, the engine expects ${expected}: rebuild with npm run build:wasm`);
  }
  const out = {} as Record<KernelExport, KernelFunction>;
  for (const name of KERNEL_EXPORTS) {
    const fn = instance.exports[name];
    if (typeof fn !== 'function') throw new Error(`kernel module lacks export '${name}': rebuild with npm run build:wasm`);
    out[name] = fn as KernelFunction;
  }
  return out;
}

/** Runs an export on `threads` threads (tid 0 on the caller) and returns when all are done. */
export interface ThreadRunner {
  readonly threads: number;
  run(fn: KernelExport, args: readonly number[], threads: number): void;
  /**
   * Milliseconds from the end of the calling thread's own share in the last job to the end of the
   * job (waiting for workers, or running a share a late worker did not claim); null when the job
   * was not dispatched to workers (one thread, or solo).
   */
  readonly lastWaitMs?: number | null;
}

/** Bytes of per-thread scratch the kernels expect (asm/common.ts SCRATCH_BYTES). */
export const SCRATCH_BYTES = 1 << 20;

/** Keys per block of the single-query attention (asm/decode-attention.ts DECODE_BLOCK): its scratch is H·(D + 4 + DECODE_BLOCK) floats. */
export const DECODE_BLOCK = 64;

/** The module's exported constants that must equal the engine's (checked when an instance is made). */
export const MODULE_CONSTANTS: Readonly<Record<string, number>> = { SCRATCH_BYTES, DECODE_BLOCK };
