// The session worker: a dedicated Worker that holds a page's engine and model, so that the page's
// own thread never runs a kernel. It answers the requests of session.ts one at a time: create the
// engine, load a checkpoint from bytes, generate (posting each token as it is sampled), and save
// the model as checkpoint bytes.
import type { Engine } from '../../engine.js';
import { PerceiverAR } from '../../models/perceiver-ar/model.js';
import { generate } from '../../sample/generate.js';
import { decodeCheckpoint, encodeCheckpoint, type CheckpointInfo } from '../../train/checkpoint.js';
import { createBrowserEngine } from './engine.js';
import type { CheckpointSummary, SessionReply, SessionRequest } from './session-protocol.js';

const scope = globalThis as unknown as { onmessage: ((e: { data: SessionRequest }) => void) | null; postMessage(m: SessionReply, transfer?: ArrayBuffer[]): void };
let engine: Engine | null = null, model: PerceiverAR | null = null, info: CheckpointInfo | null = null;

async function handle(r: SessionRequest): Promise<unknown> {
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
    info = decoded.info;
    const summary: CheckpointSummary = { name: r.name, architecture: info.architecture, model: { ...info.model }, data: info.data ? { ...info.data } : null,
      parameters: model.params.count };
    return summary;
  }
  if (!model) throw new Error('load a checkpoint first (session.loadCheckpoint)');
  if (r.type === 'generate') {
    const o = r.options;
    const result = generate(model, r.prompt, {
      maxNewTokens: o.maxNewTokens, temperature: o.temperature ?? 1, topK: o.topK ?? 0, topP: o.topP ?? 1, seed: o.seed ?? 0, stopAtEos: o.stopAtEos ?? true,
      cached: true, weights: o.weights ?? 'f32',
    }, (token) => scope.postMessage({ id: r.id, type: 'token', token }));
    return { tokens: result.tokens.length, seconds: result.seconds, firstTokenSeconds: result.firstTokenSeconds };
  }
  if (model.params.weightFormat !== 'f32') {
    throw new Error('the model\'s weights were rounded to bf16 for generation; load the checkpoint again to save it unrounded');
  }
  return encodeCheckpoint(model, { ...(info?.train ? { train: info.train } : {}), ...(info?.data ? { data: info.data } : {}), optimizer: false });
}

scope.onmessage = (e) => {
  const r = e.data;
  handle(r).then((value) => {
    if (value instanceof Uint8Array) scope.postMessage({ id: r.id, type: 'result', value }, [value.buffer as ArrayBuffer]);
    else scope.postMessage({ id: r.id, type: 'result', value });
  }, (err: unknown) => scope.postMessage({ id: r.id, type: 'error', message: err instanceof Error ? err.message : String(err) }));
};
