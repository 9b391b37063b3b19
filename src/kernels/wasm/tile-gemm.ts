// The kernel module's `env.tileGemm` import: a native cblas_sgemm on byte addresses in the
// engine's memory, which the fused attention calls for its tile products when a host provides one
// (Node with OpenBLAS: platform/node/blas.ts). Hosts without one pass noTileGemm.

/** (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) with a, b, c byte addresses in the engine's memory. */
export type TileGemm = (...args: number[]) => void;

/** The import where no BLAS is loaded: the kernels never call it then. */
export const noTileGemm: TileGemm = () => { throw new Error('tileGemm: this engine has no native BLAS'); };
