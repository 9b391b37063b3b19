// Generated pieces with structure at a distance (docs/music.md): a theme A of `themeNotes` notes
// (random pitches of a major scale, random durations of 0.2 or 0.4 s), an episode of
// `episodeNotes` random notes, then A again transposed by a random −5…+5 semitones, then EOS. The
// theme and the episode are new in every piece, so the return can only be predicted by copying A
// from far back: ground truth is the piece's own events from the return's first NOTE_ON on.
import { Rng } from '../tensor/rng.js';
import { notesToEvents, type Note } from './music.js';

export interface SyntheticPiece {
  readonly notes: Note[];
  /** Event classes of the whole piece (without SOS/EOS). */
  readonly events: Int32Array;
  /** Index (in events) of the return's first NOTE_ON: a prompt through it fixes the transposition. */
  readonly returnStart: number;
  /** Transposition of the return, in semitones. */
  readonly transpose: number;
}

export interface SyntheticMusicOptions {
  readonly themeNotes?: number;
  readonly episodeNotes?: number;
}

const MAJOR = [0, 2, 4, 5, 7, 9, 11];

export function syntheticPiece(rng: Rng, opts: SyntheticMusicOptions = {}): SyntheticPiece {
  const themeNotes = opts.themeNotes ?? 12, episodeNotes = opts.episodeNotes ?? 40;
  const tonic = 55 + rng.int(12), velocity = 48 + 8 * rng.int(8);
  const pitchOf = (degree: number): number => tonic + 12 * Math.floor(degree / 7) + MAJOR[degree % 7]!;
  const theme = Array.from({ length: themeNotes }, () => ({ pitch: pitchOf(rng.int(10)), dur: rng.next() < 0.7 ? 0.2 : 0.4 }));
  let degree = rng.int(10);
  const episode = Array.from({ length: episodeNotes }, () => {
    degree = Math.min(13, Math.max(0, degree + rng.int(5) - 2));
    return { pitch: pitchOf(degree), dur: rng.next() < 0.7 ? 0.2 : 0.4 };
  });
  const transpose = rng.int(11) - 5;
  const notes: Note[] = [];
  let t = 0;
  const play = (list: { pitch: number; dur: number }[], shift: number, vel: number): void => {
    for (const n of list) { notes.push({ pitch: n.pitch + shift, velocity: vel, start: t, end: t + n.dur }); t += n.dur; }
  };
  play(theme, 0, velocity);
  play(episode, 0, Math.max(1, velocity - 16));
  const returnAt = notes.length;
  play(theme, transpose, velocity);
  const { events } = notesToEvents(notes);
  // The return's first NOTE_ON: the (returnAt + 1)-th NOTE_ON of the piece (monophonic, in order).
  let ons = 0, returnStart = -1;
  for (let i = 0; i < events.length && returnStart < 0; i++) if (events[i]! < 88 && ons++ === returnAt) returnStart = i;
  return { notes, events, returnStart, transpose };
}

export function syntheticPieces(count: number, seed: number, opts: SyntheticMusicOptions = {}): SyntheticPiece[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => syntheticPiece(rng, opts));
}
