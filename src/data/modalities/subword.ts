// Subword text (data=subword): a text file tokenized by a Hugging Face `tokenizer.json` (BPE,
// WordPiece, Unigram, WordLevel — the format of the PyTorch port's text models and most published
// models) through `@huggingface/tokenizers`, a pure-JS implementation that runs in Node and
// browsers alike. One document [SOS, token + 3 …, EOS]; bits/token and bits/byte; generation that
// prints the decoded text as it is sampled. The same module frames text for the PyTorch port's
// imported models (ids + 1, no SOS/EOS: data=port-text, port-text.ts).
import { Tokenizer } from '@huggingface/tokenizers';
import { DataError } from '../../errors.js';
import type { FileSystem } from '../../io/file-system.js';
import { byteCodec } from '../codec.js';
import { DATA_PATH, VALIDATION_FRACTION } from '../keys.js';
import { keysOf, type DataConfig, type DataKey, type SequenceModality } from '../modality.js';
import { streamSource } from '../source.js';
import { BYTE_OFFSET, EOS, SOS } from '../vocab.js';
import { evaluateTokenStream, generateTokens, streamEvalOptions, tokenGenerateOptions, type TextCodec } from './token-streams.js';

interface SubwordData { readonly dataPath: string; readonly validationFraction: number; readonly tokenizer: string }

const TOKENIZER: DataKey = {
  default: '', required: true, path: true, accept: '.json', help: "a Hugging Face tokenizer.json (its tokenizer_config.json beside it is read when present)",
  check: (v: string) => (typeof v === 'string' ? null : 'must be a path'),
};

/** A loaded tokenizer: ids shifted past the reserved ones (PAD, EOS, SOS; or PAD alone for the port's models), and the vocabulary it needs. */
export interface SubwordTokenizer {
  readonly path: string;
  /** What is added to the tokenizer's ids: 3 (PAD, EOS, SOS), or 1 (PAD only: models imported from the PyTorch port). */
  readonly offset: number;
  /** Tokenizer ids + offset. */
  readonly vocabSize: number;
  encode(text: string): number[];
  /** Text of ids (reserved ids skipped); `cleanUp: false` keeps the tokenizer's space clean-up off, as streaming needs. */
  decode(ids: readonly number[], opts?: { readonly cleanUp?: boolean }): string;
}

const parseJson = (bytes: Uint8Array, what: string): Record<string, unknown> => {
  try {
    const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new DataError(`${what}: not a tokenizer file (${e instanceof Error ? e.message : String(e)})`);
  }
};

/** The number of ids a tokenizer.json defines: its model's vocabulary and its added tokens. */
function tokenizerVocabSize(json: Record<string, unknown>, path: string): number {
  const model = json.model as { type?: unknown; vocab?: unknown } | undefined;
  if (!model || typeof model !== 'object') throw new DataError(`tokenizer ${path}: no "model" section (is it a Hugging Face tokenizer.json?)`);
  let size = 0;
  if (Array.isArray(model.vocab)) size = model.vocab.length; // Unigram: [token, score] pairs, id = index
  else if (model.vocab && typeof model.vocab === 'object') for (const id of Object.values(model.vocab as Record<string, unknown>)) size = Math.max(size, Number(id) + 1);
  else throw new DataError(`tokenizer ${path}: its model (${String(model.type)}) has no vocabulary`);
  for (const t of (json.added_tokens as { id?: unknown }[] | undefined) ?? []) size = Math.max(size, Number(t.id) + 1);
  if (!Number.isSafeInteger(size) || size < 1) throw new DataError(`tokenizer ${path}: its vocabulary has no usable ids`);
  return size;
}

/** Reads and builds a tokenizer from a tokenizer.json (and tokenizer_config.json beside it, when present); its ids shifted by `offset`. */
export function loadTokenizer(fs: FileSystem, path: string, offset = BYTE_OFFSET): SubwordTokenizer {
  const json = parseJson(fs.readBytes(path, 'tokenizer'), `tokenizer ${path}`);
  const configPath = path.replace(/[^\\/]*$/, 'tokenizer_config.json');
  const config = configPath !== path && fs.kind(configPath) === 'file' ? parseJson(fs.readBytes(configPath, 'tokenizer config'), `tokenizer config ${configPath}`) : {};
  const size = tokenizerVocabSize(json, path);
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(json, config);
  } catch (e) {
    throw new DataError(`tokenizer ${path}: cannot be built (${e instanceof Error ? e.message : String(e)})`);
  }
  return {
    path, offset, vocabSize: size + offset,
    encode: (text) => tokenizer.encode(text, { add_special_tokens: false }).ids.map((id: number) => id + offset),
    decode: (ids, opts) => {
      const own = ids.filter((id) => id >= offset).map((id) => id - offset);
      if (own.length === 0) return '';
      return tokenizer.decode(own, { skip_special_tokens: false, ...(opts?.cleanUp === false ? { clean_up_tokenization_spaces: false } : {}) });
    },
  };
}


/**
 * How a tokenized text is framed for its models: subword text's own models (ids + 3, one document
 * [SOS, …, EOS], generation from SOS that stops at EOS), or models imported from the PyTorch port
 * (ids + 1 with PAD alone reserved, no start or end token: data=port-text).
 */
export interface TextFraming {
  /** What is added to the tokenizer's ids. */
  readonly offset: number;
  /** The reserved ids, in words (for messages). */
  readonly reserved: string;
  /** Whether a document is [SOS, …, EOS] and generation starts at SOS and stops at EOS. */
  readonly framed: boolean;
}

export const SUBWORD_FRAMING: TextFraming = { offset: BYTE_OFFSET, reserved: 'PAD/EOS/SOS', framed: true };

