import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { failsClearly, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'perceiver-ar-cli-'));
const cli = (...args: string[]) => runCli(dir, ...args);

describe('perceiver-ar CLI', () => {
  const text = join(dir, 'tiny.txt');
  writeFileSync(text, 'hello perceiver ar, '.repeat(40));
  const tiny = ['--contextLength=16', '--numLatents=4', '--numLayers=1', '--width=16', '--embedDim=16', '--numHeads=2', '--crossAttendHeads=2',
    '--batchSize=2', '--evalEvery=5', '--evalBatches=1', '--crossAttendDropout=0.5', '--warmupSteps=1'];

  it('trains on a text file, writes a checkpoint, resumes, evaluates and generates', () => {
    const ckpt = join(dir, 'text.safetensors');
    const train = cli('train', '--preset=enwik8-small', `--dataPath=${text}`, ...tiny, '--steps=6', `--checkpoint=${ckpt}`, '--json');
    assert.equal(train.code, 0, train.stderr);
    const metrics = JSON.parse(train.stdout.trim().split('\n').pop()!);
    assert.equal(metrics.steps, 6);
    assert.ok(Number.isFinite(metrics.bitsPerToken));
    const resumed = cli('train', `--resume=${ckpt}`, '--steps=8', '--json');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(JSON.parse(resumed.stdout.trim().split('\n').pop()!).steps, 8);
    const ev = cli('eval', `--checkpoint=${ckpt}`, '--mode=exact', '--maxTargets=20', '--json');
    assert.equal(ev.code, 0, ev.stderr);
    assert.equal(JSON.parse(ev.stdout).tokens, 20);
    // Without a terminal, progress is plain lines of done/total with an ETA that is never negative.
    const plain = cli('eval', `--checkpoint=${ckpt}`, '--mode=exact', '--maxTargets=20');
    assert.equal(plain.code, 0, plain.stderr);
    const progress = plain.stderr.trim().split('\n').filter((l) => !l.startsWith('perceiver-ar: note:'));
    for (const l of progress) {
      const m = /^eval (\d+)\/(\d+)  ETA \d+s$/.exec(l);
      assert.ok(m && Number(m[1]) <= Number(m[2]) && Number(m[2]) > 1, `progress line: ${l}`);
    }
    const gen = cli('generate', `--checkpoint=${ckpt}`, '--prompt=hello', '--maxNewTokens=5', '--seed=1', '--ids');
    assert.equal(gen.code, 0, gen.stderr);
    assert.equal(gen.stdout.trim().split(/\s+/).length, 5);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
    // Weights: generate decodes bf16 by default, f32 on request; eval is f32 unless asked; a bad value is one line.
    const genJson = (...extra: string[]) => JSON.parse(cli('generate', `--checkpoint=${ckpt}`, '--prompt=hello', '--maxNewTokens=5', '--json', ...extra).stdout);
    const g = genJson();
    assert.equal(g.weights, 'bf16');
    assert.ok(g.firstTokenSeconds > 0 && g.firstTokenSeconds <= g.seconds && g.stepsPerSecond > 0, JSON.stringify(g));
    assert.equal(genJson('--weights=f32').weights, 'f32');
    const evBf16 = cli('eval', `--checkpoint=${ckpt}`, '--mode=exact', '--maxTargets=20', '--json', '--weights=bf16');
    assert.equal(evBf16.code, 0, evBf16.stderr);
    const [f32Eval, bf16Eval] = [JSON.parse(ev.stdout), JSON.parse(evBf16.stdout)];
    assert.deepEqual([f32Eval.weights, bf16Eval.weights], ['f32', 'bf16']);
    assert.notEqual(bf16Eval.bitsPerToken, f32Eval.bitsPerToken, 'the rounded weights give (slightly) different numbers');
    assert.ok(Math.abs(bf16Eval.bitsPerToken - f32Eval.bitsPerToken) < 0.01, `${bf16Eval.bitsPerToken} vs ${f32Eval.bitsPerToken}`);
    failsClearly(cli('generate', `--checkpoint=${ckpt}`, '--weights=f16'), /--weights=f16 is invalid: .*f32.*bf16/);
  });

  it('Transformer-XL: trains, resumes, evaluates and describes from the CLI; generate refuses it clearly', () => {
    const ckpt = join(dir, 'xl.safetensors');
    const xl = ['--contextLength=24', '--segmentLength=8', '--memoryLength=8', '--numLayers=1', '--width=16', '--numHeads=2',
      '--maxWavelength=32', '--batchSize=2', '--evalEvery=5', '--evalBatches=1', '--warmupSteps=1'];
    const train = cli('train', '--preset=transformer-xl-enwik8-small', `--dataPath=${text}`, ...xl, '--steps=6', `--checkpoint=${ckpt}`, '--json');
    assert.equal(train.code, 0, train.stderr);
    assert.equal(JSON.parse(train.stdout.trim().split('\n').pop()!).steps, 6);
    const resumed = cli('train', `--resume=${ckpt}`, '--steps=8', '--json');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(JSON.parse(resumed.stdout.trim().split('\n').pop()!).steps, 8);
    const ev = cli('eval', `--checkpoint=${ckpt}`, '--maxTargets=40', '--json');
    assert.equal(ev.code, 0, ev.stderr);
    const r = JSON.parse(ev.stdout);
    assert.equal(r.mode, 'windows');
    assert.ok(r.tokens >= 40 && Number.isFinite(r.bitsPerToken), ev.stdout);
    failsClearly(cli('eval', `--checkpoint=${ckpt}`, '--stride=4'), /unknown option --stride/);
    const info = cli('info', `--checkpoint=${ckpt}`, '--json');
    assert.equal(info.code, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout).architecture, 'transformer-xl');
    failsClearly(cli('generate', `--checkpoint=${ckpt}`, '--prompt=hi'), /holds a transformer-xl model; this needs a Perceiver AR checkpoint/);
    failsClearly(cli('train', '--preset=transformer-xl-enwik8-small', `--dataPath=${text}`, '--segmentLength=0'), /segmentLength must be an integer ≥ 1/);
  });

  it('info prints the config, parameter count and FLOPs per token', () => {
    const r = cli('info', '--preset=mirrored-32', '--json');
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.ok(info.parameters > 1e6 && info.flopsPerToken > 0);
  });

  it('missing and empty data files', () => {
    failsClearly(cli('train', '--preset=enwik8-small', '--dataPath=nope.txt', ...tiny), /data file nope\.txt does not exist/);
    writeFileSync(join(dir, 'empty.txt'), '');
    failsClearly(cli('train', '--preset=enwik8-small', '--dataPath=empty.txt', ...tiny), /data file empty\.txt is empty/);
    failsClearly(cli('train', '--preset=enwik8-small', ...tiny), /dataPath is required when data is 'text'/);
  });

  it('invalid configuration values and unknown keys', () => {
    failsClearly(cli('train', '--numLatents=40', '--steps=1'), /numLatents \(40\) must be ≤ contextLength \(32\)/);
    failsClearly(cli('train', '--position=spiral'), /position must be one of rotary, sinusoidal, learned, learned\+rotary, got 'spiral'/);
    failsClearly(cli('train', '--stepz=3'), /unknown option --stepz\. Allowed:/, 5);
    failsClearly(cli('train', '--steps=many'), /--steps=many is invalid: steps takes a number/);
    failsClearly(cli('fly'), /unknown command 'fly'; available: train, generate, eval, classify, info, import, export, pianoroll/);
  });

  it('broken checkpoints: corrupt header, wrong version, truncated data', () => {
    const good = join(dir, 'good.safetensors');
    assert.equal(cli('train', '--steps=1', '--evalEvery=0', `--checkpoint=${good}`, '--quiet').code, 0);
    const bytes = readFileSync(good);
    const corrupt = Uint8Array.from(bytes);
    corrupt[8] = 0x21;
    writeFileSync(join(dir, 'corrupt.safetensors'), corrupt);
    failsClearly(cli('generate', '--checkpoint=corrupt.safetensors'), /corrupt header: not valid JSON/);
    writeFileSync(join(dir, 'truncated.safetensors'), bytes.subarray(0, bytes.length - 64));
    failsClearly(cli('eval', '--checkpoint=truncated.safetensors'), /truncated tensor data/);
    const header = bytes.toString('latin1').replace('"formatVersion":"1"', '"formatVersion":"7"');
    writeFileSync(join(dir, 'v7.safetensors'), Buffer.from(header, 'latin1'));
    failsClearly(cli('generate', '--checkpoint=v7.safetensors'), /format version 7 is not supported/);
    failsClearly(cli('generate'), /generate needs --checkpoint=PATH/);
  });

  it('warm-starts a longer copy task from a checkpoint (--initFrom) at offset positions', () => {
    const short = join(dir, 'copy16.safetensors');
    const copy = ['--preset=mirrored-32-small', '--maxPosition=65', '--evalEvery=0', '--evalBatches=1', '--quiet', '--json'];
    const first = cli('train', ...copy, '--contextLength=16', '--numLatents=8', '--positionOffset=24', '--steps=3', `--checkpoint=${short}`);
    assert.equal(first.code, 0, first.stderr);
    const second = cli('train', ...copy, '--contextLength=32', '--positionOffset=16', '--steps=2', `--initFrom=${short}`);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(JSON.parse(second.stdout.trim().split('\n').pop()!).steps, 2, 'a warm start begins at step 0');
    failsClearly(cli('train', ...copy, '--contextLength=32', '--positionOffset=40', '--steps=1'), /reaches position 72, beyond maxPosition 65 of the model's sinusoidal position table; raise maxPosition to at least 72/);
    failsClearly(cli('train', ...copy, '--width=32', '--embedDim=32', '--steps=1', `--initFrom=${short}`), /has shape \[.*\] F32, the new model needs/);
    failsClearly(cli('train', ...copy, '--steps=1', `--initFrom=${short}`, `--resume=${short}`), /give one/);
    failsClearly(cli('train', '--preset=enwik8-small', `--dataPath=${text}`, '--positionOffset=3', '--steps=1'), /positionOffset applies to the mirrored task only/);
  });

  it('trains a parity classifier (AdaTape) and rejects unknown classifier options', () => {
    const r = cli('train', '--task=parity', '--model=adatape', '--length=6', '--width=16', '--numHeads=2', '--numLayers=1', '--batchSize=8',
      '--steps=3', '--evalEvery=0', '--evalBatches=1', '--json');
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(m.model, 'adatape');
    assert.equal(m.steps, 3);
    assert.ok(m.tapeMean >= 1 && m.tapeMean <= 10, `tape mean ${m.tapeMean}`);
    assert.match(r.stderr, /tape mean [\d.]+, variance [\d.]+/);
    failsClearly(cli('train', '--task=parity', '--model=adatape', '--bogus=1'), /unknown option --bogus for a classifier run/);
    failsClearly(cli('train', '--task=parity', '--model=adatape', '--readLayer=9'), /readLayer \(9\) must be < numLayers/);
    failsClearly(cli('train', '--task=copy', '--model=adatape'), /--task=copy is not available/);
  });

  it('classifier checkpoints: a resumed parity run ends exactly where an uninterrupted one does; eval, info; generate refuses it', () => {
    const run = ['train', '--task=parity', '--model=adatape', '--length=6', '--width=16', '--numHeads=2', '--numLayers=1', '--batchSize=8',
      '--evalEvery=0', '--evalBatches=2', '--json'];
    const whole = join(dir, 'parity-whole.safetensors'), part = join(dir, 'parity-part.safetensors');
    const a = cli(...run, '--steps=6', `--checkpoint=${whole}`);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(cli(...run, '--steps=3', `--checkpoint=${part}`).code, 0);
    const b = cli('train', `--resume=${part}`, '--steps=6', `--checkpoint=${part}`, '--json');
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /resuming .* at step 3 of 6/);
    const ma = JSON.parse(a.stdout.trim().split('\n').pop()!), mb = JSON.parse(b.stdout.trim().split('\n').pop()!);
    assert.equal(mb.stepsThisRun, 3);
    assert.equal(mb.crossEntropy, ma.crossEntropy);
    const ta = decodeSafetensors(readFileSync(whole), 'a').tensors, tb = decodeSafetensors(readFileSync(part), 'b').tensors;
    assert.ok(ta.size > 10 && [...ta.keys()].some((k) => k.startsWith('optimizer.')));
    for (const [name, t] of ta) assert.deepEqual(tb.get(name)!.data, t.data, name);
    const ev = cli('eval', `--checkpoint=${whole}`, '--json');
    assert.equal(ev.code, 0, ev.stderr);
    const me = JSON.parse(ev.stdout.trim().split('\n').pop()!);
    assert.equal(me.accuracy, ma.accuracy, 'eval uses the run\'s test set');
    assert.equal(me.examples, 16);
    const info = cli('info', `--checkpoint=${whole}`);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /architecture\s+sequence-classifier/);
    failsClearly(cli('generate', `--checkpoint=${whole}`), /holds a sequence-classifier model; this needs a Perceiver AR checkpoint/);
    failsClearly(cli('train', `--resume=${whole}`, '--width=32'), /--width changes the model/);
    failsClearly(cli('eval', `--checkpoint=${whole}`, '--mode=exact'), /unknown option --mode for a classifier eval/);
  });

  it('a failed checkpoint write leaves nothing behind', () => {
    failsClearly(cli('train', '--steps=1', '--evalEvery=0', '--quiet', `--checkpoint=${join(dir, 'missing-dir', 'x.safetensors')}`), /missing-dir does not exist/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-') || f === 'missing-dir'), []);
  });
});
