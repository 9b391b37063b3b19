// The page's side of a session (docs/browser.md): the engine and model live in a dedicated
// session worker (session-worker.ts), so the page never blocks; every call is async. Generation
// streams its tokens as an async iterator and stops on an AbortSignal: the worker is terminated
// (a kernel cannot be interrupted) and started again, with the last checkpoint, on the next call.
import type {
  CheckpointSummary, SessionEngineOptions, SessionGenerateOptions, SessionReply, SessionRequest, SessionTrainOptions, TrainProgress,
} from './session-protocol.js';

export type { CheckpointSummary, SessionEngineOptions, SessionGenerateOptions, SessionTrainOptions, TrainProgress } from './session-protocol.js';

interface SessionWorker {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  terminate(): void;
  onmessage: ((e: { data: SessionReply }) => void) | null;
  onerror: ((e: { message?: string }) => void) | null;
}
type SessionWorkerConstructor = new (url: string | URL, options: { type: 'module'; name?: string }) => SessionWorker;

/** Bytes from what a page has: an ArrayBuffer or view, or a File, Blob or fetch Response. */
export type CheckpointSource = ArrayBuffer | ArrayBufferView | { arrayBuffer(): Promise<ArrayBuffer> };

export interface EngineSummary { readonly backend: string; readonly simd: string; readonly threads: number; readonly notes: readonly string[] }

interface Pending { resolve(v: unknown): void; reject(e: Error): void; onToken?: (token: number) => void; onStep?: (s: TrainProgress) => void }

export class BrowserSession {
  private worker: SessionWorker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private checkpoint: { bytes: ArrayBuffer; name: string } | null = null;
  private engineInfo: EngineSummary | null = null;
  private disposed = false;

  private constructor(private readonly sessionWorkerUrl: string | URL, private readonly engine: SessionEngineOptions) {}

  /** Starts a session worker from `sessionWorkerUrl` (dist/src/platform/browser/session-worker.js, or a bundle of it) and its engine. */
  static async open(sessionWorkerUrl: string | URL, engine: SessionEngineOptions = {}): Promise<BrowserSession> {
    const s = new BrowserSession(sessionWorkerUrl, engine);
    await s.started();
    return s;
  }

  /** The engine the worker runs (threads, SIMD build, notes such as why it runs one thread). */
  get info(): EngineSummary { return this.engineInfo!; }

  /** Loads a Perceiver AR checkpoint (safetensors bytes written by `perceiver-ar train`) and says what it holds. */
  async loadCheckpoint(source: CheckpointSource, name = 'checkpoint'): Promise<CheckpointSummary> {
    const bytes = await bytesOf(source);
    await this.started();
    const summary = await this.request({ type: 'load', bytes: bytes.slice(0), name }) as CheckpointSummary;
    this.checkpoint = { bytes, name };
    return summary;
  }

