// Symbolic music (data=music: a folder of MIDI files; data=synthetic-music: built-in pieces with a
// returning theme) as Music Transformer's performance events (docs/music.md): NLL per event on the
// validation pieces, continuations written as MIDI with a piano roll beside them, and the
// `pianoroll` command that draws any MIDI file.
import { DataError, UsageError } from '../../errors.js';
import { checkOutputAgainst, type FileSystem } from '../../io/file-system.js';
import { flagOption, intOption, numberOption, outputOption, pathOption, type OptionSpec } from '../../options.js';
import { continueMusic, type MusicContinuation } from '../../sample/continue-music.js';
import { evaluateStream } from '../../train/evaluate.js';
import { booleanKey, DATA_PATH, VALIDATION_FRACTION } from '../keys.js';
import { readMidiCorpus } from '../midi-corpus.js';
import { midiToNotes, notesToMidi } from '../midi.js';
import { keysOf, type DataCommand, type DataConfig, type Metrics, type RunContext, type SequenceModality } from '../modality.js';
import { musicSource, splitPieces, type Piece } from '../music-source.js';
import { encodePiece, MAX_PITCH, MIN_PITCH, MUSIC_VOCAB, musicCodec, type Note } from '../music.js';
import { offPiano, pianoRoll } from '../pianoroll.js';
import { maxOf } from '../../tensor/extent.js';
import { encodePng } from '../png.js';
import { syntheticMusicSplit } from '../synthetic-music.js';
import { perceiverModel, SAMPLING_OPTIONS } from './token-streams.js';

interface MusicData { readonly dataPath: string; readonly validationFraction: number; readonly augment: boolean; readonly keepDrums: boolean }

const AUGMENT = booleanKey("Music Transformer's augmentation of training pieces (transposition ±3, time stretch ±5%)");
const KEEP_DRUMS = booleanKey('keep the drum channel (10), skipped by default');

/** The files a MIDI corpus is read from. */
const MIDI_FILES = /\.midi?$/i;

/** The piano roll written beside a MIDI file: x.mid → x.png. */
export const pngBeside = (mid: string): string => mid.replace(/(\.midi?)?$/i, '.png');

/** The built-in synthetic music: 2,000 training and 64 validation pieces. */
export function syntheticMusicPieces(split: 'train' | 'validation'): Piece[] {
  return syntheticMusicSplit(split).map((p, i) => ({ name: `synthetic ${split} ${i}`, notes: p.notes, events: p.events }));
}

/** Music data: the synthetic pieces, or a MIDI corpus split by file name; the corpus's warnings and summary go to `log`. */
export function loadMusic(c: DataConfig, fs: FileSystem, log: (line: string) => void = () => {}): ReturnType<typeof musicSource> {
  const d = keysOf<MusicData>(c);
  if (c.data === 'synthetic-music') {
    return musicSource(syntheticMusicPieces('train'), syntheticMusicPieces('validation'), 'synthetic pieces with a returning theme', d.augment);
  }
  const corpus = readMidiCorpus(fs, d.dataPath, { keepDrums: d.keepDrums });
  for (const w of corpus.warnings) log(w);
  log(corpus.summary);
  const { train, validation } = splitPieces(corpus.pieces, d.validationFraction);
  if (train.length === 0) throw new DataError(`MIDI data ${d.dataPath}: every piece went to validation; lower validationFraction`);
  return musicSource(train, validation, d.dataPath, d.augment);
}

/** Writes a continuation as MIDI and its piano roll (prompt blue, continuation orange) beside it; returns the PNG's path. */
export function writeMusic(fs: FileSystem, out: string, m: MusicContinuation): string {
  fs.writeAtomic(out, notesToMidi(m.notes));
  const png = pngBeside(out);
  fs.writeAtomic(png, encodePng(pianoRoll(m.notes, m.promptSeconds > 0 ? { splitAt: m.promptSeconds } : {})));
  return png;
}

/** Where `train --sample` writes its MIDI file: beside the checkpoint, or sample.mid. */
const sampleMidiPath = (checkpointPath: string | null): string => (checkpointPath ? checkpointPath.replace(/(\.safetensors)?$/, '-sample.mid') : 'sample.mid');

const generateOptions: OptionSpec[] = [
  pathOption('prompt', '.mid,.midi'), numberOption('promptSeconds', (n) => n > 0, 'a number of seconds > 0'), numberOption('seconds', (n) => n > 0, 'a number of seconds > 0'),
  intOption('maxNewTokens', 1), ...SAMPLING_OPTIONS, outputOption('out'), flagOption('uncached'),
];

