// Creating an engine in a browser: the same wasm kernels as Node (relaxed SIMD when the browser
// validates it, else SIMD128), fetched from where the page serves the package's build/ folder; the
// worker pool over shared memory when the context is cross-origin isolated and may block (a
// dedicated Worker); otherwise one thread, with a note saying why and what to change. No native
// BLAS: every matmul runs in the wasm kernels.
import { referenceEngine, type Engine } from '../../engine.js';
import { referenceKernels } from '../../kernels/reference/index.js';
import { createSharedMemory, wasmEngine } from '../../kernels/wasm/engine.js';
import { kernelFunctions } from '../../kernels/wasm/exports.js';
import { noTileGemm } from '../../kernels/wasm/tile-gemm.js';
import { BrowserPool } from './pool.js';

export interface BrowserEngineOptions {
  /** 'auto' (default) picks wasm when the browser validates a SIMD build, else reference. */
  readonly backend?: 'auto' | 'wasm' | 'reference';
  /** Threads (default navigator.hardwareConcurrency, at most 64); 1 where threads are not possible. */
  readonly threads?: number;
  readonly simd?: 'auto' | 'relaxed-simd' | 'simd128';
  /**
   * Where the kernel modules are served: a URL of the folder holding kernels-relaxed.wasm and
   * kernels-simd.wasm (the package's build/). Default: build/ beside the package's dist/, as
   * served from the package root.
   */
  readonly kernelsUrl?: string | URL;
  /** The pool worker script (dist/src/platform/browser/pool-worker.js, or a bundler's chunk of it). */
  readonly workerUrl?: string | URL;
  /** Work (≈ element operations) below which kernels run inline on the calling thread. Default 32768. */
  readonly minParallelWork?: number;
}

const MAX_THREADS = 64;

interface BrowserScope {
  readonly crossOriginIsolated?: boolean;
  readonly navigator?: { readonly hardwareConcurrency?: number };
  readonly document?: unknown;
  readonly fetch: (url: string | URL) => Promise<{ ok: boolean; status: number; arrayBuffer(): Promise<ArrayBuffer> }>;
}

/** Why this context runs one thread, or null when the pool can start. */
export function threadBlocker(scope: BrowserScope): string | null {
  if (scope.document !== undefined) return 'the engine runs on the page\'s main thread, which may not wait for workers (Atomics.wait); create it inside a dedicated Worker';
  if (scope.crossOriginIsolated !== true || typeof SharedArrayBuffer !== 'function') {
    return 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  }
  return null;
}

async function fetchBytes(scope: BrowserScope, url: URL): Promise<Uint8Array> {
  const r = await scope.fetch(url);
  if (!r.ok) throw new Error(`kernel module ${url.href}: HTTP ${r.status}; serve the package's build/ folder and pass its URL as kernelsUrl`);
  return new Uint8Array(await r.arrayBuffer());
}

export async function createBrowserEngine(options: BrowserEngineOptions = {}): Promise<Engine> {
  const scope = globalThis as unknown as BrowserScope;
  const backend = options.backend ?? 'auto';
  if (!['auto', 'wasm', 'reference'].includes(backend)) throw new RangeError(`backend must be 'auto', 'wasm' or 'reference', got '${backend}'`);
  if (backend === 'reference') return referenceEngine(referenceKernels, ['reference backend requested']);
  const wanted = options.threads ?? Math.min(scope.navigator?.hardwareConcurrency ?? 1, MAX_THREADS);
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > MAX_THREADS) throw new RangeError(`threads must be an integer in [1, ${MAX_THREADS}], got ${wanted}`);
  const notes: string[] = [], blocker = wanted > 1 ? threadBlocker(scope) : null;
  if (blocker) notes.push(`1 thread instead of ${wanted}: ${blocker}`);
  const threads = blocker ? 1 : wanted;
  // URLs given relative resolve against the page or worker that runs this (its location), as a Worker's URL would.
  const here = (globalThis as unknown as { location?: { href: string } }).location?.href ?? import.meta.url;
  const base = options.kernelsUrl !== undefined ? new URL(options.kernelsUrl, here) : new URL('../../../../build/', import.meta.url);
  const folder = base.href.endsWith('/') ? base : new URL(`${base.href}/`);
  let bytes: Uint8Array | null = null, simd: 'relaxed-simd' | 'simd128' = 'simd128';
  const want = options.simd ?? 'auto';
  if (want !== 'simd128') {
    const relaxed = await fetchBytes(scope, new URL('kernels-relaxed.wasm', folder));
    if (WebAssembly.validate(relaxed)) { bytes = relaxed; simd = 'relaxed-simd'; notes.push('relaxed SIMD validated: FMA build'); }
    else if (want === 'relaxed-simd') throw new Error('relaxed SIMD was requested but this browser does not validate it');
    else notes.push('relaxed SIMD not supported by this browser');
  }
  if (!bytes) {
    const plain = await fetchBytes(scope, new URL('kernels-simd.wasm', folder));
    if (!WebAssembly.validate(plain)) {
      if (backend === 'wasm') throw new Error('wasm backend unavailable: this browser does not validate WebAssembly SIMD128');
      return referenceEngine(referenceKernels, [...notes, 'wasm unavailable (this browser does not validate WebAssembly SIMD128); using the reference backend']);
    }
    bytes = plain;
    notes.push('SIMD128 build');
  }
  const module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  const wasmMemory = createSharedMemory();
  const local = kernelFunctions(new WebAssembly.Instance(module, { env: { memory: wasmMemory, tileGemm: noTileGemm } }));
  const workerUrl = options.workerUrl !== undefined ? new URL(options.workerUrl, here) : new URL('./pool-worker.js', import.meta.url);
  const pool = await BrowserPool.start(threads, module, wasmMemory, local, workerUrl);
  return wasmEngine({ wasmMemory, runner: pool, simd, notes, minParallelWork: options.minParallelWork ?? 32768, native: null });
}
