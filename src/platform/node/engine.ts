// Creating an engine in Node: feature detection (relaxed SIMD → SIMD128 → reference), loading the
// kernel module built by `npm run build:wasm`, the worker pool and the native BLAS; the engine itself
// is assembled by the platform-neutral kernels/wasm/engine.ts.
import { readFileSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { referenceEngine, type Engine } from '../../engine.js';
import { UsageError } from '../../errors.js';
import { referenceKernels } from '../../kernels/reference/index.js';
import { kernelFunctions } from '../../kernels/wasm/exports.js';
import { createSharedMemory, wasmEngine } from '../../kernels/wasm/engine.js';
import { nativeSelfTest } from '../../kernels/wasm/self-test.js';
import { bindTileGemm, loadBlas, noTileGemm, type BlasOption, type LoadedBlas } from './blas.js';
import { WorkerPool } from './pool.js';

export interface EngineOptions {
  /** 'auto' (default) picks wasm when the runtime validates a SIMD build, else reference. */
  readonly backend?: 'auto' | 'wasm' | 'reference';
  /** Threads for the wasm backend; default $PERCEIVER_THREADS, else the available cores. */
  readonly threads?: number;
  /** Which wasm build: 'auto' (relaxed SIMD when valid), or force one. */
  readonly simd?: 'auto' | 'relaxed-simd' | 'simd128';
  /** Work (≈ element operations) below which kernels run inline on the calling thread. Default 32768. */
  readonly minParallelWork?: number;
  /**
   * Native BLAS for large matmuls (wasm backend, Node): 'auto' (default; $PERCEIVER_BLAS when set)
   * loads the system's OpenBLAS / Accelerate when present, 'off' keeps every matmul in wasm, a path
   * names the library. Absent or broken: the wasm matmul, with a note in engine.info.notes.
   */
  readonly blas?: BlasOption;
  /** Matmuls of at least this many multiply-adds (m·n·k) go to the native BLAS. Default BLAS_MIN_WORK. */
  readonly blasMinWork?: number;
  /** Matmuls with at most this many rows stay in wasm (its few-rows path wins there). Default 8. */
  readonly blasMaxWasmRows?: number;
  /**
   * The fused attention's tile products (64×64 blocks) through the native BLAS, called
   * single-threaded from every pool thread (OpenBLAS only). Default true when such a BLAS loaded.
   */
  readonly blasAttentionTiles?: boolean;
}

/**
 * Products of fewer multiply-adds stay in wasm (the FFI and BLAS set-up cost more than they save).
 * Above it the BLAS won on most shapes measured and on all the models' large ones (about 2×); it
 * lost around 128³ in one run (docs/benchmarks.md, the BLAS threshold). Products with ≤ 8 rows
 * (decoding) always stay in wasm.
 */
export const BLAS_MIN_WORK = 32 * 32 * 32;

const MAX_THREADS = 64;

export function resolveThreads(option: number | undefined, env: string | undefined = process.env.PERCEIVER_THREADS): number {
  if (option !== undefined) {
    if (!Number.isInteger(option) || option < 1 || option > MAX_THREADS) {
      throw new RangeError(`threads must be an integer in [1, ${MAX_THREADS}], got ${option}`);
    }
    return option;
  }
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
      throw new RangeError(`PERCEIVER_THREADS must be an integer in [1, ${MAX_THREADS}], got '${env}'`);
    }
    return n;
  }
  return Math.min(availableParallelism(), MAX_THREADS);
}

function wasmPath(file: string): string {
  return fileURLToPath(new URL(`../../../../build/${file}`, import.meta.url));
}

interface WasmChoice { readonly bytes: Uint8Array; readonly simd: 'relaxed-simd' | 'simd128'; readonly notes: string[] }

function chooseWasm(want: 'auto' | 'relaxed-simd' | 'simd128'): WasmChoice | { error: string } {
  const notes: string[] = [];
  const simdFile = wasmPath('kernels-simd.wasm'), relaxedFile = wasmPath('kernels-relaxed.wasm');
  if (!existsSync(simdFile)) return { error: `kernel module not found at ${simdFile}; run npm run build:wasm` };
  if (want !== 'simd128' && existsSync(relaxedFile)) {
    // Node 20 (V8 11.3) ships relaxed SIMD behind a flag; it must be set before compiling.
    if (Number(process.versions.node.split('.')[0]) < 22) setFlagsFromString('--experimental-wasm-relaxed-simd');
    const bytes = readFileSync(relaxedFile);
    if (WebAssembly.validate(bytes)) return { bytes, simd: 'relaxed-simd', notes: ['relaxed SIMD validated: FMA build'] };
    notes.push('relaxed SIMD not supported by this runtime');
    if (want === 'relaxed-simd') return { error: 'relaxed SIMD was requested but this runtime does not validate it' };
  }
  const bytes = readFileSync(simdFile);
  if (WebAssembly.validate(bytes)) return { bytes, simd: 'simd128', notes: [...notes, 'SIMD128 build'] };
  return { error: 'this runtime does not validate WebAssembly SIMD128' };
}

