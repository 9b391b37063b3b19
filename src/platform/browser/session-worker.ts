// The session worker: a dedicated Worker that holds a page's engine and model, so that the page's
// own thread never runs a kernel. It answers the requests of session.ts (which sends them one at a
// time; only a stop arrives while a training run is going): create the engine, load a checkpoint
// from bytes (any architecture), generate tokens (posting each as it is sampled), run a command
// through the data's modality (session-commands.ts), train or resume training, and save the model
// as checkpoint bytes.
import type { Engine } from '../../engine.js';
import { PerceiverAR } from '../../models/perceiver-ar/model.js';
import { TransformerXL } from '../../models/transformer-xl/model.js';
import type { CheckpointModel } from '../../models/registry.js';
import type { WeightFormat } from '../../nn/params.js';
import { generate } from '../../sample/generate.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../train/checkpoint.js';
import type { TrainConfig } from '../../train/config.js';
import type { DataConfig, SequenceData } from '../../data/modality.js';
import { DATA_DEFAULTS, modalityNamed, sequenceModality, validateDataConfig } from '../../data/registry.js';
import { memoryFileSystem } from '../../io/file-system.js';
import { perceiverPresetNamed } from '../../presets.js';
import { Trainer, type TrainerState } from '../../train/trainer.js';
import { createBrowserEngine } from './engine.js';
import { commandForms, runCommand } from './session-commands.js';
import type { CheckpointSummary, SessionReply, SessionRequest, TrainSummary } from './session-protocol.js';

const scope = globalThis as unknown as { onmessage: ((e: { data: SessionRequest }) => void) | null; postMessage(m: SessionReply, transfer?: ArrayBuffer[]): void };
let engine: Engine | null = null, model: CheckpointModel | null = null;
/** The configs and training state saved with the model (from its checkpoint, or the run that trained it), and whether it holds optimizer moments. */
let stored: { train?: TrainConfig; data?: DataConfig; state?: TrainerState; optimizer?: boolean } = {};
/** Checkpoint bytes equal to the model with float32 weights: what is saved or rebuilt once its weights were rounded to bf16. */
let source: Uint8Array | null = null;

const stops = new Set<number>();

/**
 * Frees a model's engine memory: all of it for Perceiver AR; for the others the parameters (the
 * bulk) and Transformer-XL's buffers (a classifier's workspace cannot be freed yet: it is sized by
 * its batch, small beside its parameters).
 */
function release(m: CheckpointModel): void {
  if (m instanceof PerceiverAR) { m.dispose(); return; }
  if (m instanceof TransformerXL) m.releaseBuffers();
  if (engine) m.params.dispose(engine);
}

/** Replaces the session's model. */
function adopt(next: CheckpointModel): void {
  if (model && model !== next) release(model);
  model = next;
}

/** The session's model with its weight matrices in `format`: a model rounded to bf16 is rebuilt from its checkpoint bytes for float32. */
function withWeights(e: Engine, format: WeightFormat): CheckpointModel {
  if (model!.params.weightFormat !== 'f32' && format === 'f32') {
    if (!source) throw new Error('the model\'s weights were rounded to bf16 and no float32 copy is kept; load the checkpoint again');
    adopt(decodeCheckpoint(source, 'the session\'s model').build(e));
  }
  model!.params.setWeightFormat(e, format);
  return model!;
}

/** The model as checkpoint bytes; `training`: with its optimizer moments and training state, when it has them. */
const encode = (m: CheckpointModel, training: boolean): Uint8Array => {
  const withState = training && stored.state !== undefined && stored.optimizer === true;
  return encodeCheckpoint(m, { ...(stored.train ? { train: stored.train } : {}), ...(stored.data ? { data: stored.data } : {}),
    ...(withState ? { state: stored.state } : {}), optimizer: withState });
};

/**
 * Trains a preset's new model, or resumes the session's model, reporting every step; yields to
 * messages between steps so a stop can arrive. A new model replaces the session's only when its run
 * ends well; a resumed one that fails is rebuilt as it was.
 */
