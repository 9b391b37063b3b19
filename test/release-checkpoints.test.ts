// Checkpoints written by release 0.1.0 (test/fixtures/release-0.1.0, made by its make.sh) still
// load with today's code — every kind of data — and evaluate to the figures that release printed.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { failsClearly, runCli } from './helpers/cli.js';

const dir = fileURLToPath(new URL('../../test/fixtures/release-0.1.0/', import.meta.url));
const expected = {
  ...JSON.parse(readFileSync(`${dir}expected.json`, 'utf8')),
  ...JSON.parse(readFileSync(`${dir}unused-keys.json`, 'utf8')),
} as Record<string, Record<string, unknown>>;
/** Timings differ run to run; everything else must match. */
const TIMING = new Set(['seconds', 'examplesPerSecond']);

function evalJson(...args: string[]): Record<string, unknown> {
  const r = runCli(dir, 'eval', ...args, '--json', '--quiet');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

function sameFigures(name: string, got: Record<string, unknown>): void {
  const want = expected[name]!;
  for (const [k, v] of Object.entries(want)) {
    if (TIMING.has(k)) continue;
    // The printed digits (eval prints 6 decimals), and JSON's full precision agrees too.
    if (typeof v === 'number') assert.equal((got[k] as number).toFixed(6), v.toFixed(6), `${name}.${k}`);
    else assert.deepEqual(got[k], v, `${name}.${k}`);
  }
}

describe('checkpoints written by release 0.1.0', () => {
  const cases: [string, string[]][] = [
    ['mirrored', ['--checkpoint=mirrored.safetensors']],
    ['text', ['--checkpoint=text.safetensors']],
    ['textStrided', ['--checkpoint=text.safetensors', '--stride=8', '--numLatents=16']],
    ['ids', ['--checkpoint=ids.safetensors']],
    ['xl', ['--checkpoint=xl.safetensors']],
    ['images', ['--checkpoint=images.safetensors', '--maxImages=1', '--stride=16', '--numLatents=16']],
    ['music', ['--checkpoint=music.safetensors']],
    ['parity', ['--checkpoint=parity.safetensors']],
    ['labelled', ['--checkpoint=labelled.safetensors', '--dataPath=labelled', '--evalBatches=0']],
    // That release stored every data key, used or not, and took a preset's keys for another kind of data.
    ['mirroredUnusedKeys', ['--checkpoint=mirrored-unused-keys.safetensors']],
    ['musicPresetSynthetic', ['--checkpoint=music-preset-synthetic.safetensors']],
  ];
  for (const [name, args] of cases) {
    it(`${name}: eval gives the release's figures`, () => sameFigures(name, evalJson(...args)));
  }

  it('resume, warm-start and generate from the release\'s files', () => {
    const out = mkdtempSync(join(tmpdir(), 'perceiver-ar-release-'));
    for (const [name, extra] of [['text', []], ['parity', []], ['labelled', ['--dataPath=labelled']], ['mirrored-unused-keys', []]] as const) {
      const r = runCli(dir, 'train', `--resume=${name}.safetensors`, '--steps=22', `--checkpoint=${join(out, `${name}.safetensors`)}`, ...extra, '--json', '--quiet');
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.deepEqual([JSON.parse(r.stdout.trim().split('\n').pop()!).steps, JSON.parse(r.stdout.trim().split('\n').pop()!).stepsThisRun], [22, 2], name);
    }
    const warm = runCli(dir, 'train', '--preset=mirrored-32-small', '--initFrom=mirrored.safetensors', '--width=16', '--embedDim=16', '--numHeads=1',
      '--crossAttendHeads=1', '--numLayers=1', '--mlpRatio=2', '--steps=1', '--evalEvery=0', '--evalBatches=1', '--quiet');
    assert.equal(warm.code, 0, warm.stderr);
    const g = runCli(dir, 'generate', '--checkpoint=text.safetensors', '--prompt=the ', '--maxNewTokens=5', '--json');
    assert.equal(g.code, 0, g.stderr);
    assert.equal(JSON.parse(g.stdout.trim()).tokens, 5);
  });

  it('info reads each header and names its data; a labelled-image classifier of that release asks for its images', () => {
    for (const [file, architecture, data] of [['text', 'perceiver-ar', 'text'], ['xl', 'transformer-xl', 'text'], ['parity', 'sequence-classifier', 'parity'],
      ['labelled', 'sequence-classifier', 'labelled-images'], ['music', 'perceiver-ar', 'synthetic-music']] as const) {
      const r = runCli(dir, 'info', `--checkpoint=${file}.safetensors`, '--json');
      assert.equal(r.code, 0, r.stderr);
      const info = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.deepEqual([info.architecture, info.data], [architecture, data], file);
    }
    failsClearly(runCli(dir, 'eval', '--checkpoint=labelled.safetensors'), /this checkpoint classifies images: give --dataPath=DIR/);
  });
});
