// The architecture registry: what checkpoints, the trainer choice and `info` need to know of each
// model — its config's defaults and validation, how to build it, its size and cost — so none of
// them imports every model. A new architecture is one entry here.
import type { Engine } from '../engine.js';
import type { ParamStore } from '../nn/params.js';
import { CLASSIFIER_DEFAULTS, validateClassifierConfig, type ClassifierConfig } from './adatape/config.js';
import { SequenceClassifier } from './adatape/model.js';
import { classifierParamSpecs } from './adatape/params.js';
import { flopsPerToken, MODEL_DEFAULTS, parameterCount, validateModelConfig, type ModelConfig } from './perceiver-ar/config.js';
import { PerceiverAR } from './perceiver-ar/model.js';
import { validateXLConfig, XL_DEFAULTS, xlFlopsPerToken, xlParameterCount, type XLConfig } from './transformer-xl/config.js';
import { TransformerXL } from './transformer-xl/model.js';

export type Architecture = 'perceiver-ar' | 'transformer-xl' | 'sequence-classifier';
/** The autoregressive sequence models (the sequence trainer's models). */
export type AnyModel = PerceiverAR | TransformerXL;
/** Everything a checkpoint can hold: the sequence models and the sequence classifiers (AdaTape and its baselines). */
export type CheckpointModel = AnyModel | SequenceClassifier;
export type SequenceModelConfig = ModelConfig | XLConfig;
export type AnyModelConfig = SequenceModelConfig | ClassifierConfig;

export interface ArchitectureEntry {
  readonly name: Architecture;
  /** 'sequence': next-token models (train on sequences; eval and generate by modality); 'classification': sequence classifiers. */
  readonly task: 'sequence' | 'classification';
  readonly defaults: AnyModelConfig;
  /** A stored or overridden config, validated (keys added after a file was written take the defaults that keep the old behaviour). */
  validate(raw: object): AnyModelConfig;
  /** seed: the random initialisation (default 0); null leaves the parameters zero, for a checkpoint's weights loaded next. */
  build(engine: Engine, config: AnyModelConfig, seed?: number | null): CheckpointModel & { readonly params: ParamStore };
  parameters(config: AnyModelConfig): number;
  /** Training FLOPs per token (null where not defined). */
  flopsPerToken(config: AnyModelConfig): number | null;
  /** One line for logs: the shape that matters. */
  shape(config: AnyModelConfig): string;
  owns(model: CheckpointModel): boolean;
}

const perceiverAr: ArchitectureEntry = {
  name: 'perceiver-ar', task: 'sequence', defaults: MODEL_DEFAULTS,
  validate: (raw) => validateModelConfig({ ...MODEL_DEFAULTS, ...(raw as Partial<ModelConfig>) }),
  build: (engine, c, seed) => new PerceiverAR(engine, c as ModelConfig, seed),
  parameters: (c) => parameterCount(c as ModelConfig),
  flopsPerToken: (c) => flopsPerToken(c as ModelConfig),
  shape: (cfg) => { const c = cfg as ModelConfig; return `M ${c.contextLength}, N ${c.numLatents}, L ${c.numLayers}, C ${c.width}`; },
  owns: (m) => m instanceof PerceiverAR,
};

const transformerXl: ArchitectureEntry = {
  name: 'transformer-xl', task: 'sequence', defaults: XL_DEFAULTS,
  validate: (raw) => validateXLConfig(raw as Partial<XLConfig>),
  build: (engine, c, seed) => new TransformerXL(engine, c as XLConfig, seed),
  parameters: (c) => xlParameterCount(c as XLConfig),
  flopsPerToken: (c) => xlFlopsPerToken(c as XLConfig),
  shape: (cfg) => {
    const c = cfg as XLConfig;
    return `Transformer-XL, M ${c.contextLength} in segments of ${c.segmentLength} with memory ${c.memoryLength}, L ${c.numLayers}, C ${c.width}`;
  },
  owns: (m) => m instanceof TransformerXL,
};

const sequenceClassifier: ArchitectureEntry = {
  name: 'sequence-classifier', task: 'classification', defaults: CLASSIFIER_DEFAULTS,
  validate: (raw) => validateClassifierConfig({ ...CLASSIFIER_DEFAULTS, ...(raw as Partial<ClassifierConfig>) }),
  build: (engine, c, seed) => new SequenceClassifier(engine, c as ClassifierConfig, seed),
  parameters: (c) => classifierParamSpecs(c as ClassifierConfig).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0),
  flopsPerToken: () => null,
  shape: (cfg) => { const c = cfg as ClassifierConfig; return `${c.model}, C ${c.width}, ${c.numHeads} heads, ${c.numLayers} blocks`; },
  owns: (m) => m instanceof SequenceClassifier,
};

export const ARCHITECTURES: readonly ArchitectureEntry[] = [perceiverAr, transformerXl, sequenceClassifier];

export function architectureNamed(name: string): ArchitectureEntry | undefined {
  return ARCHITECTURES.find((a) => a.name === name);
}

export function architectureOf(model: CheckpointModel): ArchitectureEntry {
  const a = ARCHITECTURES.find((e) => e.owns(model));
  if (!a) throw new Error('a model of no registered architecture');
  return a;
}
