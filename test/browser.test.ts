// The library in a real browser (issue 22, first part): Debian's Chromium driven headless by
// playwright-core, pages served from this checkout on 127.0.0.1 — one cross-origin isolated (the
// two headers), one not. The engine runs in a module Worker (the page's own thread never blocks);
// the kernel checks (test/browser/kernel-checks.ts) compare its wasm kernels with the reference
// kernels there. .ci/run installs Chromium and makes these tests mandatory; elsewhere, without
// Chromium, they are skipped with the reason.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { serveRoot, type DevServer } from '../src/platform/node/dev-server.js';

const CHROMIUM = '/usr/bin/chromium';
const BUNDLE = 'dist/test/browser/bundled-worker.bundle.js';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const skip = existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM} (apt-get install chromium; .ci/run does)`;
if (skip && process.env.CI) throw new Error(`CI: ${skip}`);
if (skip) console.log(`# browser tests skipped: ${skip}`);

/** A page that starts `script` (a path under the prefix) in a module Worker and keeps what it posts in window.result. */
const page = (prefix: string, script: string, query: string): string => `<!doctype html><meta charset="utf-8"><title>checks</title><link rel="icon" href="data:,">
<script type="module">
const w = new Worker('${prefix}/${script}?${query}', { type: 'module' });
w.onmessage = (e) => { window.result = e.data; };
w.onerror = (e) => { window.result = { error: 'worker error: ' + (e.message || 'could not load the worker') }; };
</script>`;

interface PageResult {
  readonly error?: string;
  readonly threads: number; readonly simd: string; readonly notes: string[]; readonly isolated: boolean;
  readonly checks: { readonly name: string; readonly worst: number }[];
}

describe('in Chromium', { skip }, () => {
  let server: DevServer, browser: import('playwright-core').Browser, base = '';
  before(async () => {
    // The bundled worker: test/browser/bundled-worker.ts importing the package by name, bundled as an application would.
    const esbuild = await import('esbuild');
    await esbuild.build({ entryPoints: [`${ROOT}dist/test/browser/bundled-worker.js`], bundle: true, format: 'esm', platform: 'browser', outfile: `${ROOT}${BUNDLE}`, logLevel: 'error' });
    server = await serveRoot(ROOT, {
      '/page.html': (prefix, query) => page(prefix, 'dist/test/browser/kernel-checks.js', `threads=${Number(query.get('threads') ?? '2')}`),
      '/bundled.html': (prefix) => page(prefix, BUNDLE, `kernels=${encodeURIComponent(`${server.url}${prefix}/build/`)}&poolWorker=${encodeURIComponent(`${server.url}${prefix}/dist/src/platform/browser/pool-worker.js`)}`),
    });
    base = server.url;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Opens a page, waits for the checks' result, and returns it with the console errors seen. */
  async function run(path: string): Promise<{ result: PageResult; errors: string[] }> {
    const p = await browser.newPage(), errors: string[] = [];
    p.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    p.on('pageerror', (e) => errors.push(e.message));
    try {
      await p.goto(`${base}${path}`);
      await p.waitForFunction(() => (globalThis as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 60_000 });
      const result = await p.evaluate(() => (globalThis as unknown as { result: PageResult }).result);
      return { result, errors };
    } finally {
      await p.close();
    }
  }

  it('an isolated page: 2 threads over shared memory, every wasm kernel equal to the reference, no console errors', async () => {
    const { result, errors } = await run('/isolated/page.html?threads=2');
    assert.equal(result.error, undefined, result.error);
    assert.equal(result.isolated, true);
    assert.equal(result.threads, 2, result.notes.join('; '));
    assert.equal(result.simd, 'relaxed-simd', 'Chromium validates the relaxed SIMD build');
    assert.equal(result.checks.length, 11);
    for (const c of result.checks) assert.ok(c.worst < 2e-4, `${c.name}: worst relative error ${c.worst}`);
    assert.deepEqual(errors, []);
  });

  it('a worker bundled with esbuild that imports the package by name: cached generation equal to uncached on 2 threads', async () => {
    const { result, errors } = await run('/isolated/bundled.html');
    const r = result as unknown as { error?: string; threads: number; cached: number[]; uncached: number[] };
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.threads, 2);
    assert.equal(r.cached.length, 24);
    assert.deepEqual(r.cached, r.uncached);
    assert.deepEqual(errors, []);
  });

  it('a page without the isolation headers: one thread, a note saying why, the same results', async () => {
    const { result, errors } = await run('/plain/page.html?threads=2');
    assert.equal(result.error, undefined, result.error);
    assert.equal(result.isolated, false);
    assert.equal(result.threads, 1);
    assert.ok(result.notes.some((n) => /^1 thread instead of 2: the page is not cross-origin isolated \(serve it with Cross-Origin-Opener-Policy: same-origin/.test(n)), result.notes.join('; '));
    for (const c of result.checks) assert.ok(c.worst < 2e-4, `${c.name}: worst relative error ${c.worst}`);
    assert.deepEqual(errors, []);
  });
});