/** `perceiver-ar pianoroll FILE.mid [--out=FILE.png] [--seconds=S] [--keepDrums]`: --seconds draws only the first S seconds. */
export function pianorollTool(path: string, o: { out?: string | undefined; seconds?: number | undefined; keepDrums: boolean }, ctx: RunContext): Metrics {
  const out = o.out ?? pngBeside(path.replace(/^.*[\\/]/, '')), window = o.seconds;
  checkOutputAgainst(ctx.fs, out, 'piano roll', [path]);
  const read = midiToNotes(ctx.fs.readBytes(path, 'MIDI file'), path, { keepDrums: o.keepDrums });
  const notes = window === undefined ? read.notes : read.notes.filter((n) => n.start < window).map((n) => ({ ...n, end: Math.min(n.end, window) }));
  if (notes.length === 0) throw new UsageError(`${path}: no notes to draw${window !== undefined ? ` in its first ${window} s` : ''}`);
  const image = pianoRoll(notes);
  ctx.fs.writeAtomic(out, encodePng(image));
  const length = maxOf(notes.map((n) => n.end), 0);
  for (const n of read.notices) ctx.log(`${path}: ${n}`);
  const off = notes.filter(offPiano).length;
  if (off > 0) ctx.log(`${path}: ${off} note${off === 1 ? '' : 's'} outside the piano's 88 keys (pitches 21–108), drawn grey: training drops them`);
  if (!ctx.json) ctx.write(`wrote ${out}: ${notes.length} notes, ${length.toFixed(1)} s, ${image.shape.width}×${image.shape.height} pixels\n`);
  return { out, notes: notes.length, offPiano: off, seconds: length, width: image.shape.width, height: image.shape.height };
}

const pianorollCommand: DataCommand = {
  help: `perceiver-ar pianoroll FILE.mid [--out=FILE.png] [--seconds=S] [--keepDrums]
  Draws a MIDI file as a piano roll PNG (pitch × time, velocity as shade); generated music gets one beside every .mid.`,
  options: [pathOption('file'), outputOption('out'), numberOption('seconds', (n) => n > 0, 'a number of seconds > 0'), flagOption('keepDrums')],
  run: (file, o, ctx) => {
    const path = file ?? o.string('file');
    if (path === undefined) throw new UsageError('usage: perceiver-ar pianoroll FILE.mid [--out=FILE.png] [--seconds=S] [--keepDrums]');
    return pianorollTool(path, { out: o.string('out'), seconds: o.number('seconds'), keepDrums: o.flag('keepDrums') }, ctx);
  },
};

