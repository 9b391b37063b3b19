// The playground (`npm run playground`) in Chromium, used as a person would: a live training run
// with its loss chart, stop and resume, the checkpoint download (loaded back in Node); checkpoints
// of every kind loaded from the picker, each command's form built from its data's modality —
// music generated from a prompt with its piano roll, playback and a .mid download equal to the
// command line's, image samples on a canvas equal to the command line's PNG, a drawn image
// classified by AdaTape with the heatmap of the patches it read, the latent-count knob; a damaged
// file gives a visible message and the page keeps working; no console errors. Skipped with the
// reason where Chromium is missing; mandatory in CI.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPlayground } from '../playground/serve.js';
import { notesToMidi, midiToNotes } from '../src/data/midi.js';
import { syntheticMusicPieces } from '../src/data/modalities/music.js';
import { encodePng } from '../src/data/png.js';
import { Rng } from '../src/tensor/rng.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import { runCli } from './helpers/cli.js';
import { rightBar, writeBarImages } from './helpers/bar-images.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM} (apt-get install chromium; .ci/run does)`;
if (skip && process.env.CI) throw new Error(`CI: ${skip}`);
/** Screenshots of each test, for people to look at (docs/browser.md shows some). */
const SHOTS = process.env.PLAYGROUND_SHOTS ?? tmpdir();

type Page = import('playwright-core').Page;

