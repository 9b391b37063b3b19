// What the token-stream modalities (bytes of text, token ids, subword text, the copy task) share:
// a document split into training and validation streams, bits/token over a stream, and generation
// from a prompt with decoded output streamed as it is sampled.
import { UsageError } from '../../errors.js';
import { progressWhenTotalKnown } from '../../io/progress.js';
import type { ModelConfig } from '../../models/perceiver-ar/config.js';
import { PerceiverAR } from '../../models/perceiver-ar/model.js';
import type { AnyModel, SequenceModelConfig } from '../../models/registry.js';
import { flagOption, intOption, invalidOption, numberOption, stringOption, type OptionSpec } from '../../options.js';
import { generate, stepsPerSecond } from '../../sample/generate.js';
import { evaluateModelStream, type EvalResult } from '../../train/evaluate.js';
import type { Metrics, SequenceEvalRequest, SequenceGenerateRequest } from '../modality.js';
import { SOS } from '../vocab.js';

const isPerceiver = (c: SequenceModelConfig): c is ModelConfig => 'numLatents' in c && !('segmentLength' in c);

/** The model, when it is a Perceiver AR (data scored with coordinates or piece by piece needs one). */
export function perceiverModel(model: AnyModel, noun: string): PerceiverAR {
  if (!(model instanceof PerceiverAR)) throw new UsageError(`evaluating ${noun} needs a Perceiver AR model; this checkpoint holds a Transformer-XL`);
  return model;
}

/** A NaN or infinite evaluation is an error (exit non-zero), not a metric. */
export function checkFiniteLoss(r: { nats: number; tokens: number }): void {
  if (Number.isFinite(r.nats)) return;
  throw new RangeError(`eval: the loss over ${r.tokens} targets is not finite (${r.nats}): the model's outputs overflow float32 (a damaged or diverged checkpoint?)`);
}

/** `eval` options over a stream: Perceiver AR's mode, stride and latents (Transformer-XL scores whole windows), batch size, a cap on targets. */
export function streamEvalOptions(c: SequenceModelConfig): OptionSpec[] {
  const common = [intOption('batchSize', 1), intOption('maxTargets', 0, Infinity, 'an integer ≥ 0 (0 = all)')];
  if (!isPerceiver(c)) return common;
  const M = c.contextLength;
  return [stringOption('mode', ['exact', 'strided']), intOption('stride', 1, M), intOption('numLatents', 1, M, `an integer in [stride, ${M}]`), ...common];
}

/** Perceiver AR's scoring knobs from the options (null for Transformer-XL). */
export function streamKnobs(req: SequenceEvalRequest): { mode: 'exact' | 'strided'; stride: number; numLatents: number } | null {
  const c = req.model.config, o = req.options;
  if (!isPerceiver(c)) return null;
  const mode = (o.string('mode') ?? 'strided') as 'exact' | 'strided';
  if (mode === 'exact' && o.has('stride')) throw new UsageError('--stride does not apply to --mode=exact (one target per window)');
  const stride = mode === 'exact' ? 1 : o.number('stride') ?? c.numLatents;
  const numLatents = o.number('numLatents') ?? stride;
  if (numLatents < stride) invalidOption('numLatents', numLatents, `an integer in [stride, ${c.contextLength}]`);
  return { mode, stride, numLatents };
}

/**
 * Bits/token of a model over a document's validation part (its last validationFraction), or over
 * the whole of --dataPath. `bytesOf` (subword text) turns the scored targets into the bytes they
 * stand for, for bits per byte.
 */
export function evaluateTokenStream(req: SequenceEvalRequest, ids: Int32Array, validationFraction: number,
  bytesOf?: (targets: Int32Array) => number): Metrics {
  const knobs = streamKnobs(req), o = req.options, path = String(req.data.dataPath);
  const batchSize = o.number('batchSize') ?? 4, maxTargets = o.number('maxTargets') ?? 0;
  const cut = Math.floor(ids.length * (1 - (req.dataPathGiven ? 0 : validationFraction)));
  const stream = req.dataPathGiven ? ids : ids.subarray(cut);
  if (stream.length < 2) {
    throw new UsageError(`${path} has no validation split in this checkpoint's data config (validationFraction ${validationFraction}); ` +
      'give --dataPath=FILE to evaluate a whole file');
  }
  const progress = progressWhenTotalKnown((total, every) => req.ctx.progress(total, 'eval', every));
  const r: EvalResult = evaluateModelStream(req.model, stream, { batchSize, maxTargets, knobs, onProgress: (done, total) => progress.update(done, total) });
  progress.finish();
  checkFiniteLoss(r);
  const bytes = bytesOf?.(stream.subarray(1, 1 + r.tokens));
  return {
    mode: knobs?.mode ?? 'windows', ...(knobs ? { stride: knobs.stride, numLatents: knobs.numLatents } : {}), nats: r.nats,
    bitsPerToken: r.bitsPerToken, ...(bytes === undefined ? {} : { bitsPerByte: bytes > 0 ? (r.nats * r.tokens) / Math.LN2 / bytes : null, bytes }), tokens: r.tokens,
    seconds: r.seconds, file: path, part: req.dataPathGiven ? 'whole file' : 'validation split',
  };
}