function musicModality_(name: 'music' | 'synthetic-music'): SequenceModality {
  const synthetic = name === 'synthetic-music';
  return {
    name, task: 'sequence',
    noun: synthetic ? 'synthetic music' : 'music data',
    summary: synthetic ? 'built-in generated pieces whose theme returns far later' : 'a folder of MIDI files (--dataPath=DIR, recursive; docs/music.md)',
    keys: synthetic ? { augment: AUGMENT, keepDrums: KEEP_DRUMS } : { dataPath: DATA_PATH, validationFraction: VALIDATION_FRACTION, augment: AUGMENT, keepDrums: KEEP_DRUMS },
    ...(synthetic ? { withPath: 'music' } : {
      commands: { pianoroll: pianorollCommand },
      help: {
        generate: 'Music checkpoints: [--prompt=FILE.mid --promptSeconds=S] [--seconds=S | --maxNewTokens=N] --out=generated.mid: writes the MIDI file\n' +
          '  and its piano roll (generated.png), never sampling PAD/SOS, stopping at EOS.',
        eval: 'Music: NLL per event (nats and bits) on the validation pieces, or every MIDI file of --dataPath=DIR [--stride --numLatents --batchSize].',
      },
    }),
    inputs: (c) => (synthetic ? [] : [String(c.dataPath)]),
    dataFiles: MIDI_FILES,
    open: (c, vocabSize, ctx) => {
      if (vocabSize < MUSIC_VOCAB) throw new DataError(`music data needs vocabSize ≥ ${MUSIC_VOCAB} (performance events + PAD/EOS/SOS), got ${vocabSize}`);
      return { source: loadMusic(c, ctx.fs, ctx.log), codec: musicCodec() };
    },
    evalOptions: (c) => [intOption('numLatents', 1, c.contextLength), intOption('stride', 1, c.contextLength, 'an integer in [1, numLatents]'), intOption('batchSize', 1)],
    evaluate: (req) => {
      // NLL per event over the validation pieces (or every file of --dataPath), each scored whole with strided windows.
      const model = perceiverModel(req.model, 'music'), c = model.config, o = req.options, d = keysOf<MusicData>(req.data);
      const numLatents = o.number('numLatents') ?? c.numLatents, stride = o.number('stride') ?? numLatents, batchSize = o.number('batchSize') ?? 4;
      if (stride > numLatents) throw new UsageError(`--stride=${stride} is invalid: an integer in [1, numLatents = ${numLatents}]`);
      let pieces: readonly Piece[];
      if (req.dataPathGiven) {
        const corpus = readMidiCorpus(req.ctx.fs, d.dataPath, { keepDrums: d.keepDrums });
        for (const w of corpus.warnings) req.ctx.log(w);
        pieces = corpus.pieces;
      } else {
        pieces = loadMusic(req.data, req.ctx.fs, req.ctx.log).validationPieces;
        if (pieces.length === 0) throw new UsageError("this checkpoint's data has no validation pieces; give --dataPath=DIR to score a folder of MIDI files");
      }
      const progress = req.ctx.progress(pieces.length, 'eval', 1);
      let nats = 0, tokens = 0, seconds = 0;
      pieces.forEach((p, i) => {
        const r = evaluateStream(model, encodePiece(p.events), { stride, numLatents, batchSize, maxTargets: 0 });
        nats += r.nats * r.tokens; tokens += r.tokens; seconds += r.seconds;
        progress.update(i + 1, {});
      });
      progress.finish();
      const perEvent = nats / tokens;
      if (!Number.isFinite(perEvent)) throw new RangeError(`eval: the loss is not finite (${perEvent}): the model's outputs overflow float32`);
      return { mode: 'music', stride, numLatents, nats: perEvent, bitsPerEvent: perEvent / Math.LN2, events: tokens, pieces: pieces.length, seconds,
        data: req.dataPathGiven ? d.dataPath : synthetic ? 'synthetic music, validation pieces' : `${d.dataPath}, validation pieces` };
    },
    generateOptions: () => generateOptions,
    generate: (req) => {
      const o = req.options, d = keysOf<MusicData>(req.data), promptPath = o.string('prompt'), promptSeconds = o.number('promptSeconds');
      const seconds = o.number('seconds') ?? 0, maxNewTokens = o.number('maxNewTokens') ?? (seconds > 0 ? 100_000 : 1024);
      const out = o.string('out') ?? 'generated.mid';
      if (promptSeconds !== undefined && promptPath === undefined) throw new UsageError('--promptSeconds cuts a --prompt=FILE.mid; give the prompt');
      // Generation reads no corpus: a new file beside the checkpoint's training pieces is allowed, overwriting one is not.
      checkOutputAgainst(req.ctx.fs, out, 'output', [...req.ctx.inputs, promptPath], MIDI_FILES, [promptPath]);
      checkOutputAgainst(req.ctx.fs, pngBeside(out), 'piano roll', [...req.ctx.inputs, promptPath], MIDI_FILES, [promptPath]);
      let prompt: Note[] = [];
      if (promptPath !== undefined) {
        prompt = midiToNotes(req.ctx.fs.readBytes(promptPath, 'MIDI file'), promptPath, { keepDrums: d.keepDrums }).notes;
        // A cut prompt: the notes that start before the cut, ended at it.
        if (promptSeconds !== undefined) prompt = prompt.filter((n) => n.start < promptSeconds).map((n) => ({ ...n, end: Math.min(n.end, promptSeconds) }));
        if (prompt.length === 0) throw new UsageError(`--prompt=${promptPath}: no notes${promptSeconds !== undefined ? ` in its first ${promptSeconds} s` : ''}`);
        const played = prompt.filter((n) => n.pitch >= MIN_PITCH && n.pitch <= MAX_PITCH).length;
        if (played === 0) {
          throw new UsageError(`--prompt=${promptPath}: none of its ${prompt.length} notes lies on the piano's 88 keys (pitches ${MIN_PITCH}–${MAX_PITCH}), the only ones the model plays; nothing to continue`);
        }
        if (played < prompt.length) req.ctx.log(`--prompt=${promptPath}: ${prompt.length - played} of its ${prompt.length} notes lie outside the piano's 88 keys and are left out`);
      }
      const progress = req.ctx.progress(maxNewTokens, 'generate', 16);
      const m = continueMusic(req.model, prompt, { maxNewTokens, seconds, temperature: o.number('temperature') ?? 1, topK: o.number('topK') ?? 0,
        topP: o.number('topP') ?? 1, seed: o.number('seed') ?? 0, cached: !o.flag('uncached') });
      progress.finish();
      const png = writeMusic(req.ctx.fs, out, m);
      if (!req.ctx.json) {
        req.ctx.write(`wrote ${out} (format 0, 500 ticks per quarter at 120 bpm) and ${png}: ${m.newEvents} new events` +
          `${m.stoppedAtEos ? ' (stopped at EOS)' : ''}, ${m.notes.length} notes${prompt.length ? ` (${prompt.length} from the prompt)` : ''}\n`);
      }
      return { out, pianoRoll: png, newEvents: m.newEvents, notes: m.notes.length, promptNotes: prompt.length, stoppedAtEos: m.stoppedAtEos, seconds: m.seconds,
        eventsPerSecond: m.newEvents / m.seconds };
    },
    // 20 seconds from scratch as MIDI with its piano roll, beside the checkpoint (or sample.mid).
    sampleOutputs: (checkpointPath) => { const mid = sampleMidiPath(checkpointPath); return [mid, pngBeside(mid)]; },
    sample: (req) => {
      const out = sampleMidiPath(req.checkpointPath);
      const m = continueMusic(req.model, [], { maxNewTokens: 4096, seconds: 20, temperature: 1, topK: 0, topP: 1, seed: req.seed, cached: true });
      return [`wrote ${out} and ${writeMusic(req.ctx.fs, out, m)}: ${m.notes.length} notes`];
    },
  };
}

export const musicModality = musicModality_('music');
export const syntheticMusicModality = musicModality_('synthetic-music');
