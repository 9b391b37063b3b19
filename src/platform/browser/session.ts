// The page's side of a session (docs/browser.md): the engine and model live in a dedicated
// session worker (session-worker.ts), so the page never blocks; every call is async and calls run
// one at a time, in order. Generation streams its tokens as an async iterator and stops on an
// AbortSignal (or when the loop is left): the worker is terminated (a kernel cannot be interrupted)
// and a new one, with the session's model, takes the next call. Training stops cooperatively.
import type {
  CheckpointSummary, RunEvent, TrainSummary, RunRequest, RunResult, SessionEngineOptions, SessionGenerateOptions, SessionReply, SessionRequest, SessionTrainOptions,
  TrainProgress,
} from './session-protocol.js';

export type {
  CheckpointSummary, CommandForm, TrainSummary, RunCommand, RunEvent, RunFile, RunRequest, RunResult, SessionEngineOptions, SessionGenerateOptions, SessionTrainOptions, TrainProgress,
} from './session-protocol.js';


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

/** A request in flight: its result, and what it streams before it (tokens, training steps, run events). */
interface Pending { resolve(v: unknown): void; reject(e: Error): void; onItem?: (item: unknown) => void }

/**
 * A stream of replies to one request, read by an async generator: items queue up until read, and
 * the stream ends when the request settles or is cut (abort, worker restart).
 */
class ReplyStream<T> {
  private readonly queue: T[] = [];
  private wake: (() => void) | null = null;
  finished = false;
  failure: Error | null = null;
  result: unknown = undefined;

  push(item: T): void { this.queue.push(item); this.wake?.(); }
  end(result: unknown): void { this.result = result; this.finished = true; this.wake?.(); }
  fail(e: Error, dropQueued = false): void {
    if (dropQueued) this.queue.length = 0;
    this.failure ??= e;
    this.finished = true;
    this.wake?.();
  }

  async *items(): AsyncGenerator<T, void, undefined> {
    for (;;) {
      while (this.queue.length > 0) yield this.queue.shift()!;
      if (this.finished) break;
      await new Promise<void>((r) => { this.wake = r; });
      this.wake = null;
    }
    if (this.failure) throw this.failure;
  }
}

export class BrowserSession {
  private worker: SessionWorker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** What a restarted worker loads: the last checkpoint loaded, or the model the last training run left (saved as bytes). */
  private checkpoint: { bytes: ArrayBuffer; name: string } | null = null;
  private engineInfo: EngineSummary | null = null;
  private disposed = false;
  /** Calls run one at a time, in order (the worker holds one model; a call may not change it under another). */
  private turn: Promise<void> = Promise.resolve();

  private constructor(private readonly sessionWorkerUrl: string | URL, private readonly engine: SessionEngineOptions) {}

  /** Starts a session worker from `sessionWorkerUrl` (the bundled perceiver-ar/browser/session-worker) and its engine. */
  static async open(sessionWorkerUrl: string | URL, engine: SessionEngineOptions = {}): Promise<BrowserSession> {
    const s = new BrowserSession(sessionWorkerUrl, engine);
    const release = await s.acquire();
    try {
      await s.started();
    } finally {
      release();
    }
    return s;
  }

  /** The engine the worker runs (threads, SIMD build, notes such as why it runs one thread). */
  get info(): EngineSummary { return this.engineInfo!; }

  /** Loads a Perceiver AR checkpoint (safetensors bytes written by `perceiver-ar train`) and says what it holds; on failure the model before stays. */
  async loadCheckpoint(source: CheckpointSource, name = 'checkpoint'): Promise<CheckpointSummary> {
    const bytes = await bytesOf(source);
    const release = await this.acquire();
    try {
      await this.started();
      const summary = await this.request({ type: 'load', bytes: bytes.slice(0), name }) as CheckpointSummary;
      this.checkpoint = { bytes, name };
      return summary;
    } finally {
      release();
    }
  }

