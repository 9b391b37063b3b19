// A native matrix product that a backend may hand its large matmuls to (platform code provides
// it: OpenBLAS, Accelerate or an OpenBLAS DLL called through FFI, in Node only). It works on the
// backend's own buffers — views into the engine's memory — so nothing is copied.
import type { F32 } from './types.js';

/** C = alpha·op(A)·op(B) + beta·C, row-major, with leading dimensions in floats (cblas_sgemm). */
export interface NativeGemm {
  /** What was loaded, for engine.info (e.g. "OpenBLAS 0.3.21, Haswell kernels, 2 threads"). */
  readonly description: string;
  sgemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: F32, lda: number,
    b: F32, ldb: number, beta: number, c: F32, ldc: number): void;
}

/** How a backend uses a native gemm: for products of at least minWork multiply-adds (m·n·k per matrix). */
export interface NativeMatmul {
  readonly gemm: NativeGemm;
  readonly minWork: number;
  /** Products with at most this many rows (decoding) stay in wasm. */
  readonly maxWasmRows: number;
  /** Called before each native call: the backend's own threads stop spinning so they do not compete for the cores. */
  readonly yieldCores: () => void;
  /**
   * Set when the kernel module's `tileGemm` import reaches this gemm from every thread: the fused
   * attention then computes its tile products there, with the library held to one thread of its
   * own meanwhile (each pool thread makes its own calls) and given back `threads` after.
   */
  readonly attentionTiles: { readonly setThreads: (n: number) => void; readonly threads: number } | null;
}
