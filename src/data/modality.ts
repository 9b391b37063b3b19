// The modality interface: everything the library knows about one kind of data, declared in one
// module (src/data/modalities/*) and found through one registry (registry.ts). Train, eval,
// generate and info ask the registry; none of them branches on the kind of data.
//
// A modality declares
// - its data config keys (defaults, validation, help) — stored in checkpoints;
// - how it reads its data from a FileSystem (bytes, so Node and browsers alike) into training and
//   validation sources with a codec (ids ↔ domain objects, coordinates, which ids may be sampled);
// - its evaluation and the metric it reports (bits/token, bits/dim, NLL per event, accuracy);
// - its generation (sampling, continuation) and how outputs are rendered (text, PNG, MIDI + piano roll);
// - the options its eval and generate commands take.
import type { FileSystem } from '../io/file-system.js';
import type { Progress } from '../io/progress.js';
import type { ClassifierConfig } from '../models/adatape/config.js';
import type { ClassifierBatch, SequenceClassifier } from '../models/adatape/model.js';
import type { PerceiverAR } from '../models/perceiver-ar/model.js';
import type { ModelConfig } from '../models/perceiver-ar/config.js';
import type { AnyModel, SequenceModelConfig } from '../models/registry.js';
import type { Options, OptionSpec } from '../options.js';
import type { Rng } from '../tensor/rng.js';
import type { TrainConfig } from '../train/config.js';
import type { Codec } from './codec.js';
import type { DataSource } from './source.js';

export type DataValue = string | number | boolean;

/** A data config: which modality (`data`) and that modality's keys (all keys of every modality are stored, at their defaults when unused). */
export type DataConfig = { readonly data: string } & { readonly [key: string]: DataValue };

/** One data config key: its default, a check (a problem in words, or null) and one line of help. */
export interface DataKey {
  readonly default: DataValue;
  readonly help: string;
  readonly check: (v: never) => string | null;
  /** Must be set (not the default) when the modality is used. */
  readonly required?: boolean;
  /** Names a file (eval and generate may give it again: --dataPath, --tokenizer). */
  readonly path?: boolean;
  /** For a path: the file types it reads ('.json'), for pickers and drops in a page (any file when absent). */
  readonly accept?: string;
}

/** What a command reports: printed as `key: value` lines, or as one JSON object with --json. */
export type Metrics = Record<string, number | string | null | boolean>;

/** What a modality may use while it runs: files, notices, progress and output. */
export interface RunContext {
  readonly fs: FileSystem;
  /** Notices (skipped files, corpus summaries); the CLI prints them on stderr unless --quiet/--json. */
  readonly log: (line: string) => void;
  /** Streamed output (generated text); the CLI writes it to stdout unless --json. */
  readonly write: (text: string) => void;
  readonly progress: (total: number, label: string, every?: number) => Progress;
  /** --json: the command's result is printed as JSON only. */
  readonly json: boolean;
  /** The files and folders the command reads (its checkpoint, its data): no output may overwrite them (checkOutputAgainst). */
  readonly inputs: readonly string[];
}

/** A command a modality adds to the command line (`perceiver-ar pianoroll FILE.mid`): it needs no engine. */
export interface DataCommand {
  /** Its help: the usage line, then what it does. */
  readonly help: string;
  readonly options: readonly OptionSpec[];
  /** file: the first word after the command, when it is not an option. */
  run(file: string | undefined, options: Options, ctx: RunContext): Metrics;
}

interface ModalityBase {
  /** The `data` value that selects it. */
  readonly name: string;
  /** How messages name it ('text data', 'the mirrored task'). */
  readonly noun: string;
  /** One line for help and docs. */
  readonly summary: string;
  /** Its data config keys (shared ones, such as dataPath, are the same objects in every modality that uses them). */
  readonly keys: Readonly<Record<string, DataKey>>;
  /** Problems across keys, in words. */
  validate?(c: DataConfig): string[];
  /**
   * The modality that reads `--dataPath` when eval or generate is given one for data that has no
   * path (built-in synthetic sets scored on a dataset of the same kind).
   */
  readonly withPath?: string;
  /** Lines for `perceiver-ar generate --help` / `eval --help` about this kind of data. */
  readonly help?: { readonly generate?: string; readonly eval?: string; readonly classify?: string };
  /** Commands of its own (tools for its files). */
  readonly commands?: Readonly<Record<string, DataCommand>>;
  /** Paths a run reads (no output may overwrite them: checkOutputAgainst). */
  inputs(c: DataConfig): string[];
  /** Names of the files its reader takes from a data folder (no output may be written as one inside an input folder). */
  readonly dataFiles?: RegExp;
}

/** Data read for a sequence model: batches for the trainer and the codec of its ids. */
export interface SequenceData {
  readonly source: DataSource;
  readonly codec: Codec;
  /** The data config to store with the model: the given one with what reading the data fixed (an image dataset's shape). */
  readonly dataConfig?: DataConfig;
}

export interface SequenceEvalRequest {
  readonly model: AnyModel;
  /** The checkpoint's data config, with --data and --dataPath applied. */
  readonly data: DataConfig;
  /** --dataPath given: score that whole file (not the checkpoint's validation split). */
  readonly dataPathGiven: boolean;
  readonly train: TrainConfig | null;
  readonly options: Options;
  readonly ctx: RunContext;
}