  /**
   * The tokens generated after `prompt`, one by one as they are sampled. Aborting `signal` — or
   * leaving the loop early — stops generation at once (the worker is terminated and a new one
   * takes the next call); an abort ends the loop with an AbortError.
   */
  async *generate(prompt: readonly number[], options: SessionGenerateOptions, signal?: AbortSignal): AsyncGenerator<number, void, undefined> {
    yield* this.streamed<number>({ type: 'generate', prompt: [...prompt], options }, signal);
  }

  /**
   * Runs a command through the data's modality, as the command line does (`generate`, `eval`,
   * `classify` with the same options): the events it streams (generated text, notices, progress),
   * then its result — the figures `--json` would print and the files it wrote (a PNG grid, a .mid
   * and its piano roll, a heatmap). `request.files` gives the files it reads, by option or data key.
   * Aborting `signal` or leaving the loop stops it as for generate.
   */
  async *run(request: RunRequest, signal?: AbortSignal): AsyncGenerator<RunEvent, RunResult, undefined> {
    const files = Object.fromEntries(Object.entries(request.files ?? {}).map(([k, f]) => [k, { name: f.name, bytes: f.bytes.slice(0) }]));
    return (yield* this.streamed<RunEvent>({ type: 'run', request: { ...request, files } }, signal)) as RunResult;
  }

