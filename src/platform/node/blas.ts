// The system's optimised BLAS for the engine's large matrix products (Node only): OpenBLAS on
// Linux, Accelerate on macOS, an OpenBLAS DLL on Windows, called through the `koffi` FFI package
// (prebuilt binaries inside its npm package) directly on views of the engine's shared memory — no
// copies. Anything missing (the package, the library, a symbol) or a library that computes a
// wrong product leaves the wasm kernels in charge, with one notice saying why.
import { createRequire } from 'node:module';
import type { NativeGemm } from '../../kernels/native-gemm.js';
import type { F32 } from '../../kernels/types.js';
import type { TileGemm } from '../../kernels/wasm/tile-gemm.js';

/** 'auto': the platform's usual library; 'off': wasm only; anything else: a library path. */
export type BlasOption = 'auto' | 'off' | (string & {});

/** Candidate libraries for 'auto', by platform. */
const AUTO_LIBRARIES: Readonly<Record<string, readonly string[]>> = {
  linux: ['libopenblas.so.0', 'libopenblas.so', '/usr/lib/x86_64-linux-gnu/libopenblas.so.0', '/usr/lib/aarch64-linux-gnu/libopenblas.so.0'],
  darwin: ['/System/Library/Frameworks/Accelerate.framework/Accelerate', '/opt/homebrew/opt/openblas/lib/libopenblas.dylib'],
  win32: ['libopenblas.dll', 'openblas.dll'],
};

const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

/**
 * How an OpenBLAS build runs its products (`openblas_get_parallel()`: 0, 1, 2): 'serial' (one
 * thread, Debian's libopenblas0-serial), 'pthread' (its own thread pool, libopenblas0-pthread),
 * 'openmp' (OpenMP, libopenblas0-openmp); 'unknown' for another BLAS (Accelerate) or an OpenBLAS
 * too old to say.
 */
export type BlasBuild = 'serial' | 'pthread' | 'openmp' | 'unknown';
const BUILDS: readonly BlasBuild[] = ['serial', 'pthread', 'openmp'];

export interface LoadedBlas {
  readonly gemm: NativeGemm;
  readonly path: string;
  readonly build: BlasBuild;
  /** Sets the library's thread count (the engine's threads apply to both; a serial build stays at 1). */
  readonly setThreads: (n: number) => void;
  /** The library's thread count now (`openblas_get_num_threads`), or null when it cannot say. */
  readonly threadsNow: () => number | null;
  /**
   * The library's path when every pool thread may call it at once, single-threaded: OpenBLAS's
   * pthread build (its thread count can be set to 1 around such calls, and concurrent calls are
   * safe). The fused attention then hands it its tile products from each pool thread. Null for
   * other builds (the OpenMP and serial builds are not known to be safe for concurrent calls: see
   * `tileRefusal`) and other libraries.
   */
  readonly tilePath: string | null;
  /** Why the tiles stay in wasm with this library, or null when tilePath is set. */
  readonly tileRefusal: string | null;
}

export type BlasResult = { readonly blas: LoadedBlas; readonly note: string } | { readonly blas: null; readonly note: string | null };

interface KoffiLib { func(signature: string): (...args: unknown[]) => unknown }
interface Koffi { load(path: string): KoffiLib; address(value: unknown): bigint }

