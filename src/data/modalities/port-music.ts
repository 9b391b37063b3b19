// Symbolic music in the PyTorch port's tokens (data=port-music; spec krasserm-interop §6): its
// 389 ids (NOTE_ON/NOTE_OFF per pitch, 10 ms TIME_SHIFTs, VELOCITY bins, PAD), made from MIDI
// files quirk for quirk as its midi_processor makes them (src/data/port-music.ts), shifted by one
// as imported port models take them (our id 0 is PAD). The data of the port's giant-midi model:
// continue a .mid with it, score MIDI files, or train on a folder of them (read as one stream).
import { DataError, InputError, UsageError } from '../../errors.js';
import { checkOutputAgainst, type FileSystem } from '../../io/file-system.js';
import { intOption, numberOption, outputOption, pathOption, flagOption, type OptionSpec } from '../../options.js';
import { generate } from '../../sample/generate.js';
import { DATA_PATH, VALIDATION_FRACTION } from '../keys.js';
import { listMidiFiles } from '../midi-corpus.js';
import { keysOf, type Metrics, type SequenceModality } from '../modality.js';
import { decodePortTokens, encodePortMidi, PORT_MUSIC_VOCAB, PORT_PAD, PORT_TIME_SHIFT, PORT_VELOCITY } from '../port-music.js';
import { streamSource } from '../source.js';
import { PAD } from '../vocab.js';
import { pngBeside, writeMusic } from './music.js';
import { perceiverModel, evaluateTokenStream, SAMPLING_OPTIONS } from './token-streams.js';

interface PortMusicData { readonly dataPath: string; readonly validationFraction: number }

/** Our ids: the port's + 1 (0 is PAD here); a port model imported here has this vocabulary. */
export const PORT_MUSIC_IDS = PORT_MUSIC_VOCAB + 1;
const MIDI_FILES = /\.midi?$/i;
/** With no prompt, generation starts from one VELOCITY token (bin 16: velocity 64); the port has no start token. */
const START = PORT_VELOCITY + 16;

const toOurs = (ids: readonly number[]): Int32Array => Int32Array.from(ids, (t) => t + 1);
/** Seconds a token moves time on (TIME_SHIFT v: (v + 1)·10 ms), for our id. */
const shiftSeconds = (ours: number): number => {
  const t = ours - 1;
  return t >= PORT_TIME_SHIFT && t < PORT_VELOCITY ? (t - PORT_TIME_SHIFT + 1) / 100 : 0;
};

/** Every MIDI file of a folder (or the one file) as the port's tokens, concatenated in path order; warnings for files skipped. */
function readPortCorpus(fs: FileSystem, path: string, log: (line: string) => void): Int32Array {
  if (fs.kind(path) === null) throw new DataError(`MIDI data ${path} does not exist`);
  const files = fs.kind(path) === 'file' ? [path] : listMidiFiles(fs, path);
  if (files.length === 0) throw new DataError(`MIDI data ${path}: no .mid or .midi files (searched recursively)`);
  const all: number[] = [];
  let used = 0;
  for (const f of files) {
    try {
      const ids = encodePortMidi(fs.readBytes(f, 'MIDI file'), f);
      for (const t of ids) all.push(t + 1);
      if (ids.length > 0) used++;
    } catch (e) {
      // A file that cannot be read or used is skipped with a line, as the music corpus skips it.
      if (!(e instanceof InputError)) throw e;
      log(`skipped ${f}: ${e.message}`);
    }
  }
  if (all.length < 2) throw new DataError(`MIDI data ${path}: no tokens in its ${files.length} files`);
  log(`${path}: ${used} of ${files.length} files, ${all.length} tokens (the port's music tokens)`);
  return Int32Array.from(all);
}

/** Sampling never picks PAD (ours, 0) nor the port's PAD. */
const allowed = (() => { const a = new Uint8Array(PORT_MUSIC_IDS).fill(1); a[PAD] = 0; a[PORT_PAD + 1] = 0; return a; })();

const generateOptions: OptionSpec[] = [
  pathOption('prompt', '.mid,.midi'), numberOption('seconds', (n) => n > 0, 'a number of seconds > 0'), intOption('maxNewTokens', 1),
  ...SAMPLING_OPTIONS, outputOption('out'), flagOption('uncached'),
];

