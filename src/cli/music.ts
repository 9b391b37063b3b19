// `perceiver-ar eval | generate | pianoroll` for music (docs/music.md): NLL per event on the
// validation pieces, continuations written as MIDI with a piano roll beside them, and piano rolls
// of any MIDI file.
import { midiToNotes, notesToMidi } from '../data/midi.js';
import { encodePiece, type Note } from '../data/music.js';
import type { Piece } from '../data/music-source.js';
import { pianoRoll } from '../data/pianoroll.js';
import type { PerceiverAR } from '../models/perceiver-ar/model.js';
import { loadMusic } from '../platform/node/data-files.js';
import { checkOutputPath, readFileChecked, writeFileAtomic } from '../platform/node/files.js';
import { writePng } from '../platform/node/image-files.js';
import { readMidiCorpus } from '../platform/node/music-files.js';
import { continueMusic, type MusicContinuation } from '../sample/continue-music.js';
import type { CheckpointInfo } from '../train/checkpoint.js';
import type { DataConfig } from '../train/config.js';
import { evaluateStream } from '../train/evaluate.js';
import { takeFlag, takeNumber, takePath, UsageError, type Args, isInt, type Metrics } from './args.js';
import { createProgress } from './progress.js';


export const isMusicData = (d: DataConfig | null): boolean => d?.data === 'music' || d?.data === 'synthetic-music';
/** The piano roll written beside a MIDI file: x.mid → x.png. */
export const pngBeside = (mid: string): string => mid.replace(/(\.midi?)?$/i, '.png');

/** NLL per event (nats and bits) over the validation pieces (or every file of --dataPath), each scored whole with strided windows. */
export function musicEvalCommand(model: PerceiverAR, info: CheckpointInfo, args: Args): Metrics {
  const c = model.config;
  const numLatents = takeNumber(args, 'numLatents', isInt(1, c.contextLength), `an integer in [1, ${c.contextLength}]`) ?? c.numLatents;
  const stride = takeNumber(args, 'stride', isInt(1, numLatents), `an integer in [1, numLatents = ${numLatents}]`) ?? numLatents;
  const batchSize = takeNumber(args, 'batchSize', isInt(1), 'an integer ≥ 1') ?? 4;
  const dataPath = takePath(args, 'dataPath'), json = takeFlag(args, 'json'), quiet = takeFlag(args, 'quiet');
  const [extra] = args.keys();
  if (extra !== undefined) throw new UsageError(`unknown option --${extra} for a music eval; allowed: --stride --numLatents --batchSize --dataPath --json --quiet`);
  const log = quiet || json ? (): void => {} : (l: string): void => console.error(l);
  let pieces: readonly Piece[];
  if (dataPath !== undefined) {
    const corpus = readMidiCorpus(dataPath, { keepDrums: info.data?.keepDrums ?? false });
    for (const w of corpus.warnings) log(w);
    pieces = corpus.pieces;
  } else {
    pieces = loadMusic(info.data!, log).validationPieces;
    if (pieces.length === 0) throw new UsageError("this checkpoint's data has no validation pieces; give --dataPath=DIR to score a folder of MIDI files");
  }
  const progress = createProgress(pieces.length, 'eval', { tty: process.stderr.isTTY === true && !json, quiet: quiet || json, every: 1 });
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
    data: dataPath ?? (info.data?.data === 'synthetic-music' ? 'synthetic music, validation pieces' : `${info.data?.dataPath}, validation pieces`) };
}

/** Writes a continuation as MIDI and its piano roll (prompt blue, continuation orange) beside it. */
export function writeMusic(out: string, m: MusicContinuation): string {
  writeFileAtomic(out, notesToMidi(m.notes));
  const png = pngBeside(out);
  writePng(png, pianoRoll(m.notes, m.promptSeconds > 0 ? { splitAt: m.promptSeconds } : {}));
  return png;
}

