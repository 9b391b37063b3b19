// Bad input through the CLI (issue 11's corpus of malformed files and arguments): every case ends
// in one clear line and a non-zero exit, leaves no partial file, and never changes an existing
// checkpoint.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { temporaryPathFor } from '../src/platform/node/files.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../src/io/safetensors.js';
import { failsClearly, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'perceiver-ar-inputs-'));
const cli = (...args: string[]) => runCli(dir, ...args);
const at = (name: string): string => join(dir, name);
const quick = ['--steps=1', '--evalEvery=0', '--evalBatches=1', '--quiet'];

/** A small trained checkpoint (mirrored-32-small, one step, with AdamW moments). */
const good = at('good.safetensors');
{
  const r = cli('train', ...quick, `--checkpoint=${good}`);
  assert.equal(r.code, 0, r.stderr);
}
const goodBytes = readFileSync(good);
const decoded = decodeSafetensors(goodBytes, 'good');

/** A copy of the good checkpoint with tensors or metadata edited, written to `name`. */
function editedCheckpoint(name: string, edit: (t: Map<string, Tensor>, md: Record<string, string>) => void): string {
  const t = new Map(decoded.tensors), md = { ...decoded.metadata };
  edit(t, md);
  writeFileSync(at(name), encodeSafetensors(t, md));
  return at(name);
}
const withValue = (name: string, x: number) => (t: Map<string, Tensor>): void => {
  const old = t.get(name)!, data = Float32Array.from(old.data);
  data.fill(x, 0, 3);
  t.set(name, { ...old, data });
};
const unchanged = (): void => assert.deepEqual(readFileSync(good), goodBytes, 'the existing checkpoint is untouched');

