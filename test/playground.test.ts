// The playground (`npm run playground`) in Chromium, used as a person would: the engine line, a
// live training run with its loss chart and status, stop, the checkpoint download (loaded back in
// Node), generation from the trained model, and a damaged file chosen in the picker (a visible
// message; the page keeps working). Skipped with the reason where Chromium is missing; mandatory in CI.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPlayground } from '../playground/serve.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM} (apt-get install chromium; .ci/run does)`;
if (skip && process.env.CI) throw new Error(`CI: ${skip}`);

describe('the playground in Chromium', { skip }, () => {
  let server: { url: string; close(): Promise<void> }, browser: import('playwright-core').Browser;
  before(async () => {
    server = await startPlayground();
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('trains with a live chart, downloads a checkpoint that loads in Node, generates, and reports a bad file without dying', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1100 }, acceptDownloads: true }), errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(`${server.url}/isolated/playground/`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
      // The page takes the browser's core count (capped at 64): threads on an isolated page.
      const cores = await page.evaluate('Math.min(navigator.hardwareConcurrency, 64)') as number;
      assert.match(await page.textContent('#engine') ?? '', new RegExp(`engine: wasm \\(relaxed-simd\\), ${cores} threads?`));
      await page.fill('#steps', '60');
      await page.click('#train');
      await page.waitForFunction("/done at step 60/.test(document.getElementById('trainStatus').textContent)", undefined, { timeout: 120_000 });
      // The chart: a drawn line (the blue of the loss curve) on the canvas.
      const blue = await page.evaluate(`(() => {
        const c = document.getElementById('chart'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 150 && d[i] < 120) n++;
        return n;
      })()`) as number;
      assert.ok(blue > 200, `loss curve pixels: ${blue}`);
      // The download loads back in Node.
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
      const file = join(tmpdir(), `playground-${process.pid}.safetensors`);
      await download.saveAs(file);
      const { info } = decodeCheckpoint(new Uint8Array(readFileSync(file)), file);
      assert.equal(info.architecture, 'perceiver-ar');
      // Generation from the trained model streams into the page.
      await page.fill('#tokens', '12');
      await page.click('#generate');
      await page.waitForFunction("/ — (done|stopped at EOS)$/.test(document.getElementById('generateStatus').textContent)", undefined, { timeout: 60_000 });
      const status = await page.textContent('#generateStatus') ?? '', count = Number(/^(\d+) tokens/.exec(status)?.[1]);
      assert.ok(count >= 1 && count <= 12, status);
      assert.equal((await page.textContent('#output'))!.trim().split(/\s+/).length, count, 'one id shown per token');
      await page.screenshot({ path: join(tmpdir(), 'playground.png'), fullPage: true });
      // A damaged checkpoint: one visible line naming it; the page keeps working.
      await page.setInputFiles('#file', { name: 'broken.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from([1, 2, 3, 4]) });
      await page.waitForFunction("document.getElementById('message').textContent !== ''");
      assert.match(await page.textContent('#message') ?? '', /broken\.safetensors/);
      await page.evaluate("document.getElementById('generateStatus').textContent = ''");
      await page.click('#generate');
      await page.waitForFunction("/ — (done|stopped at EOS)$/.test(document.getElementById('generateStatus').textContent)", undefined, { timeout: 60_000 });
      assert.ok(Number(/^(\d+) tokens/.exec(await page.textContent('#generateStatus') ?? '')?.[1]) >= 1, 'tokens came back after the bad file');
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
});
