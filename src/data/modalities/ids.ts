// Token ids (data=ids): a file of ids used as they are — whitespace-separated integers, or `.i32` /
// `.u16` little-endian binary — split into training and validation streams; bits/token.
import { DataError } from '../../errors.js';
import { extensionOf } from '../../io/file-system.js';
import { byteCodec } from '../codec.js';
import { DATA_PATH, VALIDATION_FRACTION } from '../keys.js';
import { keysOf, type SequenceModality } from '../modality.js';
import { streamSource } from '../source.js';
import { EOS, PAD, SOS } from '../vocab.js';
import { utf8Codec } from './text.js';
import { evaluateTokenStream, generateTokens, streamEvalOptions, tokenGenerateOptions } from './token-streams.js';

interface IdsData { readonly dataPath: string; readonly validationFraction: number }

/**
 * A token-id file: `.i32` little-endian int32, `.u16` little-endian uint16, otherwise text of
 * whitespace-separated non-negative integers. Ids are used as they are (include SOS/EOS yourself).
 * Every id is range-checked before it is stored, and PAD (0) — which marks "no token" in batches —
 * is refused, naming the first position that holds it.
 */
export function parseTokenIds(bytes: Uint8Array, path: string, vocabSize: number): Int32Array {
  const ext = extensionOf(path);
  const fail = (msg: string): never => { throw new DataError(`token-id file ${path}: ${msg}`); };
  const check = (id: number, i: number): number => {
    if (id === PAD) fail(`id ${PAD} (PAD) at token ${i}; PAD marks padding and cannot appear inside a stream (ids start at ${EOS}: EOS ${EOS}, SOS ${SOS})`);
    if (id < 0 || id >= vocabSize) fail(`id ${id} at token ${i} is outside the vocabulary [0, ${vocabSize})`);
    return id;
  };
  let ids: Int32Array;
  if (ext === '.i32' || ext === '.u16') {
    const width = ext === '.i32' ? 4 : 2;
    if (bytes.length % width !== 0) fail(`${bytes.length} bytes is not a whole number of ${ext} values`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    ids = new Int32Array(bytes.length / width);
    for (let i = 0; i < ids.length; i++) ids[i] = check(width === 4 ? view.getInt32(i * 4, true) : view.getUint16(i * 2, true), i);
  } else {
    const text = new TextDecoder().decode(bytes).trim();
    const words = text === '' ? [] : text.split(/\s+/);
    ids = new Int32Array(words.length);
    words.forEach((w, i) => {
      if (!/^\d+$/.test(w)) fail(`'${w.slice(0, 20)}' (token ${i}) is not a non-negative integer`);
      // Checked as a number before storing: an Int32Array would wrap 4294967361 to 65.
      const n = w.length > 15 ? Infinity : Number(w);
      if (n >= vocabSize) fail(`id ${w.length > 20 ? `${w.slice(0, 20)}…` : w} at token ${i} is outside the vocabulary [0, ${vocabSize})`);
      ids[i] = check(n, i);
    });
  }
  if (ids.length < 2) fail(`holds ${ids.length} id${ids.length === 1 ? '' : 's'}; it needs at least 2`);
  return ids;
}

export const idsModality: SequenceModality = {
  name: 'ids', noun: 'token-id data', task: 'sequence',
  summary: 'token ids (--dataPath=FILE: whitespace-separated integers, or .i32 / .u16 little-endian), used as they are',
  keys: { dataPath: DATA_PATH, validationFraction: VALIDATION_FRACTION },
  inputs: (c) => [String(c.dataPath)],
  open: (c, vocabSize, ctx) => {
    const d = keysOf<IdsData>(c);
    const ids = parseTokenIds(ctx.fs.readBytes(d.dataPath, 'token-id file'), d.dataPath, vocabSize);
    return { source: streamSource(ids, d.validationFraction, d.dataPath), codec: byteCodec('ids', vocabSize) };
  },
  evalOptions: streamEvalOptions,
  evaluate: (req) => {
    const d = keysOf<IdsData>(req.data);
    return evaluateTokenStream(req, parseTokenIds(req.ctx.fs.readBytes(d.dataPath, 'token-id file'), d.dataPath, req.model.config.vocabSize), d.validationFraction);
  },
  generateOptions: tokenGenerateOptions,
  // Prompts as text are taken as UTF-8 bytes (as for byte models); --promptIds gives ids.
  generate: (req) => generateTokens(req, utf8Codec),
};
