// The session worker: a dedicated Worker that holds a page's engine and model, so that the page's
// own thread never runs a kernel. It answers the requests of session.ts (which sends them one at a
// time; only a stop arrives while a training run is going): create the engine, load a checkpoint
// from bytes, generate (posting each token as it is sampled), train, and save the model as
// checkpoint bytes.
import type { Engine } from '../../engine.js';
import { PerceiverAR } from '../../models/perceiver-ar/model.js';
import { generate } from '../../sample/generate.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../train/checkpoint.js';
import type { TrainConfig } from '../../train/config.js';
import type { DataConfig } from '../../data/modality.js';
import { DATA_DEFAULTS, sequenceModality, validateDataConfig } from '../../data/registry.js';
import { memoryFileSystem } from '../../io/file-system.js';
import { perceiverPresetNamed } from '../../presets.js';
import { Trainer } from '../../train/trainer.js';
import { createBrowserEngine } from './engine.js';
import type { CheckpointSummary, SessionReply, SessionRequest } from './session-protocol.js';

const scope = globalThis as unknown as { onmessage: ((e: { data: SessionRequest }) => void) | null; postMessage(m: SessionReply, transfer?: ArrayBuffer[]): void };
let engine: Engine | null = null, model: PerceiverAR | null = null;
/** The training and data configs saved with the model (from its checkpoint, or the run that trained it). */
let stored: { train?: TrainConfig; data?: DataConfig } = {};

const stops = new Set<number>();

/** Trains a preset's model (replacing the session's), reporting every step; yields to messages every few steps so a stop can arrive. */
async function train(r: Extract<SessionRequest, { type: 'train' }>, e: Engine): Promise<unknown> {
  const o = r.options, preset = perceiverPresetNamed(o.preset);
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`steps must be an integer ≥ 1, got ${o.steps}`);
  const fs = memoryFileSystem(o.text ? { 'upload.txt': new Uint8Array(o.text) } : {});
  const data = validateDataConfig(o.text ? { ...DATA_DEFAULTS, data: 'text', dataPath: 'upload.txt' } : preset.data);
  const opened = sequenceModality(data.data).open(data, preset.model.vocabSize, { fs, log: () => {} });
  // The new model replaces the session's only when its run ends well (a failed run leaves the old one).
  const fresh = new PerceiverAR(e, preset.model, o.seed ?? preset.train.seed);
  try {
    const trainer = new Trainer(e, fresh, { ...preset.train, steps: o.steps }, opened.source);
    let last = performance.now();
    while (trainer.step < o.steps && !stops.has(r.id)) {
      const s = trainer.trainStep(), now = performance.now();
      scope.postMessage({ id: r.id, type: 'step', step: { step: s.step, steps: o.steps, loss: s.loss, tokensPerSecond: s.tokens / ((now - last) / 1000) } });
      // Messages (a stop) are read between steps.
      await new Promise((resolve) => setTimeout(resolve, 0));
      last = performance.now();
    }
    const summary = { steps: trainer.step, stopped: trainer.step < o.steps, validationBitsPerToken: trainer.evaluate().bitsPerToken, parameters: fresh.params.count };
    model?.dispose();
    model = fresh;
    stored = { train: trainer.config, data };
    return summary;
  } catch (err) {
    fresh.dispose();
    throw err;
  } finally {
    stops.clear();
  }
}

async function handle(r: SessionRequest): Promise<unknown> {
  if (r.type === 'stop') { stops.add(r.of); return null; }
  if (r.type === 'init') {
    engine = await createBrowserEngine(r.engine);
    return { backend: engine.info.backend, simd: engine.info.simd, threads: engine.info.threads, notes: engine.info.notes };
  }
  if (!engine) throw new Error('the session has no engine yet');
  if (r.type === 'load') {
    const decoded = decodeCheckpoint(new Uint8Array(r.bytes), r.name);
    if (decoded.info.architecture !== 'perceiver-ar') throw new Error(`${r.name} holds a ${decoded.info.architecture} model; generation needs a Perceiver AR checkpoint`);
    const built = decoded.build(engine);
    if (!(built instanceof PerceiverAR)) throw new Error(`${r.name}: not a Perceiver AR model`);
    model?.dispose();
    model = built;
    const info = decoded.info;
    stored = { ...(info.train ? { train: info.train } : {}), ...(info.data ? { data: info.data } : {}) };
    const summary: CheckpointSummary = { name: r.name, architecture: info.architecture, model: { ...info.model }, data: info.data ? { ...info.data } : null,
      parameters: model.params.count };
    return summary;
  }
  if (r.type === 'train') return train(r, engine);
  if (!model) throw new Error('load a checkpoint first (session.loadCheckpoint) or train one (session.train)');
  if (r.type === 'generate') {
    const o = r.options;
    const result = generate(model, r.prompt, {
      maxNewTokens: o.maxNewTokens, temperature: o.temperature ?? 1, topK: o.topK ?? 0, topP: o.topP ?? 1, seed: o.seed ?? 0, stopAtEos: o.stopAtEos ?? true,
      cached: true, weights: o.weights ?? model.params.weightFormat,
    }, (token) => scope.postMessage({ id: r.id, type: 'token', token }));
    return { tokens: result.tokens.length, seconds: result.seconds, firstTokenSeconds: result.firstTokenSeconds };
  }
  if (model.params.weightFormat !== 'f32') {
    throw new Error('the model\'s weights were rounded to bf16 for generation; load the checkpoint again to save it unrounded');
  }
  return encodeCheckpoint(model, { ...stored, optimizer: false });
}

scope.onmessage = (e) => {
  const r = e.data;
  handle(r).then((value) => {
    if (value instanceof Uint8Array) scope.postMessage({ id: r.id, type: 'result', value }, [value.buffer as ArrayBuffer]);
    else scope.postMessage({ id: r.id, type: 'result', value });
  }, (err: unknown) => scope.postMessage({ id: r.id, type: 'error', message: err instanceof Error ? err.message : String(err) }));
};