  /** One request whose replies stream until it settles; an abort or an early exit terminates the worker (a kernel cannot be interrupted). */
  private async *streamed<T>(body: DistributiveOmit<SessionRequest, 'id'>, signal?: AbortSignal): AsyncGenerator<T, unknown, undefined> {
    const release = await this.acquire(signal);
    const stream = new ReplyStream<T>();
    let sent = false;
    const onAbort = (): void => { stream.fail(abortError(), true); if (sent) this.restart(); };
    try {
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) throw abortError();
      await this.started();
      if (signal?.aborted) throw abortError();
      sent = true;
      this.request(body, (item) => stream.push(item as T)).then((v) => stream.end(v), (e: Error) => stream.fail(e));
      yield* stream.items();
      return stream.result;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (sent && !stream.finished) this.restart(); // left early: the worker would go on
      release();
    }
  }

  /**
   * Trains a preset's model in the session's worker (it becomes the session's model: generate and
   * saveCheckpoint use it), reporting every step. Aborting `signal` — or leaving the loop early —
   * stops after the current step and keeps what was learnt. Returns the run's summary.
   */
  async *train(options: SessionTrainOptions, signal?: AbortSignal): AsyncGenerator<TrainProgress, TrainSummary, undefined> {
    const release = await this.acquire(signal);
    const stream = new ReplyStream<TrainProgress>();
    let id = 0;
    const stop = (): void => { if (id && this.worker && !stream.finished) this.worker.postMessage({ id: this.nextId++, type: 'stop', of: id }); };
    try {
      if (signal?.aborted) throw abortError();
      await this.started();
      const text = options.text?.slice(0);
      id = this.nextId;
      const done = this.request({ type: 'train', options: { ...options, ...(text ? { text } : {}) } }, (s) => stream.push(s as TrainProgress));
      done.then((v) => stream.end(v), (e: Error) => stream.fail(e));
      signal?.addEventListener('abort', stop, { once: true });
      if (signal?.aborted) stop();
      yield* stream.items();
      return stream.result as TrainSummary;
    } finally {
      signal?.removeEventListener('abort', stop);
      if (id && !stream.finished) {
        stop(); // left early: stop after the current step, and wait for the run to end
        await new Promise<void>((r) => { const t = setInterval(() => { if (stream.finished) { clearInterval(t); r(); } }, 10); });
      }
      // A restarted worker comes back with the trained model, not the checkpoint loaded before it.
      try {
        if (id && !stream.failure && this.worker) {
          // With its training state, so that a resume after a restart continues the run.
          const saved = await this.request({ type: 'save', training: true }) as Uint8Array;
          this.checkpoint = { bytes: saved.buffer as ArrayBuffer, name: `${options.resume ? 'resumed' : options.preset ?? 'model'} (trained in this session)` };
        }
      } finally {
        release();
      }
    }
  }

  /**
   * The session's model as checkpoint bytes (for a download: new Blob([bytes])). `training`: with
   * its optimizer and training state, when it has them, so that `perceiver-ar train --resume` (or
   * a session's resume) continues the run — about three times the size.
   */
  async saveCheckpoint(options: { readonly training?: boolean } = {}): Promise<Uint8Array> {
    const release = await this.acquire();
    try {
      await this.started();
      return await this.request({ type: 'save', training: options.training ?? false }) as Uint8Array;
    } finally {
      release();
    }
  }

  dispose(): void {
    this.disposed = true;
    this.restart();
  }

  /**
   * Waits for the previous call to finish; the returned function lets the next one run. An abort
   * of `signal` while waiting ends the wait with an AbortError (the call never reaches the worker).
   */
  private async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.disposed) throw new Error('the session has been disposed');
    let release!: () => void;
    const previous = this.turn;
    this.turn = new Promise<void>((r) => { release = r; });
    let onAbort: (() => void) | null = null;
    const aborted = new Promise<never>((_, reject) => { onAbort = () => reject(abortError()); signal?.addEventListener('abort', onAbort, { once: true }); });
    try {
      if (signal?.aborted) throw abortError();
      await Promise.race([previous, aborted]);
    } catch (e) {
      // Our turn is passed on once the previous call is done.
      void previous.then(release);
      throw e;
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      aborted.catch(() => {});
    }
    if (this.disposed) { release(); throw new Error('the session has been disposed'); }
    return release;
  }

  /** The worker running, its engine created and the session's model loaded (after a restart); a worker that fails to start is stopped. */
  private async started(): Promise<void> {
    if (this.worker) return;
    const Ctor = (globalThis as unknown as { Worker?: SessionWorkerConstructor }).Worker;
    if (!Ctor) throw new Error('this context cannot start Workers');
    const w = this.worker = new Ctor(this.sessionWorkerUrl, { type: 'module', name: 'perceiver-ar session' });
    w.onmessage = (e) => this.reply(e.data);
    w.onerror = (e) => { this.restart(new Error(`the session worker failed: ${e.message ?? `could not load ${String(this.sessionWorkerUrl)}`}`)); };
    try {
      this.engineInfo = await this.request({ type: 'init', engine: this.engine }) as EngineSummary;
      if (this.checkpoint) await this.request({ type: 'load', bytes: this.checkpoint.bytes.slice(0), name: this.checkpoint.name });
    } catch (e) {
      this.restart();
      throw e;
    }
  }

  /** Stops the worker (with what it was doing); the next call starts a new one. */
  private restart(why: Error = abortError()): void {
    this.worker?.terminate();
    this.worker = null;
    for (const p of this.pending.values()) p.reject(why);
    this.pending.clear();
  }

  private request(body: DistributiveOmit<SessionRequest, 'id'>, onItem?: (item: unknown) => void): Promise<unknown> {
    const worker = this.worker;
    if (!worker) return Promise.reject(abortError());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(onItem ? { onItem } : {}) });
      const transfer = body.type === 'load' ? [body.bytes] : body.type === 'train' && body.options.text ? [body.options.text]
        : body.type === 'run' ? Object.values(body.request.files ?? {}).map((f) => f.bytes) : [];
      worker.postMessage({ ...body, id }, transfer);
    });
  }

  private reply(r: SessionReply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    if (r.type === 'token' || r.type === 'step' || r.type === 'event') { p.onItem?.(r.type === 'token' ? r.token : r.type === 'step' ? r.step : r.event); return; }
    this.pending.delete(r.id);
    if (r.type === 'result') p.resolve(r.value);
    else p.reject(new Error(r.message));
  }
}


type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function abortError(): Error {
  const e = new Error('the call was aborted');
  e.name = 'AbortError';
  return e;
}

async function bytesOf(source: CheckpointSource): Promise<ArrayBuffer> {
  if (source instanceof ArrayBuffer) return source.slice(0);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength).slice().buffer;
  return source.arrayBuffer();
}