describe('CLI: damaged checkpoints', () => {
  it('NaN / infinite weights: generate, eval and resume refuse with one line naming the tensor', () => {
    const nan = editedCheckpoint('nan.safetensors', withValue('head.w', NaN));
    failsClearly(cli('generate', `--checkpoint=${nan}`, '--maxNewTokens=3'), /tensor 'head\.w' holds 3 non-finite values/);
    failsClearly(cli('eval', `--checkpoint=${nan}`), /tensor 'head\.w' holds 3 non-finite values/);
    failsClearly(cli('train', `--resume=${nan}`, '--steps=2'), /tensor 'head\.w' holds 3 non-finite values/);
    const inf = editedCheckpoint('inf.safetensors', withValue('embed.tokens', Infinity));
    failsClearly(cli('generate', `--checkpoint=${inf}`), /tensor 'embed\.tokens' holds 3 non-finite values \(the first, Infinity/);
    const v = editedCheckpoint('v.safetensors', withValue('optimizer.v.head.w', -1));
    failsClearly(cli('train', `--resume=${v}`, '--steps=2'), /tensor 'optimizer\.v\.head\.w' holds 3 non-finite or negative values/);
  });

  it('huge finite weights: generate and eval fail with one line instead of NaN output; training stops as diverged', () => {
    const huge = editedCheckpoint('huge.safetensors', (t) => {
      for (const name of ['head.w', 'embed.tokens']) {
        const old = t.get(name)!;
        t.set(name, { ...old, data: Float32Array.from(old.data, (x, i) => (i % 2 ? 3e38 : -3e38) + x) });
      }
    });
    failsClearly(cli('generate', `--checkpoint=${huge}`, '--maxNewTokens=3'), /logits for new token 1 are not finite/);
    failsClearly(cli('eval', `--checkpoint=${huge}`), /eval: the loss over \d+ targets is not finite/);
    const before = readFileSync(huge);
    failsClearly(cli('train', `--resume=${huge}`, '--steps=40', '--quiet', `--checkpoint=${huge}`), /training diverged: the last 20 steps \(to step 21\) had a non-finite loss/);
    assert.deepEqual(readFileSync(huge), before, 'nothing was saved over the checkpoint');
  });

  it('malformed files: a null tensor entry, a header length one byte short, trailing bytes', () => {
    const header = JSON.parse(goodBytes.subarray(8, 8 + Number(goodBytes.readBigUInt64LE(0))).toString('utf8'));
    header['head.b'] = null;
    const json = Buffer.from(JSON.stringify(header)), headerLength = Number(goodBytes.readBigUInt64LE(0));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(at('null.safetensors'), Buffer.concat([len, json, goodBytes.subarray(8 + headerLength)]));
    failsClearly(cli('info', '--checkpoint=null.safetensors'), /tensor 'head\.b': its header entry is null, not an object/);
    const short = Buffer.from(goodBytes);
    short.writeBigUInt64LE(goodBytes.readBigUInt64LE(0) - 1n);
    writeFileSync(at('short.safetensors'), short);
    failsClearly(cli('info', '--checkpoint=short.safetensors'), /1 bytes after the last tensor belong to no tensor/);
    writeFileSync(at('trailing.safetensors'), Buffer.concat([goodBytes, Buffer.from('extra')]));
    failsClearly(cli('generate', '--checkpoint=trailing.safetensors'), /5 bytes after the last tensor belong to no tensor/);
  });

  it('a header edited to fewer layers is refused (tensors without a parameter), as --initFrom refuses it', () => {
    const fewer = editedCheckpoint('fewer.safetensors', (_, md) => { md.model = JSON.stringify({ ...JSON.parse(md.model!), numLayers: 0 }); });
    failsClearly(cli('generate', `--checkpoint=${fewer}`), /have no parameter in the model its config describes/);
    failsClearly(cli('train', `--resume=${fewer}`, '--steps=2'), /have no parameter in the model its config describes/);
  });

  it('trainer states that are not states are refused on resume, naming the file', () => {
    for (const [state, message] of [['{}', /has no 'step'/], ['"x"', /is "x", not an object/], ['{"step":"abc"}', /has step "abc"/],
      [JSON.stringify({ step: 1e300, modelRng: 1, dataRng: 1, tokens: 0, elapsedSeconds: 0 }), /has step 1e\+300/],
      [JSON.stringify({ step: 1, modelRng: -1, dataRng: 1, tokens: 0, elapsedSeconds: 0 }), /has modelRng -1/]] as const) {
      const path = editedCheckpoint('state.safetensors', (_, md) => { md.state = state; });
      failsClearly(cli('train', `--resume=${path}`, '--steps=3'), new RegExp(`checkpoint .*state\\.safetensors: the trainer state in its header ${message.source}`));
    }
  });
});

describe('CLI: data files and options', () => {
  it('text data with a vocabulary too small, and the mirrored task with one below its alphabet', () => {
    writeFileSync(at('t.txt'), 'some text for training '.repeat(20));
    failsClearly(cli('train', '--preset=enwik8-small', '--data=text', '--dataPath=t.txt', '--vocabSize=100', ...quick), /text data needs vocabSize ≥ 259/);
    failsClearly(cli('train', '--vocabSize=100', ...quick), /the mirrored task with alphabet 256 needs vocabSize ≥ 259/);
  });

  it('token-id files with PAD inside or ids that would wrap', () => {
    writeFileSync(at('pad.txt'), '2 5 6 0 7 8 9 1');
    failsClearly(cli('train', '--preset=enwik8-small', '--data=ids', '--dataPath=pad.txt', ...quick), /id 0 \(PAD\) at token 3/);
    writeFileSync(at('wrap.txt'), '2 5 4294967361 7 8 9 1');
    failsClearly(cli('train', '--preset=enwik8-small', '--data=ids', '--dataPath=wrap.txt', ...quick), /id 4294967361 at token 2 is outside the vocabulary/);
    writeFileSync(at('big.txt'), '2 5 100000000000000000000000 7 1');
    failsClearly(cli('train', '--preset=enwik8-small', '--data=ids', '--dataPath=big.txt', ...quick), /id 1000000000\d*… at token 2 is outside/);
  });

  it('a validation split under 2 tokens is refused; validationFraction 0 trains and says there is no validation', () => {
    for (const [name, content] of [['one.txt', 'a'], ['two.txt', 'ab'], ['eleven.txt', 'abcdefghijk']] as const) {
      writeFileSync(at(name), content);
      failsClearly(cli('train', '--preset=enwik8-small', `--dataPath=${name}`, '--contextLength=8', '--numLatents=4', ...quick),
        /the validation part .* it needs at least 2/);
    }
    const r = cli('train', '--preset=enwik8-small', '--dataPath=eleven.txt', '--validationFraction=0', '--contextLength=8', '--numLatents=4',
      '--numLayers=1', '--width=16', '--embedDim=16', '--numHeads=2', '--crossAttendHeads=2', '--steps=2', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no validation data \(validationFraction is 0\): validation skipped/);
    assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()!).bitsPerToken, null);
  });

  it('options that would be silently ignored are refused', () => {
    writeFileSync(at('t.txt'), 'some text for training '.repeat(20));
    failsClearly(cli('train', '--dataPath=t.txt', ...quick), /dataPath is not used by the mirrored task/);
    failsClearly(cli('eval', `--checkpoint=${good}`, '--dataPath=t.txt'), /--dataPath is not used with the mirrored task/);
    failsClearly(cli('train', `--resume=${good}`, '--preset=enwik8-small', '--steps=2'), /--preset starts a new run; --resume continues/);
    failsClearly(cli('info', '--preset=mirrored-32', `--checkpoint=${good}`), /give one/);
    unchanged();
  });

  it('maxWavelength ≤ 0 with sinusoidal positions is refused', () => {
    failsClearly(cli('train', '--maxWavelength=0', ...quick), /maxWavelength must be in \[1, /);
    failsClearly(cli('train', '--maxWavelength=-5', ...quick), /maxWavelength must be in \[1, /);
  });

  it('path options empty or without a value', () => {
    failsClearly(cli('train', ...quick, '--checkpoint='), /--checkpoint is empty; give a file path/);
    failsClearly(cli('train', ...quick, '--checkpoint'), /option --checkpoint needs a value/);
    failsClearly(cli('train', ...quick, '--initFrom='), /--initFrom is empty/);
    failsClearly(cli('generate', `--checkpoint=${good}`, '--prompt'), /option --prompt needs a value/);
    failsClearly(cli('generate', `--checkpoint=${good}`, '--promptIds='), /--promptIds is empty/);
    assert.ok(!existsSync(at('true')), 'no file named "true"');
    // A BLAS library named explicitly that does not load: an error (not a note --json or --quiet would hide).
    failsClearly(cli('train', ...quick, '--blas=/nonexistent/libblas.so', '--json'), /the requested BLAS library \/nonexistent\/libblas\.so cannot be used/);
  });

  it('--key value works as --key=value does, and every command has --help', () => {
    const r = cli('train', '--preset', 'mirrored-32-small', '--steps', '2', '--evalEvery', '0', '--evalBatches', '1', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()!).steps, 2);
    for (const command of ['train', 'generate', 'eval', 'info']) {
      const h = cli(command, '--help');
      assert.equal(h.code, 0, h.stderr);
      assert.match(h.stdout, new RegExp(`^perceiver-ar ${command} `));
    }
    failsClearly(cli('train', '--preset', 'mirrored-32-small', 'stray'), /unexpected argument 'stray'/);
  });

  it('sizes that cannot be held are refused before anything runs', () => {
    failsClearly(cli('train', '--batchSize=1e8', ...quick), /batches of 100000000 × 32 tokens take .* GiB each/);
    failsClearly(cli('train', '--evalBatches=1e8', '--steps=1', '--quiet'), /with 100000000 validation batches/);
    writeFileSync(at('t.txt'), 'some text for training '.repeat(20));
    failsClearly(cli('train', '--preset=enwik8-small', '--dataPath=t.txt', '--contextLength=1e8', ...quick), /batches of 4 × 100000000 tokens/);
    failsClearly(cli('train', '--batchSize=100000', ...quick), /a training workspace for batch 100000 × context 32 .* needs \d+ MiB of engine memory/);
  });
});

