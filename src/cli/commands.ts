// `perceiver-ar generate | eval | info`.
import type { Engine } from '../engine.js';
import { byteToId, idToByte, SOS, BYTE_OFFSET } from '../data/vocab.js';
import { flopsPerToken, parameterCount, type ModelConfig } from '../models/perceiver-ar/config.js';
import { loadAnyCheckpoint, loadCheckpoint, readCheckpointInfo } from '../platform/node/checkpoint.js';
import { xlFlopsPerToken, xlParameterCount, type XLConfig } from '../models/transformer-xl/config.js';
import { PerceiverAR } from '../models/perceiver-ar/model.js';
import { loadDataSource, readTextIds, readTokenIds } from '../platform/node/data-files.js';
import { presetNamed, PRESETS } from '../presets.js';
import { generate } from '../sample/generate.js';
import { evaluateStream, evaluateXLStream } from '../train/evaluate.js';
import { Trainer } from '../train/trainer.js';
import { DATA_DEFAULTS, TRAIN_DEFAULTS } from '../train/config.js';
import { classifierParamSpecs } from '../models/adatape/params.js';
import type { ClassifierConfig } from '../models/adatape/config.js';
import { evalClassifierCommand } from './train-classifier.js';
import { imageEvalCommand, imageGenerateCommand, isImageData } from './images.js';
import { isMusicData, musicEvalCommand, musicGenerateCommand } from './music.js';
import { applyOverrides, take, takePath, takeFlag, takeNumber, UsageError, type Args, isInt, type Metrics } from './args.js';
import { createProgress } from './progress.js';


function requireCheckpoint(args: Args, command: string): string {
  const path = takePath(args, 'checkpoint');
  if (!path) throw new UsageError(`${command} needs --checkpoint=PATH (a file written by perceiver-ar train --checkpoint=PATH)`);
  return path;
}

function rejectLeftovers(args: Args, allowed: readonly string[]): void {
  const [first] = args.keys();
  if (first !== undefined) throw new UsageError(`unknown option --${first}; allowed: ${allowed.map((k) => `--${k}`).join(' ')}`);
}

/** A NaN or infinite evaluation is an error (exit non-zero), not a metric. */
function checkFiniteLoss(r: { nats: number; tokens: number }): void {
  if (Number.isFinite(r.nats)) return;
  throw new RangeError(`eval: the loss over ${r.tokens} targets is not finite (${r.nats}): the model's outputs overflow float32 (a damaged or diverged checkpoint?)`);
}


export const GENERATE_KEYS = ['checkpoint', 'prompt', 'promptIds', 'maxNewTokens', 'temperature', 'topK', 'topP', 'seed', 'numLatents',
  'fillLatents', 'uncached', 'stopAtEos', 'ids', 'json', 'threads', 'backend', 'simd', 'blas'] as const;

export function generateCommand(engine: Engine, args: Args): Metrics {
  const path = requireCheckpoint(args, 'generate');
  const { model, info } = loadCheckpoint(path, engine);
  if (isImageData(info.data)) return imageGenerateCommand(model, info, args);
  if (isMusicData(info.data)) return musicGenerateCommand(model, info, args);
  const c = model.config;
  const promptText = take(args, 'prompt'), promptIds = take(args, 'promptIds');
  if (promptText !== undefined && promptIds !== undefined) throw new UsageError('give either --prompt=TEXT or --promptIds="2 65 66", not both');
  if (promptIds !== undefined && promptIds.trim() === '') throw new UsageError('--promptIds is empty; give ids such as --promptIds="2 65 66"');
  const prompt = promptIds !== undefined
    ? promptIds.trim().split(/[\s,]+/).map((w) => {
      const n = Number(w);
      if (!Number.isInteger(n) || n < 0 || n >= c.vocabSize) throw new UsageError(`--promptIds: '${w}' is not an id in [0, ${c.vocabSize})`);
      return n;
    })
    : [SOS, ...Array.from(new TextEncoder().encode(promptText ?? ''), byteToId)];
  if (prompt.some((id) => id >= c.vocabSize)) throw new UsageError(`the prompt has ids beyond this model's vocabulary (${c.vocabSize}); use --promptIds`);
  const opts = {
    // The default stops where an absolute position table ends (an explicit longer request is refused with a message).
    maxNewTokens: takeNumber(args, 'maxNewTokens', isInt(0), 'an integer ≥ 0') ??
      (c.position === 'rotary' ? 256 : Math.max(0, Math.min(256, c.maxPosition - prompt.length + 1))),
    temperature: takeNumber(args, 'temperature', (n) => n >= 0, 'a number ≥ 0 (0 = greedy)') ?? 1,
    topK: takeNumber(args, 'topK', isInt(0), 'an integer ≥ 0 (0 = off)') ?? 0,
    topP: takeNumber(args, 'topP', (n) => n > 0 && n <= 1, 'a number in (0, 1]') ?? 1,
    seed: takeNumber(args, 'seed', isInt(0), 'an integer ≥ 0') ?? 0,
    numLatents: takeNumber(args, 'numLatents', isInt(1, c.contextLength), `an integer in [1, ${c.contextLength}]`) ?? c.numLatents,
    fillLatents: takeNumber(args, 'fillLatents', isInt(1, c.contextLength), 'an integer ≥ 1'),
    cached: !takeFlag(args, 'uncached'),
    stopAtEos: args.has('stopAtEos') ? takeFlag(args, 'stopAtEos') : true,
  };
  const asIds = takeFlag(args, 'ids'), json = takeFlag(args, 'json');
  rejectLeftovers(args, GENERATE_KEYS);
  const bytes: number[] = [];
  const write = (id: number): void => {
    if (json) return;
    if (asIds) process.stdout.write(`${id} `);
    else if (id >= BYTE_OFFSET) bytes.push(idToByte(id));
    if (!asIds && bytes.length) {
      // Stream whole UTF-8 characters as they complete.
      const text = new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(bytes), { stream: true });
      if (!text.endsWith('\uFFFD')) { process.stdout.write(text); bytes.length = 0; }
    }
  };
  const r = generate(model, prompt, { ...opts, ...(opts.fillLatents === undefined ? {} : { fillLatents: opts.fillLatents }) }, write);
  if (!json) process.stdout.write('\n');
  return { tokens: r.tokens.length, seconds: r.seconds, tokensPerSecond: r.tokens.length / r.seconds, resets: r.resets,
    cached: opts.cached, ids: Array.from(r.tokens).join(' ') };
}