describe('the playground in Chromium', { skip }, () => {
  let server: { url: string; close(): Promise<void> }, browser: import('playwright-core').Browser;
  const dir = mkdtempSync(join(tmpdir(), 'playground-'));
  const file = (name: string): string => join(dir, name);
  before(async () => {
    server = await startPlayground();
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM });
    const quick = ['--numLayers=1', '--width=32', '--embedDim=32', '--evalBatches=1', '--evalEvery=0', '--quiet'];
    for (const args of [['--preset=synthetic-music', ...quick, '--steps=3', `--checkpoint=${file('music.safetensors')}`],
      ['--preset=synthetic-rgb-32', ...quick, '--numLatents=32', '--steps=2', `--checkpoint=${file('rgb.safetensors')}`],
      ['--steps=100', '--evalEvery=0', '--quiet', `--checkpoint=${file('mirrored.safetensors')}`]]) {
      const r = runCli(dir, 'train', ...args);
      assert.equal(r.code, 0, r.stderr);
    }
    // Labelled 8×8 images (a bright bar on the left: class 0, on the right: class 1) and an AdaTape classifier reading a bank of 2×2 patches.
    const rng = new Rng(4);
    writeBarImages(dir, 'train', 64, rng);
    writeBarImages(dir, 't10k', 16, rng);
    const r = runCli(dir, 'train', '--task=images', `--dataPath=${dir}`, '--patchSize=4', '--bankPatchSize=2', '--width=16', '--numLayers=1', '--steps=3',
      '--batchSize=8', '--evalBatches=1', '--quiet', `--checkpoint=${file('ada.safetensors')}`);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A fresh playground page, its console errors collected. */
  async function open(): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1100 }, acceptDownloads: true }), errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/isolated/playground/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    return { page, errors };
  }
  const loadCheckpoint = async (page: Page, name: string): Promise<void> => {
    await page.setInputFiles('#file', file(name));
    await page.waitForFunction(`document.getElementById('configLine').textContent.startsWith(${JSON.stringify(name)})`, undefined, { timeout: 60_000 });
  };
  /** Runs a command from its panel and waits for it to end; fails with the page's message if it failed. */
  const runPanel = async (page: Page, command: string): Promise<void> => {
    await page.click(`#run-${command}`);
    await page.waitForFunction(`/done in/.test(document.getElementById('status-${command}').textContent) || document.getElementById('message').textContent !== ''`,
      undefined, { timeout: 120_000 });
    assert.equal(await page.textContent('#message'), '', `${command} failed`);
  };
  /** Pixels of a canvas that are not white, and its distinct colours (a drawn figure, not a blank one). */
  const inked = (page: Page, selector: string): Promise<{ ink: number; colours: number }> => page.evaluate(`(() => {
    const c = document.querySelector(${JSON.stringify(selector)}), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, colours = new Set();
    let ink = 0;
    for (let i = 0; i < d.length; i += 4) { if (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250) ink++; colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]); }
    return { ink, colours: colours.size };
  })()`);
  /**
   * The page's engine as command-line options: its thread count (decoding's reductions are split
   * by thread, so sums round differently at other counts) and the engine's own kernels (Node
   * would otherwise take OpenBLAS's products).
   */
  const sameEngine = async (page: Page): Promise<string[]> => [`--threads=${/(\d+) threads?/.exec(await page.textContent('#engine') ?? '')![1]}`, '--blas=off'];
  const download = async (page: Page, selector: string, name: string): Promise<Uint8Array> => {
    const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
    await d.saveAs(file(name));
    return new Uint8Array(readFileSync(file(name)));
  };

  it('trains with a live chart, stops, resumes to more steps, downloads a checkpoint with its training state, generates, and reports a bad file', async () => {
    const { page, errors } = await open();
    try {
      // The page takes the browser's core count (capped at 64): threads on an isolated page.
      const cores = await page.evaluate('Math.min(navigator.hardwareConcurrency, 64)') as number;
      assert.match(await page.textContent('#engine') ?? '', new RegExp(`engine: wasm \\(relaxed-simd\\), ${cores} threads?`));
      await page.fill('#steps', '60');
      await page.click('#train');
      await page.waitForFunction("/done at step 60/.test(document.getElementById('trainStatus').textContent)", undefined, { timeout: 120_000 });
      // Resumed to 90 steps in all: it continues at step 61 (the chart keeps the first run's losses).
      await page.fill('#steps', '90');
      await page.click('#resume');
      await page.waitForFunction("/done at step 90/.test(document.getElementById('trainStatus').textContent)", undefined, { timeout: 120_000 });
      assert.match(await page.textContent('#configLine') ?? '', /step 90/);
      assert.equal(await page.getAttribute('#chart', 'data-first-step'), '61', 'the resumed run continued at step 61');
      assert.ok((await inked(page, '#chart')).ink > 200, 'the loss curve is drawn');
      // The download, with its training state, loads in Node and can be resumed there.
      await page.check('#withState');
      const bytes = await download(page, '#download', 'trained.safetensors');
      const { info } = decodeCheckpoint(bytes, 'trained.safetensors');
      assert.deepEqual([info.architecture, info.state?.step, info.hasOptimizer], ['perceiver-ar', 90, true]);
      const resumed = runCli(dir, 'train', `--resume=${file('trained.safetensors')}`, '--steps=92', '--quiet', `--checkpoint=${file('resumed.safetensors')}`);
      assert.equal(resumed.code, 0, resumed.stderr);
      // Generation from the trained model: its ids stream into the page.
      await page.fill('[data-option=promptIds]', '2 5 9');
      await page.fill('[data-option=maxNewTokens]', '12');
      await runPanel(page, 'generate');
      assert.equal(await page.textContent('#outputs-generate tr:has(td:text-is("tokens")) td:nth-child(2)'), '12');
      // After a generation (its weights rounded to bf16) a download without the box is the float32 model without optimizer or state.
      await page.uncheck('#withState');
      const plain = decodeCheckpoint(await download(page, '#download', 'plain.safetensors'), 'plain.safetensors').info;
      assert.deepEqual([plain.state, plain.hasOptimizer], [null, false]);
      await page.screenshot({ path: join(SHOTS, 'playground-train.png'), fullPage: true });
      // A damaged checkpoint: one visible line naming it; the page keeps working.
      await page.setInputFiles('#file', { name: 'broken.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from([1, 2, 3, 4]) });
      await page.waitForFunction("document.getElementById('message').textContent !== ''");
      assert.match(await page.textContent('#message') ?? '', /broken\.safetensors/);
      await page.evaluate("document.getElementById('message').textContent = ''");
      await runPanel(page, 'generate');
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });

  it('music: continues a prompt, draws the piano roll, plays it and downloads the .mid the command line writes', async () => {
    const { page, errors } = await open();
    try {
      await loadCheckpoint(page, 'music.safetensors');
      writeFileSync(file('piece.mid'), notesToMidi(syntheticMusicPieces('validation')[0]!.notes));
      // The prompt dropped on the page goes to the form's prompt field.
      await page.setInputFiles('#file', file('piece.mid'));
      assert.equal(await page.evaluate("document.querySelector('#panel-generate input[data-option=prompt]').files[0].name"), 'piece.mid');
      await page.fill('[data-option=promptSeconds]', '2');
      await page.fill('[data-option=seconds]', '4');
      await page.fill('#panel-generate [data-option=seed]', '3');
      await runPanel(page, 'generate');
      const roll = await inked(page, 'canvas[data-file="generated.png"]');
      assert.ok(roll.ink > 500 && roll.colours > 4, `piano roll ${JSON.stringify(roll)}`);
      await page.click('button.play[data-file="generated.mid"]');
      await page.waitForFunction("Number(document.querySelector('button.play').dataset.scheduled) > 0");
      await page.click('button.play[data-file="generated.mid"]');
      const mid = await download(page, 'a[download="generated.mid"]', 'page.mid');
      const cli = runCli(dir, 'generate', `--checkpoint=${file('music.safetensors')}`, `--prompt=${file('piece.mid')}`, '--promptSeconds=2', '--seconds=4', '--seed=3',
        `--out=${file('cli.mid')}`, '--quiet', ...await sameEngine(page));
      assert.equal(cli.code, 0, cli.stderr);
      assert.deepEqual(mid, new Uint8Array(readFileSync(file('cli.mid'))), 'the page writes the .mid the command line writes');
      assert.ok(midiToNotes(mid, 'page.mid').notes.length > 0);
      // The downloaded output given back as the prompt (the same name as the output) works.
      writeFileSync(file('generated.mid'), mid);
      await page.setInputFiles('#file', file('generated.mid'));
      await runPanel(page, 'generate');
      assert.match(await page.textContent('#text-generate') ?? '', /\(\d+ from the prompt\)/);
      await page.screenshot({ path: join(SHOTS, 'playground-music.png'), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });

  it('images: a grid of samples on a canvas, the PNG the command line writes; AdaTape classifies a drawn image and shows the patches it read', async () => {
    const { page, errors } = await open();
    try {
      await loadCheckpoint(page, 'rgb.safetensors');
      await page.fill('[data-option=count]', '2');
      await runPanel(page, 'generate');
      const grid = await inked(page, 'canvas[data-file="samples.png"]');
      assert.ok(grid.colours > 100, `sample grid ${JSON.stringify(grid)}`);
      const png = await download(page, 'a[download="samples.png"]', 'page-samples.png');
      assert.equal(runCli(dir, 'generate', `--checkpoint=${file('rgb.safetensors')}`, '--count=2', `--out=${file('cli-samples.png')}`, '--quiet', ...await sameEngine(page)).code, 0);
      assert.deepEqual(png, new Uint8Array(readFileSync(file('cli-samples.png'))));
      // 1,024 images (minutes of work) stopped once they are under way: the run ends at once, and the next one works.
      await page.fill('[data-option=count]', '1024');
      await page.click('#run-generate');
      await page.waitForFunction("/^generate: /.test(document.getElementById('status-generate').textContent)", undefined, { timeout: 30_000 });
      await page.click('#stop-generate');
      await page.waitForFunction("/stopped/.test(document.getElementById('status-generate').textContent)", undefined, { timeout: 5_000 });
      await page.fill('[data-option=count]', '1');
      await runPanel(page, 'generate');
      await page.screenshot({ path: join(SHOTS, 'playground-images.png'), fullPage: true });

      await loadCheckpoint(page, 'ada.safetensors');
      const pad = (await page.locator('canvas.pad').boundingBox())!;
      await page.mouse.move(pad.x + pad.width * 0.8, pad.y + 5);
      await page.mouse.down();
      await page.mouse.move(pad.x + pad.width * 0.8, pad.y + pad.height - 5, { steps: 10 });
      await page.mouse.up();
      await runPanel(page, 'classify');
      const heat = await inked(page, 'canvas[data-file="heatmap.png"]');
      assert.ok(heat.ink > 1000 && heat.colours > 3, `heatmap ${JSON.stringify(heat)}`);
      assert.equal(await page.locator('#outputs-classify table.probabilities tr').count(), 2);
      assert.match(await page.textContent('#text-classify') ?? '', /drawing\.png: fitted to the model's 8×8 grey images \(RGB → grey, 196×196 → 8×8\)/);
      await page.screenshot({ path: join(SHOTS, 'playground-adatape.png'), fullPage: true });
      // An uploaded image gives what perceiver-ar classify gives.
      writeFileSync(file('bar.png'), encodePng({ shape: { width: 8, height: 8, channels: 1 }, pixels: rightBar() }));
      await page.setInputFiles('#file', file('bar.png'));
      await runPanel(page, 'classify');
      const cli = runCli(dir, 'classify', `--checkpoint=${file('ada.safetensors')}`, `--image=${file('bar.png')}`, '--json', ...await sameEngine(page));
      assert.equal(cli.code, 0, cli.stderr);
      const want = JSON.parse(cli.stdout) as { probabilities: string };
      assert.equal(await page.textContent('#outputs-classify tr:has(td:text-is("probabilities")) td:nth-child(2)'), want.probabilities);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });

  it('the latent-count knob measures the score and speeds at each N′ it stops at', async () => {
    const { page, errors } = await open();
    try {
      await loadCheckpoint(page, 'mirrored.safetensors');
      assert.match(await page.textContent('#latentsLabel') ?? '', /N′ = 16 \(trained\)/);
      for (const n of ['8', '20']) {
        await page.locator('#latents').fill(n);
        await page.waitForFunction(`document.querySelector('#knobTable tr[data-latents="${n}"]') !== null || document.getElementById('message').textContent !== ''`,
          undefined, { timeout: 60_000 });
      }
      assert.equal(await page.textContent('#message'), '');
      const rows = await page.evaluate("Array.from(document.querySelectorAll('#knobTable tbody tr'), (tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent))") as string[][];
      assert.deepEqual(rows.map((r) => r[0]), ['8', '20']);
      for (const r of rows) {
        assert.match(r[1]!, /^\d+\.\d{3} bits\/token$/);
        assert.ok(Number(r[2]) > 0 && Number(r[3]) > 0, JSON.stringify(r));
      }
      await page.screenshot({ path: join(SHOTS, 'playground-knob.png'), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
});