export const portMusicModality: SequenceModality = {
  name: 'port-music', noun: "music in the PyTorch port's tokens", task: 'sequence',
  summary: "MIDI files (--dataPath=DIR or FILE) as the PyTorch port's 389 music tokens (its giant-midi model's data; docs/interop.md)",
  keys: { dataPath: DATA_PATH, validationFraction: VALIDATION_FRACTION },
  help: {
    generate: "Port music: [--prompt=FILE.mid] [--seconds=S | --maxNewTokens=N] --out=generated.mid: continues the piece in the port's tokens,\n" +
      '  writes the MIDI file and its piano roll (generated.png).',
    eval: "Port music: NLL per token on the validation part of the MIDI files, or on every file of --dataPath=DIR.",
  },
  inputs: (c) => [String(c.dataPath)],
  dataFiles: MIDI_FILES,
  modelDefaults: () => ({ vocabSize: PORT_MUSIC_IDS }),
  // The port's music vocabulary (its giant-midi model's).
  importedData: (m) => (m.vocabSize === PORT_MUSIC_VOCAB && !m.tokenizerPath ? {} : null),
  open: (c, vocabSize, ctx) => {
    if (vocabSize < PORT_MUSIC_IDS) throw new DataError(`port music needs vocabSize ≥ ${PORT_MUSIC_IDS} (the port's ${PORT_MUSIC_VOCAB} tokens + PAD), got ${vocabSize}`);
    const d = keysOf<PortMusicData>(c);
    return {
      source: streamSource(readPortCorpus(ctx.fs, d.dataPath, ctx.log), d.validationFraction, d.dataPath),
      codec: { kind: 'port-music', description: `the port's music tokens (${PORT_MUSIC_VOCAB} + PAD)`, vocabSize: PORT_MUSIC_IDS, coordinateDims: 0,
        maxCoordinate: 0, sequenceLength: null, coordinates: (p) => [p], allowedAt: () => allowed },
    };
  },
  evalOptions: (c) => [intOption('stride', 1, c.contextLength), intOption('numLatents', 1, c.contextLength), intOption('batchSize', 1),
    intOption('maxTargets', 0, Infinity, 'an integer ≥ 0 (0 = all)')],
  evaluate: (req) => {
    const d = keysOf<PortMusicData>(req.data);
    return evaluateTokenStream(req, readPortCorpus(req.ctx.fs, d.dataPath, req.ctx.log), d.validationFraction);
  },
  generateOptions: () => generateOptions,
  generate: (req): Metrics => {
    const model = perceiverModel(req.model, 'port music'), o = req.options, promptPath = o.string('prompt');
    if (model.config.vocabSize !== PORT_MUSIC_IDS) {
      throw new UsageError(`this model has ${model.config.vocabSize} ids; port music needs ${PORT_MUSIC_IDS} (an imported giant-midi model has them)`);
    }
    const seconds = o.number('seconds') ?? 0, maxNewTokens = o.number('maxNewTokens') ?? (seconds > 0 ? 100_000 : 1024);
    const out = o.string('out') ?? 'generated.mid';
    checkOutputAgainst(req.ctx.fs, out, 'output', [...req.ctx.inputs, promptPath], MIDI_FILES, [promptPath]);
    checkOutputAgainst(req.ctx.fs, pngBeside(out), 'piano roll', [...req.ctx.inputs, promptPath], MIDI_FILES, [promptPath]);
    const prompt = promptPath === undefined ? [START] : encodePortMidi(req.ctx.fs.readBytes(promptPath, 'MIDI file'), promptPath);
    if (prompt.length === 0) throw new UsageError(`--prompt=${promptPath}: no notes to continue`);
    const promptIds = toOurs(prompt), promptSeconds = Array.from(promptIds).reduce((s, t) => s + shiftSeconds(t), 0);
    const window = promptIds.subarray(Math.max(0, promptIds.length - model.config.contextLength));
    if (window.length < promptIds.length) req.ctx.log(`--prompt=${promptPath}: ${promptIds.length} tokens; the model sees its last ${window.length}`);
    // Progress in tokens, or in hundredths of a second of music when --seconds bounds the piece.
    const centis = Math.round(seconds * 100), progress = seconds > 0 ? req.ctx.progress(centis, 'generate (10 ms of music)', 50) : req.ctx.progress(maxNewTokens, 'generate', 16);
    let newSeconds = 0, count = 0;
    const r = generate(model, window, {
      maxNewTokens, temperature: o.number('temperature') ?? 1, topK: o.number('topK') ?? 0, topP: o.number('topP') ?? 1, seed: o.number('seed') ?? 0,
      stopAtEos: false, cached: !o.flag('uncached'), allowedTokens: () => allowed,
      stopAfter: (t) => { newSeconds += shiftSeconds(t); return seconds > 0 && newSeconds >= seconds; },
    }, () => progress.update(seconds > 0 ? Math.min(centis, Math.round(newSeconds * 100)) : ++count, {}));
    progress.finish();
    const notes = decodePortTokens([...prompt, ...Array.from(r.tokens, (t) => t - 1)]);
    const png = writeMusic(req.ctx.fs, out, { notes, promptSeconds: promptPath === undefined ? 0 : promptSeconds, newEvents: r.tokens.length, newIds: r.tokens,
      stoppedAtEos: false, seconds: r.seconds });
    if (!req.ctx.json) {
      req.ctx.write(`wrote ${out} and ${png}: ${r.tokens.length} new tokens (${newSeconds.toFixed(1)} s of music), ${notes.length} notes` +
        `${promptPath === undefined ? '' : ` (the prompt's ${prompt.length} tokens, ${promptSeconds.toFixed(1)} s, included)`}\n`);
    }
    return { out, pianoRoll: png, newTokens: r.tokens.length, musicSeconds: newSeconds, notes: notes.length, promptTokens: prompt.length, seconds: r.seconds,
      tokensPerSecond: r.tokens.length / r.seconds };
  },
};