export const EVAL_KEYS = ['checkpoint', 'mode', 'stride', 'numLatents', 'batchSize', 'maxTargets', 'dataPath', 'data', 'json', 'quiet', 'threads', 'backend', 'simd', 'blas'] as const;

export function evalCommand(engine: Engine, args: Args): Metrics {
  const path = requireCheckpoint(args, 'eval');
  if (readCheckpointInfo(path).architecture === 'sequence-classifier') return evalClassifierCommand(engine, args, path);
  const { info, model } = loadAnyCheckpoint(path, engine);
  if (isImageData(info.data) && model instanceof PerceiverAR) return imageEvalCommand(model, info, args);
  if (isMusicData(info.data) && model instanceof PerceiverAR) return musicEvalCommand(model, info, args);
  const c = model.config;
  // Perceiver AR: strided or exact windows with a latent count. Transformer-XL scores every
  // position of consecutive contextLength windows (evaluateXLStream), so these do not apply.
  let knobs: { mode: 'exact' | 'strided'; stride: number; numLatents: number } | null = null;
  if (model instanceof PerceiverAR) {
    const mode = take(args, 'mode') ?? 'strided';
    if (mode !== 'exact' && mode !== 'strided') throw new UsageError(`--mode=${mode} is invalid: exact or strided`);
    const M = model.config.contextLength;
    const stride = mode === 'exact' ? 1 : takeNumber(args, 'stride', isInt(1, M), `an integer in [1, ${M}]`) ?? model.config.numLatents;
    knobs = { mode, stride, numLatents: takeNumber(args, 'numLatents', isInt(stride, M), `an integer in [stride, ${M}]`) ?? stride };
  }
  const batchSize = takeNumber(args, 'batchSize', isInt(1), 'an integer ≥ 1') ?? 4;
  const maxTargets = takeNumber(args, 'maxTargets', isInt(0), 'an integer ≥ 0 (0 = all)') ?? 0;
  const data = { ...(info.data ?? DATA_DEFAULTS) };
  const dataPath = takePath(args, 'dataPath'), kind = take(args, 'data');
  if (kind !== undefined) {
    if (kind !== 'text' && kind !== 'ids' && kind !== 'mirrored') throw new UsageError(`--data=${kind} is invalid: text, ids or mirrored`);
    data.data = kind;
  }
  if (dataPath !== undefined) {
    if (data.data === 'mirrored') {
      throw new UsageError(`--dataPath is not used with the mirrored task (${kind === undefined ? 'the data this checkpoint trained on' : '--data=mirrored'}); ` +
        'give --data=text or --data=ids with it');
    }
    data.dataPath = dataPath;
  }
  const json = takeFlag(args, 'json'), quiet = takeFlag(args, 'quiet');
  rejectLeftovers(args, knobs ? EVAL_KEYS : EVAL_KEYS.filter((k) => k !== 'mode' && k !== 'stride' && k !== 'numLatents'));
  if (data.data === 'mirrored') {
    // Fresh mirrored sequences from the validation seed; about maxTargets scored tokens (default 4 batches).
    const perBatch = batchSize * Math.floor((c.contextLength - 1) / 2);
    const evalBatches = maxTargets > 0 ? Math.max(1, Math.ceil(maxTargets / perBatch)) : 4;
    const trainer = new Trainer(engine, model, { ...(info.train ?? TRAIN_DEFAULTS), evalBatches, batchSize }, loadDataSource(data, c.vocabSize));
    const r = trainer.evaluate(knobs?.numLatents);
    checkFiniteLoss(r);
    return { mode: 'teacher-forced', ...(knobs ? { numLatents: knobs.numLatents } : {}), nats: r.nats, bitsPerToken: r.bitsPerToken, tokens: r.tokens,
      accuracy: r.accuracy };
  }
  if (!data.dataPath) throw new UsageError('eval needs --dataPath=FILE (the checkpoint names no data file)');
  const ids = data.data === 'text' ? readTextIds(data.dataPath) : readTokenIds(data.dataPath, c.vocabSize);
  const cut = Math.floor(ids.length * (1 - (dataPath === undefined ? data.validationFraction : 0)));
  const stream = dataPath === undefined ? ids.subarray(cut) : ids;
  if (stream.length < 2) {
    throw new UsageError(`${data.dataPath} has no validation split in this checkpoint's data config (validationFraction ${data.validationFraction}); ` +
      'give --dataPath=FILE to evaluate a whole file');
  }
  const progress = createProgress(1, 'eval', { tty: process.stderr.isTTY === true && !json, quiet: quiet || json, every: 1 });
  const onProgress = (done: number, total: number): void => progress.update(done, { of: String(total) });
  const r = model instanceof PerceiverAR
    ? evaluateStream(model, stream, { stride: knobs!.stride, numLatents: knobs!.numLatents, batchSize, maxTargets, onProgress })
    : evaluateXLStream(model, stream, { batchSize, maxTargets, onProgress });
  progress.finish();
  checkFiniteLoss(r);
  return { mode: knobs?.mode ?? 'windows', ...(knobs ? { stride: knobs.stride, numLatents: knobs.numLatents } : {}), nats: r.nats,
    bitsPerToken: r.bitsPerToken, tokens: r.tokens, seconds: r.seconds, file: data.dataPath, part: dataPath === undefined ? 'validation split' : 'whole file' };
}

