// The mirrored copy task (data=mirrored, spec §9): [SOS, r1 … rK, rK … r1, EOS] from a built-in
// generator; teacher-forced loss and greedy copy accuracy on the mirrored half; `train --sample`
// shows a greedy continuation against the true mirror.
import { DataError } from '../../errors.js';
import type { PerceiverAR } from '../../models/perceiver-ar/model.js';
import { generate } from '../../sample/generate.js';
import { Rng } from '../../tensor/rng.js';
import { evaluateBatches } from '../../train/trainer.js';
import { byteCodec } from '../codec.js';
import { keysOf, type DataKey, type SequenceModality } from '../modality.js';
import { mirroredHalfLength, mirroredSequence } from '../mirrored.js';
import { mirroredSource } from '../source.js';
import { BYTE_OFFSET, idToByte } from '../vocab.js';
import { utf8Codec } from './text.js';
import { checkFiniteLoss, generateTokens, streamEvalOptions, streamKnobs, tokenGenerateOptions } from './token-streams.js';

interface MirroredData { readonly alphabet: number; readonly positionOffset: number }

const ALPHABET: DataKey = {
  default: 256, help: 'symbols drawn from [0, alphabet)',
  check: (v: number) => (Number.isInteger(v) && v >= 2 && v <= 256 ? null : 'must be an integer in [2, 256]'),
};
const POSITION_OFFSET: DataKey = {
  default: 0, help: 'added to every position: a window of M placed at (M′ − M)/2 has the pair geometry of an M′-token task (docs/long-context.md)',
  check: (v: number) => (Number.isInteger(v) && v >= 0 ? null : 'must be an integer ≥ 0'),
};

const hex = (ids: ArrayLike<number>, n: number): string =>
  Array.from({ length: Math.min(n, ids.length) }, (_, i) => idToByte(ids[i]!).toString(16).padStart(2, '0')).join(' ') + (ids.length > n ? ' …' : '');

/** Prompt [SOS, r1 … rK], greedy continuation, compared with the true mirror. */
export function mirroredSample(model: PerceiverAR, seed: number): string {
  const K = mirroredHalfLength(model.config.contextLength);
  const seq = mirroredSequence(new Rng(seed + 1000), K);
  const prompt = seq.subarray(0, K + 1);
  const r = generate(model, prompt, { maxNewTokens: K, temperature: 0, topK: 0, topP: 1, seed, stopAtEos: false, cached: true });
  const expected = seq.subarray(K + 1, 2 * K + 1);
  let correct = 0;
  for (let i = 0; i < K; i++) if (r.tokens[i] === expected[i]) correct++;
  return [
    `sample (bytes in hex; K = ${K}; cached greedy decoding, ${r.resets} re-encodes, ${(K / r.seconds).toFixed(0)} tokens/s):`,
    `  prompt     ${hex(prompt.subarray(1), 16)}`,
    `  generated  ${hex(r.tokens, 16)}`,
    `  expected   ${hex(expected, 16)}`,
    `  ${correct}/${K} generated tokens match the mirror`,
  ].join('\n');
}

export const mirroredModality: SequenceModality = {
  name: 'mirrored', noun: 'the mirrored task', task: 'sequence',
  summary: 'the mirrored copy task from the built-in generator (alphabet, positionOffset)',
  keys: { alphabet: ALPHABET, positionOffset: POSITION_OFFSET },
  inputs: () => [],
  open: (c, vocabSize) => {
    const d = keysOf<MirroredData>(c);
    if (d.alphabet + BYTE_OFFSET > vocabSize) {
      throw new DataError(`the mirrored task with alphabet ${d.alphabet} needs vocabSize ≥ ${d.alphabet + BYTE_OFFSET} (symbols + PAD/EOS/SOS), got ${vocabSize}`);
    }
    return { source: mirroredSource(d.alphabet, d.positionOffset), codec: byteCodec('mirrored', d.alphabet + BYTE_OFFSET) };
  },
  evalOptions: streamEvalOptions,
  evaluate: (req) => {
    // Fresh mirrored sequences from the validation seed; about maxTargets scored tokens (default 4 batches).
    const c = req.model.config, o = req.options, knobs = streamKnobs(req);
    const batchSize = o.number('batchSize') ?? 4, maxTargets = o.number('maxTargets') ?? 0;
    const perBatch = batchSize * Math.floor((c.contextLength - 1) / 2);
    const batches = maxTargets > 0 ? Math.max(1, Math.ceil(maxTargets / perBatch)) : 4;
    const { source } = mirroredModality.open(req.data, c.vocabSize, req.ctx);
    const r = evaluateBatches(req.model, source, { batchSize, batches, numLatents: knobs?.numLatents });
    checkFiniteLoss(r);
    return { mode: 'teacher-forced', ...(knobs ? { numLatents: knobs.numLatents } : {}), nats: r.nats, bitsPerToken: r.bitsPerToken, tokens: r.tokens,
      accuracy: r.accuracy };
  },
  generateOptions: tokenGenerateOptions,
  generate: (req) => generateTokens(req, utf8Codec),
  sample: (req) => {
    if (keysOf<MirroredData>(req.data).positionOffset !== 0) return ['no sample: generation places prompts at position 1, and this run trains at offset positions'];
    if (!req.ctx.json) req.ctx.write(`${mirroredSample(req.model, req.seed)}\n`);
    return [];
  },
};
