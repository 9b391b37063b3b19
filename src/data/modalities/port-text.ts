// Text for models imported from the PyTorch port (data=port-text; spec krasserm-interop §1): a
// Hugging Face tokenizer.json (its text model uses xlnet-base-cased's) whose ids are shifted by one,
// as an imported model's are (our id 0 is PAD), with no start or end token added — the port feeds
// its tokenizer's ids as they are. Generation prints the text as it is sampled; eval gives bits per
// token and per byte over a text file.
import { DataError } from '../../errors.js';
import type { FileSystem } from '../../io/file-system.js';
import { DATA_PATH, VALIDATION_FRACTION } from '../keys.js';
import { keysOf, type DataConfig, type SequenceModality } from '../modality.js';
import { byteCodec } from '../codec.js';
import { streamSource } from '../source.js';
import { loadTokenizer, textCodec, TOKENIZER, type SubwordTokenizer } from './subword.js';
import { evaluateTokenStream, generateTokens, streamEvalOptions, tokenGenerateOptions } from './token-streams.js';

interface PortTextData { readonly dataPath: string; readonly validationFraction: number; readonly tokenizer: string }

/** The tokenizer with the port models' shift: its id t is our t + 1. */
const tokenizerOf = (c: DataConfig, fs: FileSystem): SubwordTokenizer => loadTokenizer(fs, keysOf<PortTextData>(c).tokenizer, 1);

/** A text file as the tokenizer's ids + 1 (no start or end token). */
function documentIds(c: DataConfig, fs: FileSystem, vocabSize: number): { ids: Int32Array; tokenizer: SubwordTokenizer } {
  const d = keysOf<PortTextData>(c), tokenizer = tokenizerOf(c, fs);
  if (vocabSize < tokenizer.vocabSize) {
    throw new DataError(`port text with tokenizer ${d.tokenizer} needs vocabSize ≥ ${tokenizer.vocabSize} (its ${tokenizer.vocabSize - 1} ids + PAD), got ${vocabSize}`);
  }
  return { ids: Int32Array.from(tokenizer.encode(new TextDecoder('utf-8', { fatal: false }).decode(fs.readBytes(d.dataPath, 'data file')))), tokenizer };
}

export const portTextModality: SequenceModality = {
  name: 'port-text', noun: "text in the PyTorch port's ids", task: 'sequence',
  summary: "a UTF-8 text file tokenized for a model imported from the PyTorch port (--dataPath=FILE --tokenizer=tokenizer.json; docs/interop.md)",
  keys: { dataPath: DATA_PATH, validationFraction: VALIDATION_FRACTION, tokenizer: TOKENIZER },
  inputs: (c) => [String(c.dataPath), String(c.tokenizer)],
  help: {
    generate: "Port text: --prompt=TEXT (required: the port's models have no start token), printed as it is sampled; no stop at EOS.",
  },
  modelDefaults: (c, fs) => ({ vocabSize: tokenizerOf(c, fs).vocabSize }),
  // A model that came with a tokenizer.json is text through it.
  importedData: (m) => (m.tokenizerPath ? { tokenizer: m.tokenizerPath } : null),
  open: (c, vocabSize, ctx) => {
    const d = keysOf<PortTextData>(c), { ids, tokenizer } = documentIds(c, ctx.fs, vocabSize);
    return { source: streamSource(ids, d.validationFraction, `${d.dataPath} (${tokenizer.path})`), codec: byteCodec('port-text', tokenizer.vocabSize) };
  },
  evalOptions: streamEvalOptions,
  evaluate: (req) => {
    const d = keysOf<PortTextData>(req.data), { ids, tokenizer } = documentIds(req.data, req.ctx.fs, req.model.config.vocabSize);
    return evaluateTokenStream(req, ids, d.validationFraction, (targets) => new TextEncoder().encode(tokenizer.decode(Array.from(targets))).length);
  },
  generateReads: ['tokenizer'],
  generateOptions: tokenGenerateOptions,
  generate: (req) => generateTokens(req, { ...textCodec(tokenizerOf(req.data, req.ctx.fs)), startIds: [], stopsAtEos: false }),
};