export const INFO_KEYS = ['preset', 'checkpoint', 'json', 'threads', 'backend', 'simd', 'blas'] as const;

export function describeModel(c: ModelConfig | XLConfig | ClassifierConfig): Metrics {
  if ('sequenceLength' in c) {
    const parameters = classifierParamSpecs(c).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
    return { architecture: 'sequence-classifier', parameters, flopsPerToken: null, config: JSON.stringify(c) };
  }
  const xl = 'segmentLength' in c;
  return {
    architecture: xl ? 'transformer-xl' : 'perceiver-ar', parameters: xl ? xlParameterCount(c) : parameterCount(c),
    flopsPerToken: xl ? xlFlopsPerToken(c) : flopsPerToken(c), config: JSON.stringify(c),
  };
}

export function infoCommand(engine: Engine, args: Args): Metrics {
  if (args.has('preset') && args.has('checkpoint')) throw new UsageError('info describes either --preset=NAME or --checkpoint=FILE: give one');
  const presetName = take(args, 'preset'), checkpoint = takePath(args, 'checkpoint');
  const json = takeFlag(args, 'json');
  let model: ModelConfig | XLConfig | ClassifierConfig | null = null, source = '';
  if (checkpoint) { model = readCheckpointInfo(checkpoint).model; source = checkpoint; }
  else if (presetName) {
    // info describes the architecture only, so data settings (e.g. a missing dataPath) do not matter here.
    model = applyOverrides({ ...presetNamed(presetName), data: DATA_DEFAULTS }, args, INFO_KEYS).model;
    source = `preset ${presetName}`;
    args.clear();
  }
  rejectLeftovers(args, INFO_KEYS);
  const out: Metrics = { backend: engine.info.backend, simd: engine.info.simd, threads: engine.info.threads, blas: engine.info.blas, blasAttentionTiles: engine.info.blasAttentionTiles, notes: engine.info.notes.join('; ') };
  if (!json) {
    console.log(`engine:  ${engine.info.backend} (${engine.info.simd}), ${engine.info.threads} threads${engine.info.notes.length ? ` — ${engine.info.notes.join('; ')}` : ''}`);
    console.log(`blas:    ${engine.info.blas ?? 'none: every matmul runs in the engine\'s own kernels'}`);
    if (!model) console.log(`presets: ${Object.keys(PRESETS).join(', ')} (perceiver-ar info --preset=NAME)`);
  }
  if (model) {
    Object.assign(out, { source }, describeModel(model));
    if (!json) {
      console.log(`model (${source}):`);
      for (const [k, v] of Object.entries(model)) console.log(`  ${k.padEnd(24)} ${String(v)}`);
      const d = describeModel(model);
      console.log(`  ${'architecture'.padEnd(24)} ${String(d.architecture)}`);
      console.log(`  ${'parameters'.padEnd(24)} ${Number(d.parameters).toLocaleString('en-US')}`);
      if (d.flopsPerToken !== null) console.log(`  ${'training FLOPs/token'.padEnd(24)} ${(Number(d.flopsPerToken) / 1e6).toFixed(1)} M`);
    }
  }
  return out;
}
