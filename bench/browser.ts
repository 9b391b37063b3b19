// `npm run bench -- browser [--threads=N]`: the same figures (bench/speed.ts) from Node's wasm path
// and from Chromium (headless, playwright-core, Debian's /usr/bin/chromium) in one run, at the same
// thread count: the browser's worker is bundled with esbuild and served on 127.0.0.1 from an
// isolated page. Target: the browser within 15% of Node (≥ 0.85 of each figure).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createEngine } from '../src/node.js';
import { serveRoot } from '../src/platform/node/dev-server.js';
import type { BenchResult } from './harness.js';
import { measureSpeed, type SpeedFigures } from './speed.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUNDLE = 'dist/bench/browser/worker.bundle.js';

async function browserFigures(threads: number, progress: (l: string) => void): Promise<{ figures: SpeedFigures; simd: string; threads: number; notes: string[] }> {
  const esbuild = await import('esbuild');
  await esbuild.build({ entryPoints: [`${ROOT}dist/bench/browser/worker.js`], bundle: true, format: 'esm', platform: 'browser', outfile: `${ROOT}${BUNDLE}`, logLevel: 'error' });
  const page = (prefix: string): string => `<!doctype html><meta charset="utf-8"><title>bench</title><link rel="icon" href="data:,"><script type="module">
const q = new URLSearchParams({ threads: '${threads}', kernels: location.origin + '${prefix}/build/', poolWorker: location.origin + '${prefix}/dist/src/platform/browser/pool-worker.js' });
const w = new Worker('${prefix}/${BUNDLE}?' + q, { type: 'module' });
window.messages = [];
w.onmessage = (e) => { window.messages.push(e.data); };
w.onerror = (e) => { window.messages.push({ error: 'worker error: ' + (e.message || 'could not load it') }); };
</script>`;
  const server = await serveRoot(ROOT, { '/bench.html': (prefix) => page(prefix) });
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  try {
    const p = await browser.newPage();
    await p.goto(`${server.url}/isolated/bench.html`);
    for (let seen = 0; ;) {
      const messages = await p.evaluate(() => (globalThis as unknown as { messages: Record<string, unknown>[] }).messages);
      for (const m of messages.slice(seen)) {
        if (typeof m.progress === 'string') progress(`chromium: ${m.progress}`);
        if (typeof m.error === 'string') throw new Error(`in Chromium: ${m.error}`);
        if (m.figures) return m as unknown as { figures: SpeedFigures; simd: string; threads: number; notes: string[] };
      }
      seen = messages.length;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

export async function runBrowserBench(threads: number, progress: (l: string) => void): Promise<BenchResult[]> {
  if (!existsSync(CHROMIUM)) throw new Error(`bench browser needs Chromium at ${CHROMIUM} (apt-get install chromium)`);
  const e = await createEngine({ backend: 'wasm', threads, blas: 'off' });
  const node = measureSpeed(e, (l) => progress(`node: ${l}`));
  const simdNode = e.info.simd;
  await e.dispose();
  const web = await browserFigures(threads, progress);
  const stats = (web as unknown as { stats: { soloJobs: number; lateJobs: number } | null }).stats;
  if (stats) progress(`chromium's pool: ${stats.lateJobs} jobs found a worker late, ${stats.soloJobs} ran on the calling thread alone\n`);
  if (web.threads !== threads) throw new Error(`Chromium ran ${web.threads} threads, not ${threads}: ${web.notes.join('; ')}`);
  const rows: BenchResult[] = [];
  const add = (name: string, unit: string, n: number, b: number, ms: (x: number) => number, gflops: boolean): void => {
    const base = { threads, fractionOfCeiling: null, target: null, targetMet: null };
    rows.push({ ...base, name: `${name} [node wasm]`, simd: simdNode, ms: ms(n), gflops: gflops ? n : null, extra: { [unit]: n.toFixed(1) } });
    rows.push({ ...base, name: `${name} [chromium]`, simd: web.simd, ms: ms(b), gflops: gflops ? b : null, fractionOfCeiling: b / n,
      target: '≥ 85% of node', targetMet: b / n >= 0.85, extra: { [unit]: b.toFixed(1), 'vs node': `${(b / n).toFixed(2)}×` } });
  };
  add('matmul-1024', 'GFLOP/s', node.matmulGflops, web.figures.matmulGflops, (g) => (2 * 1024 ** 3) / (g * 1e6), true);
  add('train-small-b8', 'tokens/s', node.trainTokensPerSecond, web.figures.trainTokensPerSecond, (t) => (8 * 256 * 1000) / t, false);
  add('decode-enwik8-small [bf16]', 'tokens/s', node.decodeTokensPerSecond, web.figures.decodeTokensPerSecond, (t) => 1000 / t, false);
  return rows;
}
