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
import { readFileSync } from 'node:fs';
import { serveRoot, type DevServer } from '../src/platform/node/dev-server.js';
import { createEngine } from '../src/node.js';
import type { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { generate } from '../src/sample/generate.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import { runCli } from './helpers/cli.js';

const CHROMIUM = '/usr/bin/chromium';
const BUNDLE = 'dist/test/browser/bundled-worker.bundle.js', SESSION_WORKER = 'dist/test/browser/session-worker.bundle.js';
const SESSION_PAGE = 'dist/test/browser/session-page.bundle.js', CHECKPOINT = 'dist/test/browser/tiny.safetensors';
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
    const bundle = (entry: string, out: string) => esbuild.build({ entryPoints: [`${ROOT}${entry}`], bundle: true, format: 'esm', platform: 'browser', outfile: `${ROOT}${out}`, logLevel: 'error' });
    await bundle('dist/test/browser/bundled-worker.js', BUNDLE);
    await bundle('dist/src/platform/browser/session-worker.js', SESSION_WORKER);
    await bundle('dist/test/browser/session-page.js', SESSION_PAGE);
    // A small trained checkpoint for the session test (rotary positions: generation of any length, for the abort).
    const r = runCli(ROOT, 'train', '--steps=2', '--evalEvery=0', '--evalBatches=1', '--quiet', '--position=rotary', `--checkpoint=${ROOT}${CHECKPOINT}`);
    assert.equal(r.code, 0, r.stderr);
    server = await serveRoot(ROOT, {
      '/page.html': (prefix, query) => page(prefix, 'dist/test/browser/kernel-checks.js', `threads=${Number(query.get('threads') ?? '2')}`),
      '/session.html': () => '<!doctype html><meta charset="utf-8"><title>session</title><link rel="icon" href="data:,"><script type="module" src="' + SESSION_PAGE + '"></script>',
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

  // A timeout: leaving a generation early must stop it, or the next call would wait behind 100,000 tokens.
  it('a session from the page: a checkpoint fetched and loaded, tokens streamed equal to Node\'s, abort, a saved checkpoint that loads back in Node, a bad file refused', { timeout: 120_000 }, async () => {
    const p = await browser.newPage(), errors: string[] = [];
    p.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    p.on('pageerror', (e) => errors.push(e.message));
    const prompt = [2, 5, 9, 4, 7, 3, 8, 6];
    try {
      await p.goto(`${base}/isolated/session.html`);
      await p.waitForFunction(() => typeof (globalThis as unknown as { runSession?: unknown }).runSession === 'function');
      const at = (path: string): string => `${base}/isolated/${path}`;
      const r = await p.evaluate((run) => (globalThis as unknown as { runSession: (x: unknown) => Promise<unknown> }).runSession(run),
        { checkpointUrl: at(CHECKPOINT), sessionWorker: at(SESSION_WORKER), kernels: at('build/'), poolWorker: at('dist/src/platform/browser/pool-worker.js'), prompt }) as {
        info: { threads: number }; summary: { architecture: string; parameters: number }; streamed: number[]; aborted: number; abortError: string; again: number[];
        saved: number[]; badFile: string; afterBreak: number[]; both: [number[], string]; afterBadFile: number[];
      };
      // Node, the same checkpoint, seed and thread count, all in wasm.
      const engine = await createEngine({ threads: 2, blas: 'off' });
      try {
        const want = (bytes: Uint8Array): number[] => {
          const model = decodeCheckpoint(bytes, 'tiny').build(engine) as PerceiverAR;
          const tokens = Array.from(generate(model, prompt, { maxNewTokens: 20, temperature: 1, topK: 0, topP: 1, seed: 4, stopAtEos: false, cached: true }).tokens);
          model.dispose();
          return tokens;
        };
        const node = want(readFileSync(`${ROOT}${CHECKPOINT}`));
        assert.equal(r.info.threads, 2);
        assert.equal(r.summary.architecture, 'perceiver-ar');
        assert.equal(r.streamed.length, 20);
        assert.deepEqual(r.streamed, node, 'the page streams the tokens Node generates');
        assert.deepEqual([r.aborted, r.abortError], [3, 'AbortError: the call was aborted']);
        assert.deepEqual(r.again, node, 'after an abort the session generates again');
        assert.deepEqual(want(Uint8Array.from(r.saved)), node, 'the saved checkpoint loads back in Node');
        assert.match(r.badFile, /broken\.safetensors/);
        assert.deepEqual(r.afterBadFile, node, 'the model loaded before a refused file stays');
        assert.deepEqual(r.afterBreak, node, 'leaving a generation early stops it; the next call is unaffected');
        assert.deepEqual(r.both, [node, 'AbortError'], 'a call aborted while waiting its turn ends, the one before it completes');
      } finally {
        await engine.dispose();
      }
      assert.deepEqual(errors, []);
    } finally {
      await p.close();
    }
  });

  it('training from the page: the copy task\'s loss falls; a long run stopped from the page keeps its model, which generates and saves', async () => {
    const p = await browser.newPage(), errors: string[] = [];
    p.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    p.on('pageerror', (e) => errors.push(e.message));
    try {
      await p.goto(`${base}/isolated/session.html`);
      await p.waitForFunction(() => typeof (globalThis as unknown as { runTraining?: unknown }).runTraining === 'function');
      const at = (path: string): string => `${base}/isolated/${path}`;
      const r = await p.evaluate((run) => (globalThis as unknown as { runTraining: (x: unknown) => Promise<unknown> }).runTraining(run),
        { sessionWorker: at(SESSION_WORKER), kernels: at('build/'), poolWorker: at('dist/src/platform/browser/pool-worker.js') }) as {
        losses: number[]; summary: { steps: number; stopped: boolean; validationBitsPerToken: number }; seen: number;
        stoppedSummary: { steps: number; stopped: boolean }; trained: number[]; afterRestart: number[]; saved: number;
      };
      assert.equal(r.losses.length, 150);
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
      const first = mean(r.losses.slice(0, 10)), last = mean(r.losses.slice(-10));
      // 150 of the preset's 3,000 steps (warm-up included): from ln 259 ≈ 5.56 nats down by a quarter nat and more.
      assert.ok(last < first - 0.25, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
      assert.deepEqual([r.summary.steps, r.summary.stopped], [150, false]);
      assert.ok(Number.isFinite(r.summary.validationBitsPerToken));
      assert.equal(r.stoppedSummary.stopped, true);
      assert.ok(r.stoppedSummary.steps >= 5 && r.stoppedSummary.steps < 50, `stopped after ${r.stoppedSummary.steps} steps`);
      assert.equal(r.trained.length, 10);
      assert.deepEqual(r.afterRestart, r.trained, 'a restarted worker comes back with the trained model');
      assert.ok(r.saved > 1000);
      assert.deepEqual(errors, []);
    } finally {
      await p.close();
    }
  });

  it('a page without the isolation headers: one thread, a note saying why, the same results', async () => {
    const { result, errors } = await run('/plain/page.html?threads=2');
    assert.equal(result.error, undefined, result.error);
    assert.equal(result.isolated, false);
    assert.equal(result.threads, 1);
    assert.ok(result.notes.some((n) => /^1 thread instead of 2: the page is not cross-origin isolated \(serve it with Cross-Origin-Opener-Policy: same-origin/.test(n)), result.notes.join('; '));
    assert.equal(result.checks.length, 11);
    for (const c of result.checks) assert.ok(c.worst < 2e-4, `${c.name}: worst relative error ${c.worst}`);
    assert.deepEqual(errors, []);
  });
});
