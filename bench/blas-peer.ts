// The ceiling for the native matmul path: the same BLAS library called from C (bench/c/sgemm-peer.c,
// compiled here with the system's C compiler), 1024³ at the engine's thread count, in the same run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

let built: string | null = null;

/** Median GFLOP/s of the C peer, or the reason it could not run (no compiler, no library). */
export function cPeerGflops(threads: number): number | string {
  const source = fileURLToPath(new URL('../../bench/c/sgemm-peer.c', import.meta.url));
  const exe = built ?? join(mkdtempSync(join(tmpdir(), 'sgemm-peer-')), 'sgemm-peer');
  try {
    if (!built) execFileSync('cc', ['-O2', '-o', exe, source, '-l:libopenblas.so.0'], { stdio: 'pipe' });
    built = exe;
  } catch (e) {
    return `the C peer did not build (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
  }
  const out = execFileSync(exe, ['1024', String(threads), '9'], { encoding: 'utf8' });
  return Number(out.trim());
}
