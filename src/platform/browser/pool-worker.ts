// A pool worker in a browser: a module Worker that receives its init (the compiled kernel module,
// the shared memory and the pool's buffers) in one message, says it is ready, and runs the
// platform-neutral worker loop (kernels/wasm/pool-worker-loop.ts) forever. Browsers have no native
// BLAS, so the tile import is the one that throws.
import type { WorkerInit } from '../../kernels/wasm/pool-protocol.js';
import { runPoolWorker } from '../../kernels/wasm/pool-worker-loop.js';
import { noTileGemm } from '../../kernels/wasm/tile-gemm.js';

const scope = globalThis as unknown as { onmessage: ((e: { data: WorkerInit }) => void) | null; postMessage(message: unknown): void };
scope.onmessage = (e) => {
  scope.onmessage = null;
  runPoolWorker(e.data, noTileGemm, () => scope.postMessage('ready'));
};