export interface SequenceGenerateRequest {
  readonly model: PerceiverAR;
  readonly data: DataConfig;
  readonly options: Options;
  readonly ctx: RunContext;
}

export interface SampleRequest {
  readonly model: PerceiverAR;
  readonly data: DataConfig;
  readonly opened: SequenceData;
  readonly seed: number;
  /** Where the run's checkpoint goes (samples are written beside it), or null. */
  readonly checkpointPath: string | null;
  readonly ctx: RunContext;
}

/** A kind of data for the autoregressive sequence models (Perceiver AR, Transformer-XL). */
export interface SequenceModality extends ModalityBase {
  readonly task: 'sequence';
  /** Model config values this data implies (a tokenizer's vocabulary), used where the user set none. */
  modelDefaults?(c: DataConfig, fs: FileSystem): { readonly vocabSize?: number };
  /** Reads the data; vocabSize is the model's (a modality that needs more ids says so). */
  open(c: DataConfig, vocabSize: number, ctx: Pick<RunContext, 'fs' | 'log'>): SequenceData;
  /** Options of `eval` for a model of this config (beside the common ones). */
  evalOptions(model: SequenceModelConfig): OptionSpec[];
  evaluate(request: SequenceEvalRequest): Metrics;
  /** Path keys its generation reads (images: dataPath, for test images to complete; subword: tokenizer). */
  readonly generateReads?: readonly string[];
  /** Options of `generate` (beside the common ones). */
  generateOptions(model: ModelConfig): OptionSpec[];
  generate(request: SequenceGenerateRequest): Metrics;
  /** `train --sample`: shows (ctx.write) or writes a sample after training; returns lines for the log. */
  sample?(request: SampleRequest): string[];
  /**
   * The data keys (beside `data`) a model imported from elsewhere is stored with when it is of this
   * kind — judged from its vocabulary and the tokenizer.json that came with it — or null.
   */
  importedData?(model: { readonly vocabSize: number; readonly tokenizerPath?: string }): Readonly<Record<string, unknown>> | null;
  /** The files `sample` writes for a run checkpointed at `checkpointPath` (checked before training starts). */
  sampleOutputs?(checkpointPath: string | null): string[];
}

/** Data read for a classifier: model defaults to start from, training batches and a fixed test set. */
export interface ClassifierData {
  readonly description: string;
  readonly modelDefaults: ClassifierConfig;
  readonly trainDefaults: TrainConfig;
  readonly makeBatch: (rng: Rng, batchSize: number) => ClassifierBatch;
  /** The fixed test set: `batches` batches of batchSize (labelled images: every test image when batches is 0). */
  readonly testSet: (batchSize: number, batches: number) => ClassifierBatch[];
  /** A model config that cannot run on this data, in words; null when it fits. */
  readonly mismatch: (c: ClassifierConfig) => string | null;
  readonly testExamples: number | null;
}

export interface ClassifierEvalRequest {
  readonly model: SequenceClassifier;
  readonly data: DataConfig;
  readonly opened: ClassifierData;
  readonly testSet: readonly ClassifierBatch[];
  readonly options: Options;
  readonly ctx: RunContext;
}

/** `classify`: one input read from a file (an image) by a classifier of this data. */
export interface ClassifyRequest {
  readonly model: SequenceClassifier;
  readonly data: DataConfig;
  readonly options: Options;
  readonly ctx: RunContext;
}

/** A kind of data for the sequence classifiers (AdaTape and its baselines). */
export interface ClassificationModality extends ModalityBase {
  readonly task: 'classification';
  /** `train --task=NAME` selects it. */
  readonly taskName: string;
  /** --length / --sequenceLength set the examples' length (parity); otherwise the data fixes it (the patches of an image). */
  readonly takesLength: boolean;
  /** What one example is called in reports ('images', 'examples'). */
  readonly exampleNoun: string;
  /** Model values that follow from others the user set, for a new run (an image's patch count from patchSize). */
  deriveModel?(model: Record<string, unknown>): void;
  /** Whether a classifier config was made for this data (older checkpoints store no data config). */
  fitsModel(c: ClassifierConfig): boolean;
  /** A model config (e.g. a parity length) the data needs to know. */
  open(c: DataConfig, model: Partial<ClassifierConfig>, ctx: Pick<RunContext, 'fs' | 'log'>): ClassifierData;
  /** Options of `eval` beyond the common classifier ones, and what they add to the result (a heatmap). */
  readonly evalOptions: readonly OptionSpec[];
  /** Refuses options that cannot apply to this model, before any work. */
  checkEvalOptions?(model: ClassifierConfig, options: Options, ctx: RunContext): void;
  evaluateExtra?(request: ClassifierEvalRequest): Metrics;
  /** Options of `classify` (the input file among them); a modality without them classifies no single inputs. */
  readonly classifyOptions?: readonly OptionSpec[];
  /** One input from a file: the predicted class and every class's probability, and what the model read where that can be drawn. */
  classify?(request: ClassifyRequest): Metrics;
}

export type Modality = SequenceModality | ClassificationModality;

/** A modality's own view of a data config: its keys typed (the registry has validated them). */
export const keysOf = <T>(c: DataConfig): T & { readonly data: string } => c as unknown as T & { readonly data: string };