/** The sampling options every generating modality takes. */
export const SAMPLING_OPTIONS: readonly OptionSpec[] = [
  numberOption('temperature', (n) => n >= 0, 'a number ≥ 0 (0 = greedy)'), intOption('topK', 0, Infinity, 'an integer ≥ 0 (0 = off)'),
  numberOption('topP', (n) => n > 0 && n <= 1, 'a number in (0, 1]'), intOption('seed', 0),
];

/** `generate` options of the token-stream modalities. */
export function tokenGenerateOptions(c: ModelConfig): OptionSpec[] {
  const M = c.contextLength;
  return [
    stringOption('prompt'), stringOption('promptIds'), intOption('maxNewTokens', 0), ...SAMPLING_OPTIONS,
    intOption('numLatents', 1, M), intOption('fillLatents', 1, M, 'an integer ≥ 1'), flagOption('uncached'), flagOption('stopAtEos'), flagOption('ids'),
  ];
}

/** How a modality turns prompt text into ids and streams generated ids back as text. */
export interface TextCodec {
  /** The ids of a prompt text (without SOS). */
  encode(text: string): number[];
  /** A decoder that returns the text that became complete with each id ('' while a character is incomplete); `prompt`: the ids before. */
  decoder(prompt: readonly number[]): (id: number) => string;
  /** Ids before a text prompt (default [SOS]; none for vocabularies without one, whose prompts must not be empty). */
  readonly startIds?: readonly number[];
  /** Whether generation stops at EOS by default (true; false where id EOS is an ordinary token). */
  readonly stopsAtEos?: boolean;
}

/** Samples after a prompt (text through `codec`, or --promptIds), streaming decoded text (or ids with --ids). */
export function generateTokens(req: SequenceGenerateRequest, codec: TextCodec): Metrics {
  const c = req.model.config, o = req.options;
  const promptText = o.string('prompt'), promptIds = o.string('promptIds');
  if (promptText !== undefined && promptIds !== undefined) throw new UsageError('give either --prompt=TEXT or --promptIds="2 65 66", not both');
  if (promptIds !== undefined && promptIds.trim() === '') throw new UsageError('--promptIds is empty; give ids such as --promptIds="2 65 66"');
  const prompt = promptIds !== undefined
    ? promptIds.trim().split(/[\s,]+/).map((w) => {
      const n = Number(w);
      if (!Number.isInteger(n) || n < 0 || n >= c.vocabSize) throw new UsageError(`--promptIds: '${w}' is not an id in [0, ${c.vocabSize})`);
      return n;
    })
    : [...(codec.startIds ?? [SOS]), ...codec.encode(promptText ?? '')];
  if (prompt.length === 0) throw new UsageError('this model has no start token: give a prompt (--prompt=TEXT or --promptIds)');
  if (prompt.some((id) => id >= c.vocabSize)) throw new UsageError(`the prompt has ids beyond this model's vocabulary (${c.vocabSize}); use --promptIds`);
  const fillLatents = o.number('fillLatents');
  const opts = {
    // The default stops where an absolute position table ends (an explicit longer request is refused with a message).
    maxNewTokens: o.number('maxNewTokens') ?? (c.position === 'rotary' || c.positionOrigin === 'window' ? 256 : Math.max(0, Math.min(256, c.maxPosition - prompt.length + 1))),
    temperature: o.number('temperature') ?? 1, topK: o.number('topK') ?? 0, topP: o.number('topP') ?? 1, seed: o.number('seed') ?? 0,
    numLatents: o.number('numLatents') ?? c.numLatents, cached: !o.flag('uncached'), stopAtEos: o.flagOr('stopAtEos', codec.stopsAtEos ?? true),
    ...(fillLatents === undefined ? {} : { fillLatents }),
  };
  const asIds = o.flag('ids'), json = req.ctx.json, decode = codec.decoder(prompt);
  const write = (id: number): void => {
    if (json) return;
    req.ctx.write(asIds ? `${id} ` : decode(id));
  };
  const r = generate(req.model, prompt, opts, write);
  if (!json) req.ctx.write('\n');
  return { tokens: r.tokens.length, seconds: r.seconds, tokensPerSecond: r.tokens.length / r.seconds, firstTokenSeconds: r.firstTokenSeconds,
    stepsPerSecond: stepsPerSecond(r), resets: r.resets, cached: opts.cached,
    ids: Array.from(r.tokens).join(' ') };
}
