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
  /** Latents N' (the test-time knob; default the model's). */
  readonly numLatents?: number;
}

/** A training run from the page: a Perceiver AR preset, on its own data or on a text file's bytes. */
export interface SessionTrainOptions {
  /** A preset name (perceiver-ar info lists them), e.g. 'mirrored-32-small'; not used when resuming. */
  readonly preset?: string;
  readonly steps: number;
  /** Train on these bytes as text (data=text) instead of the preset's data; when resuming, the text the run trains on. */
  readonly text?: ArrayBuffer;
  readonly seed?: number;
  /**
   * Continue the session's model with its training state (a run of this session, or a checkpoint
   * written by perceiver-ar train --checkpoint) up to `steps` in all; preset and seed are not used.
   */
  readonly resume?: boolean;
}

/** The commands a session runs through the data's modality, as the command line does (session-commands.ts). */
export type RunCommand = 'generate' | 'eval' | 'classify';

/** A file given to a run, by the option or data key that reads it ('prompt', 'image', 'dataPath', 'tokenizer'). */
export interface RunFile { readonly name: string; readonly bytes: ArrayBuffer }

export interface RunRequest {
  readonly command: RunCommand;
  /** The command's options as the command line names them (without --): { count: 4, complete: 16, temperature: 0.9 }. */
  readonly options: Readonly<Record<string, string | number | boolean>>;
  readonly files?: Readonly<Record<string, RunFile>>;
}

/** A command's form: the options it takes (as the modality declares them), the data keys naming files it reads, its help. */
export interface CommandForm {
  readonly options: readonly { readonly name: string; readonly type: 'int' | 'number' | 'string' | 'path' | 'flag'; readonly allowed?: string;
    readonly choices?: readonly string[]; readonly output?: boolean; readonly accept?: string }[];
  /** Data keys naming files it reads (a tokenizer, the data to score), with the file types each takes (any when absent). */
  readonly files: readonly { readonly name: string; readonly accept?: string }[];
  readonly help: string | null;
}

/** What a run reports while it works: text it streams (generated text), notices, progress. */
export type RunEvent =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'progress'; readonly label: string; readonly done: number; readonly total: number };

/** What a run returns: its figures (as `--json` prints them) and the files it wrote (names as the modality chose them). */
export interface RunResult {
  readonly metrics: Readonly<Record<string, number | string | null | boolean>>;
  readonly files: readonly { readonly name: string; readonly bytes: Uint8Array }[];
}

/** One training step's report. */
export interface TrainProgress { readonly step: number; readonly steps: number; readonly loss: number; readonly tokensPerSecond: number }

export type SessionRequest =
  | { readonly id: number; readonly type: 'init'; readonly engine: SessionEngineOptions }
  | { readonly id: number; readonly type: 'load'; readonly bytes: ArrayBuffer; readonly name: string }
  | { readonly id: number; readonly type: 'generate'; readonly prompt: readonly number[]; readonly options: SessionGenerateOptions }
  | { readonly id: number; readonly type: 'save'; readonly training: boolean }
  | { readonly id: number; readonly type: 'run'; readonly request: RunRequest }
  | { readonly id: number; readonly type: 'train'; readonly options: SessionTrainOptions }
  /** Stops request `of` (a training run) after its current step; the model keeps what it learnt. */
  | { readonly id: number; readonly type: 'stop'; readonly of: number };

export type SessionReply =
  | { readonly id: number; readonly type: 'result'; readonly value: unknown }
  | { readonly id: number; readonly type: 'token'; readonly token: number }
  | { readonly id: number; readonly type: 'step'; readonly step: TrainProgress }
  | { readonly id: number; readonly type: 'event'; readonly event: RunEvent }
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
  /** The training step it was saved at, when it holds a training state (a run can resume it). */
  readonly step: number | null;
  /** What it can run (session.run), with each command's form. */
  readonly commands: Partial<Record<RunCommand, CommandForm>>;
}

/** What a training run reports when it ends. */
export interface TrainSummary {
  readonly steps: number;
  readonly stopped: boolean;
  readonly validationBitsPerToken: number;
  readonly parameters: number;
  /** The session's model now (the trained one). */
  readonly model: CheckpointSummary;
}