describe('CLI: where checkpoints are written', () => {
  it('a bad output path is refused before training, and the existing file is never touched', () => {
    failsClearly(cli('train', ...quick, `--checkpoint=${at('missing/x.safetensors')}`), /directory .*missing does not exist/);
    mkdirSync(at('adir'), { recursive: true });
    failsClearly(cli('train', ...quick, `--checkpoint=${at('adir')}`), /adir: is a directory; give a file path/);
    failsClearly(cli('train', ...quick, '--checkpoint=/proc/perceiver-ar-test.safetensors'), /cannot be written/);
    failsClearly(cli('train', ...quick, `--checkpoint=${at('x'.repeat(260))}`), /cannot be written \(.*name too long/i);
    writeFileSync(at('data.txt'), 'text to train on '.repeat(40));
    const data = readFileSync(at('data.txt'));
    failsClearly(cli('train', '--preset=enwik8-small', '--dataPath=data.txt', '--contextLength=16', '--numLatents=4', ...quick, '--checkpoint=data.txt'),
      /checkpoint data\.txt is the run's input file data\.txt; writing it would overwrite it/);
    assert.deepEqual(readFileSync(at('data.txt')), data);
    execFileSync('mkfifo', [at('fifo')]);
    failsClearly(cli('train', ...quick, `--checkpoint=${at('fifo')}`), /exists and is not a regular file/);
    failsClearly(cli('train', '--batchSize=1e8', ...quick, `--checkpoint=${good}`), /batches of/);
    unchanged();
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-') || f.endsWith('.partial')), []);
  });

  it('a 238-character name can be saved (the temporary name is short), and stale temporaries of killed saves are cleaned', () => {
    const long = at(`${'n'.repeat(226)}.safetensors`);
    const r = cli('train', ...quick, `--checkpoint=${long}`);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(long));
    // What a kill -9 during a save leaves: an old-style temporary and this version's own one.
    const target = at('kept.safetensors');
    writeFileSync(at('.kept.safetensors.tmp-123-456'), 'partial');
    writeFileSync(temporaryPathFor(target), 'partial');
    assert.equal(cli('train', ...quick, `--checkpoint=${target}`).code, 0);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-') || f.endsWith('.partial')), []);
  });
});
