// Messages between a page's BrowserSession (session.ts) and its session worker (session-worker.ts).

/** What the session worker needs to create its engine (URLs as strings: they cross a postMessage). */
export interface SessionEngineOptions {
  readonly threads?: number;
  readonly kernelsUrl?: string;
  readonly workerUrl?: string;
}

/** How to sample (the options of the library's generate that make sense from a page). */
export interface SessionGenerateOptions {
  readonly maxNewTokens: number;
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly seed?: number;
  readonly stopAtEos?: boolean;
  readonly weights?: 'f32' | 'bf16';
}

/** A training run from the page: a Perceiver AR preset, on its own data or on a text file's bytes. */
export interface SessionTrainOptions {
  /** A preset name (perceiver-ar info lists them), e.g. 'mirrored-32-small'. */
  readonly preset: string;
  readonly steps: number;
  /** Train on these bytes as text (data=text) instead of the preset's data. */
  readonly text?: ArrayBuffer;
  readonly seed?: number;
}

/** One training step's report. */
export interface TrainProgress { readonly step: number; readonly steps: number; readonly loss: number; readonly tokensPerSecond: number }

export type SessionRequest =
  | { readonly id: number; readonly type: 'init'; readonly engine: SessionEngineOptions }
  | { readonly id: number; readonly type: 'load'; readonly bytes: ArrayBuffer; readonly name: string }
  | { readonly id: number; readonly type: 'generate'; readonly prompt: readonly number[]; readonly options: SessionGenerateOptions }
  | { readonly id: number; readonly type: 'save' }
  | { readonly id: number; readonly type: 'train'; readonly options: SessionTrainOptions }
  /** Stops request `of` (a training run) after its current step; the model keeps what it learnt. */
  | { readonly id: number; readonly type: 'stop'; readonly of: number };

export type SessionReply =
  | { readonly id: number; readonly type: 'result'; readonly value: unknown }
  | { readonly id: number; readonly type: 'token'; readonly token: number }
  | { readonly id: number; readonly type: 'step'; readonly step: TrainProgress }
  | { readonly id: number; readonly type: 'error'; readonly message: string };

/** What loading a checkpoint reports. */
export interface CheckpointSummary {
  readonly name: string;
  readonly architecture: string;
  /** The model config, as stored. */
  readonly model: Readonly<Record<string, unknown>>;
  /** The data config (its `data` names the kind of data), or null. */
  readonly data: Readonly<Record<string, unknown>> | null;
  readonly parameters: number;
}