/** The koffi package, or why it could not be loaded. */
function loadKoffi(): Koffi | string {
  try {
    return createRequire(import.meta.url)('koffi') as Koffi;
  } catch (e) {
    return `the koffi package is not installed (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
  }
}

/** Opens one library and binds cblas_sgemm (plus OpenBLAS's thread and version calls when present). */
function bind(koffi: Koffi, path: string, threads: number): LoadedBlas {
  const lib = koffi.load(path);
  const sgemm = lib.func('void cblas_sgemm(int, int, int, int, int, int, float, float *, int, float *, int, float, float *, int)');
  const optional = (signature: string): ((...args: unknown[]) => unknown) | null => {
    try { return lib.func(signature); } catch { return null; }
  };
  const setNum = optional('void openblas_set_num_threads(int)'), getNum = optional('int openblas_get_num_threads()');
  const config = optional('const char *openblas_get_config()'), core = optional('const char *openblas_get_corename()');
  const parallel = optional('int openblas_get_parallel()');
  const build: BlasBuild = parallel ? BUILDS[Number(parallel())] ?? 'unknown' : 'unknown';
  setNum?.(threads);
  const version = config ? String(config()).split(' ').slice(0, 2).join(' ') : path;
  const description = `${version}${core ? `, ${String(core())} kernels` : ''}${build === 'unknown' ? '' : `, ${build} build`}`;
  const gemm: NativeGemm = {
    description,
    sgemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: F32, lda: number, b: F32, ldb: number,
      beta: number, c: F32, ldc: number): void {
      sgemm(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    },
  };
  const tileRefusal = build === 'pthread' && setNum ? null
    : build === 'unknown' ? 'the library is not an OpenBLAS that says how it runs its threads'
    : `OpenBLAS's ${build === 'openmp' ? 'OpenMP' : 'serial'} build is not known to be safe when several threads call it at once (libopenblas0-pthread is)`;
  return {
    gemm, path, build, setThreads: (n) => setNum?.(n), threadsNow: () => (getNum ? Number(getNum()) : null),
    tilePath: tileRefusal === null ? path : null, tileRefusal,
  };
}

export { noTileGemm, type TileGemm } from '../../kernels/wasm/tile-gemm.js';

/**
 * The kernel module's `env.tileGemm` import for one thread: cblas_sgemm of the library at `path`
 * on addresses in `memory` (a shared memory's base address never moves: it is reserved whole).
 * wasm32 passes addresses as i32, which JavaScript sees as negative from 2 GiB on: `>>> 0`.
 */
export function bindTileGemm(path: string, memory: WebAssembly.Memory): TileGemm {
  const koffi = loadKoffi();
  if (typeof koffi === 'string') throw new Error(`tileGemm: ${koffi}`);
  const sgemm = koffi.load(path).func('void cblas_sgemm(int, int, int, int, int, int, float, intptr_t, int, intptr_t, int, float, intptr_t, int)');
  const base = Number(koffi.address(new Float32Array(memory.buffer, 0, 1)));
  return (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
    sgemm(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, alpha, base + (a! >>> 0), lda, base + (b! >>> 0), ldb, beta, base + (c! >>> 0), ldc);
  };
}

/** A 3×2·2×4 product with an odd stride and accumulation, checked against plain arithmetic. */
function selfTest(gemm: NativeGemm): string | null {
  const a = Float32Array.of(1, 2, 9, 3, 4, 9, 5, 6, 9), b = Float32Array.of(1, 0, -1, 2, 0.5, 1, 3, -2), c = new Float32Array(12).fill(1);
  gemm.sgemm(false, false, 3, 4, 2, 2, a, 3, b, 4, 1, c, 4);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 4; j++) {
      const want = 1 + 2 * (a[i * 3]! * b[j]! + a[i * 3 + 1]! * b[4 + j]!);
      if (Math.abs(c[i * 4 + j]! - want) > 1e-5) return `its sgemm gave ${c[i * 4 + j]} instead of ${want}`;
    }
  }
  return null;
}

/**
 * Loads the BLAS named by `option` for `threads` threads. Returns the library and a line for
 * engine.info, or null and the reason (null note for 'off').
 */
export function loadBlas(option: BlasOption, threads: number): BlasResult {
  if (option === 'off') return { blas: null, note: null };
  if (option === '') return { blas: null, note: 'blas: an empty library path; using the wasm matmul' };
  const koffi = loadKoffi();
  if (typeof koffi === 'string') return { blas: null, note: `native BLAS unavailable: ${koffi}; using the wasm matmul` };
  const candidates = option === 'auto' ? AUTO_LIBRARIES[process.platform] ?? [] : [option];
  // OpenBLAS's idle threads spin (yielding) for about 2^28 cycles after each call by default, taking
  // a share of the cores from the engine's next kernels (measured: a LayerNorm after a product ran
  // 30% slower, a training step 10–20%). 2^4 cycles puts them to sleep at once. Read when the
  // library loads; a value the user set is kept. The OpenMP build's threads spin the same way
  // (libgomp's active wait): OMP_WAIT_POLICY=PASSIVE took a training step through it from 34.5k to
  // 46.1k tokens/s (mirrored-1024, 2 threads; wasm alone 40.1k).
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '4';
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  const failures: string[] = [];
  for (const path of candidates) {
    let loaded: LoadedBlas;
    try {
      loaded = bind(koffi, path, threads);
    } catch (e) {
      failures.push(`${path}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      continue;
    }
    const wrong = selfTest(loaded.gemm);
    if (wrong) { failures.push(`${path}: ${wrong}`); continue; }
    const runs = loaded.build === 'serial' ? 1 : threads;
    return { blas: loaded, note: `native BLAS: ${loaded.gemm.description}, ${runs} thread${runs === 1 ? '' : 's'} (${path})` };
  }
  const why = option === 'auto'
    ? `no system BLAS found (${process.platform === 'linux' ? 'install Debian/Ubuntu libopenblas0-pthread' : 'tried ' + candidates.join(', ')})`
    : failures.join('; ');
  return { blas: null, note: `native BLAS unavailable: ${why}; using the wasm matmul` };
}