export function musicGenerateCommand(model: PerceiverAR, info: CheckpointInfo, args: Args): Metrics {
  const promptPath = takePath(args, 'prompt');
  const promptSeconds = takeNumber(args, 'promptSeconds', (n) => n > 0, 'a number of seconds > 0');
  const seconds = takeNumber(args, 'seconds', (n) => n > 0, 'a number of seconds > 0') ?? 0;
  const maxNewTokens = takeNumber(args, 'maxNewTokens', isInt(1), 'an integer ≥ 1') ?? (seconds > 0 ? 100_000 : 1024);
  const temperature = takeNumber(args, 'temperature', (n) => n >= 0, 'a number ≥ 0 (0 = greedy)') ?? 1;
  const topK = takeNumber(args, 'topK', isInt(0), 'an integer ≥ 0') ?? 0, topP = takeNumber(args, 'topP', (n) => n > 0 && n <= 1, 'a number in (0, 1]') ?? 1;
  const seed = takeNumber(args, 'seed', isInt(0), 'an integer ≥ 0') ?? 0;
  const out = takePath(args, 'out') ?? 'generated.mid', cached = !takeFlag(args, 'uncached'), json = takeFlag(args, 'json'), quiet = takeFlag(args, 'quiet');
  const [extra] = args.keys();
  if (extra !== undefined) {
    throw new UsageError(`unknown option --${extra} for music generation; allowed: --prompt=FILE.mid --promptSeconds --seconds --maxNewTokens --temperature ` +
      '--topK --topP --seed --out=FILE.mid --uncached --json --quiet');
  }
  if (promptSeconds !== undefined && promptPath === undefined) throw new UsageError('--promptSeconds cuts a --prompt=FILE.mid; give the prompt');
  checkOutputPath(out, 'output');
  checkOutputPath(pngBeside(out), 'piano roll');
  let prompt: Note[] = [];
  if (promptPath !== undefined) {
    prompt = midiToNotes(readFileChecked(promptPath, 'MIDI file'), promptPath, { keepDrums: info.data?.keepDrums ?? false }).notes;
    // A cut prompt: the notes that start before the cut, ended at it.
    if (promptSeconds !== undefined) prompt = prompt.filter((n) => n.start < promptSeconds).map((n) => ({ ...n, end: Math.min(n.end, promptSeconds) }));
    if (prompt.length === 0) throw new UsageError(`--prompt=${promptPath}: no notes${promptSeconds !== undefined ? ` in its first ${promptSeconds} s` : ''}`);
  }
  const progress = createProgress(maxNewTokens, 'generate', { tty: process.stderr.isTTY === true && !json, quiet: quiet || json, every: 16 });
  const m = continueMusic(model, prompt, { maxNewTokens, seconds, temperature, topK, topP, seed, cached });
  progress.finish();
  const png = writeMusic(out, m);
  if (!json) {
    console.log(`wrote ${out} (format 0, 500 ticks per quarter at 120 bpm) and ${png}: ${m.newEvents} new events` +
      `${m.stoppedAtEos ? ' (stopped at EOS)' : ''}, ${m.notes.length} notes${prompt.length ? ` (${prompt.length} from the prompt)` : ''}`);
  }
  return { out, pianoRoll: png, newEvents: m.newEvents, notes: m.notes.length, promptNotes: prompt.length, stoppedAtEos: m.stoppedAtEos, seconds: m.seconds,
    eventsPerSecond: m.newEvents / m.seconds };
}

/** `perceiver-ar pianoroll FILE.mid [--out=FILE.png] [--seconds=S] [--keepDrums]`: --seconds draws only the first S seconds. */
export function pianorollCommand(args: Args, file: string | undefined): Metrics {
  const path = file ?? takePath(args, 'file');
  if (path === undefined) throw new UsageError('usage: perceiver-ar pianoroll FILE.mid [--out=FILE.png] [--seconds=S] [--keepDrums]');
  const window = takeNumber(args, 'seconds', (n) => n > 0, 'a number of seconds > 0');
  const out = takePath(args, 'out') ?? pngBeside(path.replace(/^.*[\\/]/, '')), keepDrums = takeFlag(args, 'keepDrums');
  const json = takeFlag(args, 'json');
  takeFlag(args, 'quiet');
  const [extra] = args.keys();
  if (extra !== undefined) throw new UsageError(`unknown option --${extra} for pianoroll; allowed: --out=FILE.png --seconds=S --keepDrums --json --quiet`);
  checkOutputPath(out, 'piano roll');
  const read = midiToNotes(readFileChecked(path, 'MIDI file'), path, { keepDrums }), notices = read.notices;
  const notes = window === undefined ? read.notes : read.notes.filter((n) => n.start < window).map((n) => ({ ...n, end: Math.min(n.end, window) }));
  if (notes.length === 0) throw new UsageError(`${path}: no notes to draw${window !== undefined ? ` in its first ${window} s` : ''}`);
  const image = pianoRoll(notes);
  writePng(out, image);
  const length = Math.max(...notes.map((n) => n.end));
  if (!json) {
    for (const n of notices) console.error(`${path}: ${n}`);
    console.log(`wrote ${out}: ${notes.length} notes, ${length.toFixed(1)} s, ${image.shape.width}×${image.shape.height} pixels`);
  }
  return { out, notes: notes.length, seconds: length, width: image.shape.width, height: image.shape.height };
}