async function train(r: Extract<SessionRequest, { type: 'train' }>, e: Engine): Promise<unknown> {
  const o = r.options;
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`steps must be an integer ≥ 1, got ${o.steps}`);
  const fs = memoryFileSystem(o.text ? { 'upload.txt': new Uint8Array(o.text) } : {});
  let data: DataConfig, config: TrainConfig, runModel: PerceiverAR, state: TrainerState | undefined, opened: SequenceData | undefined;
  if (o.resume) {
    if (!model || !stored.train || !stored.state || !stored.data || !stored.optimizer) {
      throw new Error('this model has no training state to resume (optimizer moments and step): train one here, or load a checkpoint written by perceiver-ar train --checkpoint');
    }
    const m = withWeights(e, 'f32');
    if (!(m instanceof PerceiverAR)) throw new Error('resuming in a page trains Perceiver AR models only');
    if (o.steps <= stored.state.step) throw new Error(`the model is at step ${stored.state.step}; give more steps in all to resume (steps ${o.steps})`);
    // A page gives one data file (its bytes as `text`, read as dataPath); data that reads other files too (a tokenizer) cannot resume here.
    const m0 = modalityNamed(stored.data.data), needs = m0.inputs(stored.data).filter((p) => p !== '');
    const others = Object.keys(m0.keys).filter((k) => k !== 'dataPath' && m0.keys[k]!.path && stored.data![k]);
    if (others.length > 0) throw new Error(`resuming ${m0.noun} in a page is not supported: it reads ${others.join(', ')} besides its data (resume it with perceiver-ar train --resume)`);
    if (needs.length > 0 && !o.text) throw new Error(`resuming reads its training data (${m0.noun}, ${needs.join(', ')}): give that file's bytes as text`);
    data = validateDataConfig(o.text && 'dataPath' in m0.keys ? { ...stored.data, dataPath: 'upload.txt' } : stored.data);
    config = { ...stored.train, steps: o.steps };
    runModel = m;
    state = stored.state;
  } else {
    if (!o.preset) throw new Error('name a preset to train (e.g. mirrored-32-small), or resume the session\'s model');
    const preset = perceiverPresetNamed(o.preset);
    data = validateDataConfig(o.text ? { ...DATA_DEFAULTS, data: 'text', dataPath: 'upload.txt' } : preset.data);
    config = { ...preset.train, steps: o.steps };
    // The data is read before the model is built: a file it refuses leaves nothing behind.
    opened = sequenceModality(data.data).open(data, preset.model.vocabSize, { fs, log: () => {} });
    runModel = new PerceiverAR(e, preset.model, o.seed ?? preset.train.seed);
  }
  opened ??= sequenceModality(data.data).open(data, runModel.config.vocabSize, { fs, log: () => {} });
  try {
    const trainer = new Trainer(e, runModel, config, opened.source, state);
    let last = performance.now();
    while (trainer.step < o.steps && !stops.has(r.id)) {
      const s = trainer.trainStep(), now = performance.now();
      scope.postMessage({ id: r.id, type: 'step', step: { step: s.step, steps: o.steps, loss: s.loss, tokensPerSecond: s.tokens / ((now - last) / 1000) } });
      // Messages (a stop) are read between steps.
      await new Promise((resolve) => setTimeout(resolve, 0));
      last = performance.now();
    }
    const bits = trainer.evaluate().bitsPerToken;
    adopt(runModel);
    stored = { train: trainer.config, data: opened.dataConfig ?? data, state: trainer.state(), optimizer: true };
    source = encode(runModel, true);
    const summary: TrainSummary = { steps: trainer.step, stopped: trainer.step < o.steps, validationBitsPerToken: bits, parameters: runModel.params.count,
      model: describe(`${o.resume ? 'resumed' : o.preset} (trained here)`, 'perceiver-ar') };
    return summary;
  } catch (err) {
    if (o.resume) adopt(decodeCheckpoint(source!, 'the session\'s model').build(e));
    else release(runModel);
    throw err;
  } finally {
    stops.clear();
  }
}

/** The session's model as a page sees it. */
function describe(name: string, architecture: string): CheckpointSummary {
  const m = model!;
  return { name, architecture, model: { ...m.config }, data: stored.data ? { ...stored.data } : null, parameters: m.params.count,
    step: stored.state?.step ?? null, commands: commandForms(m, stored.data) };
}

async function handle(r: SessionRequest, post: (reply: SessionReply) => void): Promise<unknown> {
  if (r.type === 'stop') { stops.add(r.of); return null; }
  if (r.type === 'init') {
    engine = await createBrowserEngine(r.engine);
    return { backend: engine.info.backend, simd: engine.info.simd, threads: engine.info.threads, notes: engine.info.notes };
  }
  if (!engine) throw new Error('the session has no engine yet');
  if (r.type === 'load') {
    const bytes = new Uint8Array(r.bytes), decoded = decodeCheckpoint(bytes, r.name);
    adopt(decoded.build(engine));
    const info = decoded.info;
    stored = { ...(info.train ? { train: info.train } : {}), ...(info.data ? { data: info.data } : {}), ...(info.state ? { state: info.state } : {}),
      optimizer: info.hasOptimizer };
    source = bytes;
    return describe(r.name, info.architecture);
  }
  if (r.type === 'train') return train(r, engine);
  if (!model) throw new Error('load a checkpoint first (session.loadCheckpoint) or train one (session.train)');
  if (r.type === 'run') return runCommand(model, stored, r.request, (format) => withWeights(engine!, format), (event) => post({ id: r.id, type: 'event', event }));
  if (r.type === 'generate') {
    if (!(model instanceof PerceiverAR)) throw new Error('token generation needs a Perceiver AR checkpoint');
    const o = r.options, m = withWeights(engine, o.weights ?? model.params.weightFormat) as PerceiverAR;
    const result = generate(m, r.prompt, {
      maxNewTokens: o.maxNewTokens, temperature: o.temperature ?? 1, topK: o.topK ?? 0, topP: o.topP ?? 1, seed: o.seed ?? 0, stopAtEos: o.stopAtEos ?? true,
      cached: true, weights: m.params.weightFormat, ...(o.numLatents === undefined ? {} : { numLatents: o.numLatents }),
    }, (token) => post({ id: r.id, type: 'token', token }));
    return { tokens: result.tokens.length, seconds: result.seconds, firstTokenSeconds: result.firstTokenSeconds };
  }
  // save: the float32 weights (a model rounded to bf16 is rebuilt from its checkpoint bytes first).
  return encode(withWeights(engine, 'f32'), r.training);
}

/** Buffers of a reply to move rather than copy (checkpoint bytes, files a run wrote). */
function transfers(value: unknown): ArrayBuffer[] {
  if (value instanceof Uint8Array) return [value.buffer as ArrayBuffer];
  const files = (value as { files?: { bytes: Uint8Array }[] } | null)?.files;
  return Array.isArray(files) ? files.map((f) => f.bytes.buffer as ArrayBuffer) : [];
}

scope.onmessage = (e) => {
  const r = e.data, post = (reply: SessionReply): void => scope.postMessage(reply);
  const fail = (err: unknown): void => scope.postMessage({ id: r.id, type: 'error', message: err instanceof Error ? err.message : String(err) });
  // A result that cannot be posted is reported as the request's error (the page would wait for it forever).
  handle(r, post).then((value) => { try { scope.postMessage({ id: r.id, type: 'result', value }, transfers(value)); } catch (err) { fail(err); } }, fail);
};