export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  const backend = options.backend ?? 'auto';
  if (!['auto', 'wasm', 'reference'].includes(backend)) throw new RangeError(`backend must be 'auto', 'wasm' or 'reference', got '${backend}'`);
  if (backend === 'reference') return referenceEngine(referenceKernels, ['reference backend requested']);
  const threads = resolveThreads(options.threads);
  const choice = chooseWasm(options.simd ?? 'auto');
  if ('error' in choice) {
    if (backend === 'wasm') throw new Error(`wasm backend unavailable: ${choice.error}`);
    return referenceEngine(referenceKernels, [`wasm unavailable (${choice.error}); using the reference backend`]);
  }
  const module = new WebAssembly.Module(choice.bytes);
  const minWork = options.blasMinWork ?? BLAS_MIN_WORK;
  if (!Number.isFinite(minWork) || minWork < 1) throw new RangeError(`blasMinWork must be a number ≥ 1, got ${minWork}`);
  const maxWasmRows = options.blasMaxWasmRows ?? 8;
  if (!Number.isInteger(maxWasmRows) || maxWasmRows < 0) throw new RangeError(`blasMaxWasmRows must be an integer ≥ 0, got ${maxWasmRows}`);
  if (options.blasAttentionTiles !== undefined && typeof options.blasAttentionTiles !== 'boolean') {
    throw new RangeError(`blasAttentionTiles must be true or false, got ${String(options.blasAttentionTiles)}`);
  }
  const blasOption = options.blas ?? (process.env.PERCEIVER_BLAS || 'auto');
  const requested = blasOption !== 'auto' && blasOption !== 'off' && blasOption !== '';
  // A library asked for by name that cannot be used is an error (a note would be hidden by --json/--quiet).
  const refuse = (why: string): never => {
    throw new UsageError(`the requested BLAS library ${blasOption} cannot be used: ${why} (--blas=auto finds the system's, --blas=off uses the wasm matmul)`);
  };
  const loaded = loadBlas(blasOption, threads);
  if (!loaded.blas && requested) refuse((loaded.note ?? '').replace(/^native BLAS unavailable: /, '').replace(/; using the wasm matmul$/, ''));
  const tilesWanted = options.blasAttentionTiles !== false;
  const tileRefusal = tilesWanted && loaded.blas?.tileRefusal ? [`attention tile products stay in wasm: ${loaded.blas.tileRefusal}`] : [];
  const settings = { threads, simd: choice.simd, minWork, maxWasmRows, minParallelWork: options.minParallelWork ?? 32768 };
  let engine = await assembleEngine(module, settings, loaded.blas, tilesWanted ? loaded.blas?.tilePath ?? null : null,
    [...choice.notes, ...(loaded.note ? [loaded.note] : []), ...tileRefusal]);
  if (loaded.blas) {
    // The library checked on the engine's own path: shared-memory views, and the pool threads' tile bindings.
    const wrong = nativeSelfTest(engine, loaded.blas.gemm);
    if (wrong.gemm || wrong.tiles) {
      await engine.dispose();
      if (wrong.gemm && requested) refuse(wrong.gemm);
      const keep = wrong.gemm ? null : loaded.blas;
      const why = wrong.gemm ? `native BLAS unavailable: ${loaded.blas.path}: ${wrong.gemm}; using the wasm matmul` : `attention tile products stay in wasm: ${wrong.tiles}`;
      engine = await assembleEngine(module, settings, keep, null, [...choice.notes, ...(keep ? [loaded.note!] : []), why]);
    }
  }
  return engine;
}

/** The threads the library runs a product on: the engine's, or one for a serial build. */
const blasThreads = (blas: LoadedBlas, threads: number): string => { const n = blas.build === 'serial' ? 1 : threads; return `${n} thread${n === 1 ? '' : 's'}`; };

interface EngineSettings {
  readonly threads: number; readonly simd: 'relaxed-simd' | 'simd128'; readonly minWork: number; readonly maxWasmRows: number; readonly minParallelWork: number;
}

/** A wasm engine on a fresh shared memory and worker pool, with `blas` for its large products and `tilePath` for the attention's tiles. */
async function assembleEngine(module: WebAssembly.Module, s: EngineSettings, blas: LoadedBlas | null, tilePath: string | null, notes: string[]): Promise<Engine> {
  const wasmMemory = createSharedMemory(), threads = s.threads;
  // Every thread's instance imports the tile gemm; a thread that cannot bind it leaves the tiles in wasm.
  const start = (path: string | null): Promise<WorkerPool> => {
    const tileGemm = path ? bindTileGemm(path, wasmMemory) : noTileGemm;
    const local = kernelFunctions(new WebAssembly.Instance(module, { env: { memory: wasmMemory, tileGemm } }));
    return WorkerPool.start(threads, module, wasmMemory, local, path);
  };
  let pool: WorkerPool;
  try {
    pool = await start(tilePath);
  } catch (e) {
    if (!tilePath) throw e;
    notes.push(`attention tile products stay in wasm: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    tilePath = null;
    pool = await start(null);
  }
  // While the pool finds its workers late (another program has the cores: it runs solo), the BLAS
  // runs its products on the calling thread alone too; its own threads would wait on each other.
  const gemm = blas ? {
    description: blas.gemm.description,
    sgemm: (...a: Parameters<typeof blas.gemm.sgemm>): void => {
      if (!pool.contended()) { blas.gemm.sgemm(...a); return; }
      blas.setThreads(1);
      try { blas.gemm.sgemm(...a); } finally { blas.setThreads(threads); }
    },
  } : null;
  const native = blas ? {
    matmul: {
      gemm: gemm!, minWork: s.minWork, maxWasmRows: s.maxWasmRows, yieldCores: () => pool.park(),
      attentionTiles: tilePath ? { setThreads: blas.setThreads, threads } : null,
    },
    description: `${blas.gemm.description}, ${blasThreads(blas, threads)}${tilePath ? ', attention tiles' : ''}`,
  } : null;
  return wasmEngine({ wasmMemory, runner: pool, simd: s.simd, notes, minParallelWork: s.minParallelWork, native });
}
