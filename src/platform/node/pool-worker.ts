// A pool worker in Node: the platform-neutral worker loop (kernels/wasm/pool-worker-loop.ts) with
// its init from workerData and, when the engine has OpenBLAS attention tiles, this thread's own
// binding of the library.
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerInit } from '../../kernels/wasm/pool-protocol.js';
import { runPoolWorker } from '../../kernels/wasm/pool-worker-loop.js';
import { bindTileGemm, noTileGemm } from './blas.js';

const init = workerData as WorkerInit;
runPoolWorker(init, init.tilePath ? bindTileGemm(init.tilePath, init.memory) : noTileGemm, () => parentPort!.postMessage('ready'));