/** A text file tokenized as one document ([SOS, tokens + offset …, EOS] when framed). */
function documentIds(c: DataConfig, fs: FileSystem, vocabSize: number, log: (line: string) => void, f: TextFraming): { ids: Int32Array; tokenizer: SubwordTokenizer } {
  const d = keysOf<SubwordData>(c), tokenizer = loadTokenizer(fs, d.tokenizer, f.offset);
  if (vocabSize < tokenizer.vocabSize) {
    throw new DataError(`${c.data} data with tokenizer ${d.tokenizer} needs vocabSize ≥ ${tokenizer.vocabSize} (its ${tokenizer.vocabSize - f.offset} ids + ${f.reserved}), ` +
      `got ${vocabSize}`);
  }
  const bytes = fs.readBytes(d.dataPath, 'data file'), started = performance.now();
  const tokens = tokenizer.encode(new TextDecoder('utf-8', { fatal: false }).decode(bytes));
  const ids = Int32Array.from(f.framed ? [SOS, ...tokens, EOS] : tokens);
  const size = bytes.length < 2 ** 20 ? `${(bytes.length / 1024).toFixed(1)} KiB` : `${(bytes.length / 2 ** 20).toFixed(2)} MiB`;
  log(`${d.dataPath}: ${size} tokenized by ${d.tokenizer} into ${tokens.length} tokens ` +
    `(${(bytes.length / Math.max(1, tokens.length)).toFixed(2)} bytes per token) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { ids, tokenizer };
}

/**
 * Generated text streamed as it is sampled (the scheme of Hugging Face's text-generation-inference):
 * each new id is decoded together with the few ids before it — from the prompt at first — and what
 * that adds to the text of those ids alone is printed, once it is whole (a byte-level token may end
 * inside a UTF-8 character: it waits for the next one). The context keeps a first generated token's
 * leading space (Metaspace) and joins a continuation piece to its word (WordPiece's ##); the cost per
 * token stays constant. Space clean-up is off while streaming (it can change text already printed).
 */
export function streamingDecoder(t: SubwordTokenizer, prompt: readonly number[]): (id: number) => string {
  const ids = prompt.filter((id) => id >= t.offset);
  let from = Math.max(0, ids.length - 5), read = ids.length;
  return (id) => {
    if (id < t.offset) return '';
    ids.push(id);
    const before = t.decode(ids.slice(from, read), { cleanUp: false }), now = t.decode(ids.slice(from), { cleanUp: false });
    if (now.length <= before.length || now.endsWith('\uFFFD') || !now.startsWith(before)) return '';
    from = read;
    read = ids.length;
    return now.slice(before.length);
  };
}

function textCodec(t: SubwordTokenizer): TextCodec {
  return { encode: (text) => t.encode(text), decoder: (prompt) => streamingDecoder(t, prompt) };
}

/** The parts of a tokenized-text modality that differ between kinds: its name, words, framing and what it claims on import. */
export type TextVariant = Pick<SequenceModality, 'name' | 'noun' | 'summary' | 'help' | 'importedData'> & { readonly framing: TextFraming };

/** A kind of tokenized text (subword; port-text): keys, reading, scoring and generation shared, framed by the variant. */
export function tokenizedTextModality(v: TextVariant): SequenceModality {
  const f = v.framing, tokenizer = (c: DataConfig, fs: FileSystem): SubwordTokenizer => loadTokenizer(fs, keysOf<SubwordData>(c).tokenizer, f.offset);
  return {
    name: v.name, noun: v.noun, task: 'sequence', summary: v.summary, ...(v.help ? { help: v.help } : {}), ...(v.importedData ? { importedData: v.importedData } : {}),
    keys: { dataPath: DATA_PATH, validationFraction: VALIDATION_FRACTION, tokenizer: TOKENIZER },
    inputs: (c) => [String(c.dataPath), String(c.tokenizer)],
    modelDefaults: (c, fs) => ({ vocabSize: tokenizer(c, fs).vocabSize }),
    open: (c, vocabSize, ctx) => {
      const d = keysOf<SubwordData>(c), { ids, tokenizer: t } = documentIds(c, ctx.fs, vocabSize, ctx.log, f);
      return { source: streamSource(ids, d.validationFraction, `${d.dataPath} (${t.path})`), codec: byteCodec(v.name, t.vocabSize) };
    },
    evalOptions: streamEvalOptions,
    evaluate: (req) => {
      const d = keysOf<SubwordData>(req.data), { ids, tokenizer: t } = documentIds(req.data, req.ctx.fs, req.model.config.vocabSize, req.ctx.log, f);
      // Bytes of the scored targets' text: the corpus's own bytes for a lossless tokenizer (byte-level
      // BPE); a lossy one (lowercasing, [UNK]) counts the text it keeps.
      return evaluateTokenStream(req, ids, d.validationFraction, (targets) => new TextEncoder().encode(t.decode(Array.from(targets))).length);
    },
    generateReads: ['tokenizer'],
    generateOptions: tokenGenerateOptions,
    generate: (req) => generateTokens(req, { ...textCodec(tokenizer(req.data, req.ctx.fs)), ...(f.framed ? {} : { startIds: [], stopsAtEos: false }) }),
  };
}

export const subwordModality: SequenceModality = tokenizedTextModality({
  name: 'subword', noun: 'subword text', framing: SUBWORD_FRAMING,
  summary: 'a UTF-8 text file tokenized by a Hugging Face tokenizer.json (--dataPath=FILE --tokenizer=tokenizer.json)',
  help: {
    generate: 'Subword text: the prompt is tokenized and the sampled text printed as it is decoded (--tokenizer=FILE: the tokenizer, if it moved).',
    eval: 'Subword text: bits per token and bits per byte (--tokenizer=FILE: the tokenizer, if it moved).',
  },
});
