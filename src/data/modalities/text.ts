// Text as UTF-8 bytes (data=text): one document [SOS, byte + 3 …, EOS] from a file, split into
// training and validation streams; bits/token; generation that prints the decoded text.
import { DataError } from '../../errors.js';
import { streamSource } from '../source.js';
import { byteCodec } from '../codec.js';
import { DATA_PATH, VALIDATION_FRACTION } from '../keys.js';
import { keysOf, type SequenceModality } from '../modality.js';
import { BYTE_OFFSET, byteToId, EOS, SOS } from '../vocab.js';
import { evaluateTokenStream, generateTokens, streamEvalOptions, tokenGenerateOptions, type TextCodec } from './token-streams.js';

interface TextData { readonly dataPath: string; readonly validationFraction: number }

/** A text file's bytes as one document of byte ids: [SOS, byte + 3 …, EOS]. */
export function textIds(bytes: Uint8Array): Int32Array {
  const ids = new Int32Array(bytes.length + 2);
  ids[0] = SOS;
  for (let i = 0; i < bytes.length; i++) ids[i + 1] = byteToId(bytes[i]!);
  ids[bytes.length + 1] = EOS;
  return ids;
}

/** UTF-8 bytes shifted past the reserved ids; decoding streams whole characters as they complete. */
export const utf8Codec: TextCodec = {
  encode: (text) => Array.from(new TextEncoder().encode(text), byteToId),
  decoder: () => {
    const decoder = new TextDecoder('utf-8', { fatal: false });
    return (id) => (id >= BYTE_OFFSET && id < BYTE_OFFSET + 256 ? decoder.decode(Uint8Array.of(id - BYTE_OFFSET), { stream: true }) : '');
  },
};

export const textModality: SequenceModality = {
  name: 'text', noun: 'text data', task: 'sequence',
  summary: 'a UTF-8 text file as bytes (--dataPath=FILE); the last validationFraction held out',
  keys: { dataPath: DATA_PATH, validationFraction: VALIDATION_FRACTION },
  inputs: (c) => [String(c.dataPath)],
  open: (c, vocabSize, ctx) => {
    const d = keysOf<TextData>(c);
    if (vocabSize < 256 + BYTE_OFFSET) throw new DataError(`text data needs vocabSize ≥ ${256 + BYTE_OFFSET} (bytes + PAD/EOS/SOS), got ${vocabSize}`);
    return { source: streamSource(textIds(ctx.fs.readBytes(d.dataPath, 'data file')), d.validationFraction, d.dataPath), codec: byteCodec('text') };
  },
  evalOptions: streamEvalOptions,
  evaluate: (req) => {
    const d = keysOf<TextData>(req.data);
    return evaluateTokenStream(req, textIds(req.ctx.fs.readBytes(d.dataPath, 'data file')), d.validationFraction);
  },
  generateOptions: tokenGenerateOptions,
  generate: (req) => generateTokens(req, utf8Codec),
};