  /**
   * The tokens generated after `prompt`, one by one as they are sampled. Aborting `signal` stops
   * generation at once: the loop ends with an AbortError.
   */
  async *generate(prompt: readonly number[], options: SessionGenerateOptions, signal?: AbortSignal): AsyncGenerator<number, void, undefined> {
    if (signal?.aborted) throw abortError();
    await this.started();
    const queue: number[] = [];
    let wake: (() => void) | null = null, finished = false, failure: Error | null = null;
    const done = this.request({ type: 'generate', prompt: [...prompt], options }, (token) => { queue.push(token); wake?.(); });
    done.then(() => { finished = true; wake?.(); }, (e: Error) => { failure = e; finished = true; wake?.(); });
    const onAbort = (): void => { failure = abortError(); finished = true; this.restart(); wake?.(); };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (finished) break;
        await new Promise<void>((r) => { wake = r; });
        wake = null;
      }
      if (failure) throw failure;
      while (queue.length > 0) yield queue.shift()!;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Trains a preset's model in the session's worker (it becomes the session's model: generate and
   * saveCheckpoint use it), reporting every step. Aborting `signal` stops after the current step —
   * nothing learnt is lost — and the loop ends normally. Returns the run's summary.
   */
  async *train(options: SessionTrainOptions, signal?: AbortSignal): AsyncGenerator<TrainProgress, { steps: number; stopped: boolean; validationBitsPerToken: number }, undefined> {
    await this.started();
    const queue: TrainProgress[] = [];
    let wake: (() => void) | null = null, finished = false, failure: Error | null = null, summary: unknown = null;
    const text = options.text?.slice(0);
    const id = this.nextId;
    const done = this.request({ type: 'train', options: { ...options, ...(text ? { text } : {}) } }, undefined, (s) => { queue.push(s); wake?.(); });
    done.then((v) => { summary = v; finished = true; wake?.(); }, (e: Error) => { failure = e; finished = true; wake?.(); });
    const onAbort = (): void => { void this.request({ type: 'stop', of: id }); };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (finished) break;
        await new Promise<void>((r) => { wake = r; });
        wake = null;
      }
      while (queue.length > 0) yield queue.shift()!;
      if (failure) throw failure;
      return summary as { steps: number; stopped: boolean; validationBitsPerToken: number };
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The loaded model as checkpoint bytes (for a download: new Blob([bytes])). */
  async saveCheckpoint(): Promise<Uint8Array> {
    await this.started();
    return this.request({ type: 'save' }) as Promise<Uint8Array>;
  }

  dispose(): void {
    this.disposed = true;
    this.restart();
  }

  /** The worker running, its engine created and the last checkpoint loaded (after a restart). */
  private async started(): Promise<void> {
    if (this.disposed) throw new Error('the session has been disposed');
    if (this.worker) return;
    const Ctor = (globalThis as unknown as { Worker?: SessionWorkerConstructor }).Worker;
    if (!Ctor) throw new Error('this context cannot start Workers');
    const w = this.worker = new Ctor(this.sessionWorkerUrl, { type: 'module', name: 'perceiver-ar session' });
    w.onmessage = (e) => this.reply(e.data);
    w.onerror = (e) => this.failAll(new Error(`the session worker failed: ${e.message ?? `could not load ${String(this.sessionWorkerUrl)}`}`));
    this.engineInfo = await this.request({ type: 'init', engine: this.engine }) as EngineSummary;
    if (this.checkpoint) await this.request({ type: 'load', bytes: this.checkpoint.bytes.slice(0), name: this.checkpoint.name });
  }

  /** Stops the worker (a generation in progress with it); the next call starts a new one. */
  private restart(): void {
    this.worker?.terminate();
    this.worker = null;
    this.failAll(abortError());
  }

  private request(body: DistributiveOmit<SessionRequest, 'id'>, onToken?: (token: number) => void, onStep?: (s: TrainProgress) => void): Promise<unknown> {
    const id = this.nextId++, worker = this.worker!;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(onToken ? { onToken } : {}), ...(onStep ? { onStep } : {}) });
      const transfer = body.type === 'load' ? [body.bytes] : body.type === 'train' && body.options.text ? [body.options.text] : [];
      worker.postMessage({ ...body, id }, transfer);
    });
  }

  private reply(r: SessionReply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    if (r.type === 'token') { p.onToken?.(r.token); return; }
    if (r.type === 'step') { p.onStep?.(r.step); return; }
    this.pending.delete(r.id);
    if (r.type === 'result') p.resolve(r.value);
    else p.reject(new Error(r.message));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function abortError(): Error {
  const e = new Error('generation was aborted');
  e.name = 'AbortError';
  return e;
}

async function bytesOf(source: CheckpointSource): Promise<ArrayBuffer> {
  if (source instanceof ArrayBuffer) return source.slice(0);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength).slice().buffer;
  return source.arrayBuffer();
}
