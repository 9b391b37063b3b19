// The kernel module's callable exports, in a fixed order shared by the main thread and workers.
export const KERNEL_EXPORTS = [
  'matmul', 'matmulFewRowsPartial', 'matmulFewRowsReduce', 'matmulBf16', 'attentionForward', 'attentionBackward', 'attentionDecodePartial', 'attentionDecodeCombine',
  'attentionMerge',
  'biasAddForward', 'biasAddBackward', 'embeddingForward', 'embeddingBackward',
  'layerNormForward', 'layerNormBackward', 'layerNormReduceParams',
  'activationForward', 'activationBackward', 'gluForward', 'gluBackward', 'add', 'scale', 'dropout', 'rotary',
  'crossEntropyForward', 'crossEntropyBackward', 'adamw', 'sumSquares', 'fmaPeak', 'streamRead',
] as const;

export type KernelExport = typeof KERNEL_EXPORTS[number];

/** Each export takes its own arguments followed by (tid, nth). */
export type KernelFunction = (...args: number[]) => number | void;

export function kernelFunctions(instance: WebAssembly.Instance): Record<KernelExport, KernelFunction> {
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
}

/** Bytes of per-thread scratch the kernels expect (asm/common.ts SCRATCH_BYTES). */
export const SCRATCH_BYTES = 1 << 20;
