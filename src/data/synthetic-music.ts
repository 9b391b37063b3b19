// Generated pieces with structure at a distance (docs/music.md). A piece is `cycles` cycles of:
// a theme of `themeNotes` notes (random pitches of the piece's major scale, random durations of
// 0.2 or 0.4 s), an episode of `episodeNotes` random-walk notes, then the theme again transposed by
// a random −5…+5 semitones. Themes and episodes are new in every cycle of every piece, so a return
// can only be predicted by reaching back to its theme (3·(themeNotes + episodeNotes) + 2 = 98
// events earlier by default); a third of the notes are returns. The ground truth is the piece's own
// events from each return's first NOTE_ON on.
import { Rng } from '../tensor/rng.js';
import { NOTE_OFF, notesToEvents, type Note } from './music.js';

export interface ThemeReturn {
  /** Index (in events) of the return's first NOTE_ON: a prompt through it fixes the transposition. */
  readonly start: number;
  /** Index just past the return's last event. */
  readonly end: number;
  /** Transposition of the return, in semitones. */
  readonly transpose: number;
}

export interface SyntheticPiece {
  readonly notes: Note[];
  /** Event classes of the whole piece (without SOS/EOS). */
  readonly events: Int32Array;
  readonly returns: readonly ThemeReturn[];
}

export interface SyntheticMusicOptions {
  readonly cycles?: number;
  readonly themeNotes?: number;
  readonly episodeNotes?: number;
}

const MAJOR = [0, 2, 4, 5, 7, 9, 11];

export function syntheticPiece(rng: Rng, opts: SyntheticMusicOptions = {}): SyntheticPiece {
  const cycles = opts.cycles ?? 4, themeNotes = opts.themeNotes ?? 16, episodeNotes = opts.episodeNotes ?? 16;
  const tonic = 55 + rng.int(12), velocity = 48 + 8 * rng.int(8);
  const pitchOf = (degree: number): number => tonic + 12 * Math.floor(degree / 7) + MAJOR[degree % 7]!;
  const notes: Note[] = [], returnNotes: { first: number; count: number; transpose: number }[] = [];
  let t = 0;
  const play = (list: { pitch: number; dur: number }[], shift: number, vel: number): void => {
    for (const n of list) { notes.push({ pitch: n.pitch + shift, velocity: vel, start: t, end: t + n.dur }); t += n.dur; }
  };
  const duration = (): number => (rng.next() < 0.7 ? 0.2 : 0.4);
  for (let c = 0; c < cycles; c++) {
    const theme = Array.from({ length: themeNotes }, () => ({ pitch: pitchOf(rng.int(10)), dur: duration() }));
    let degree = rng.int(10);
    const episode = Array.from({ length: episodeNotes }, () => {
      degree = Math.min(13, Math.max(0, degree + rng.int(5) - 2));
      return { pitch: pitchOf(degree), dur: duration() };
    });
    const transpose = rng.int(11) - 5;
    play(theme, 0, velocity);
    play(episode, 0, Math.max(1, velocity - 16));
    returnNotes.push({ first: notes.length, count: themeNotes, transpose });
    play(theme, transpose, velocity);
  }
  const { events } = notesToEvents(notes);
  // Monophonic and in order: the k-th NOTE_ON of the events is note k.
  const onAt: number[] = [];
  events.forEach((e, i) => { if (e < NOTE_OFF) onAt.push(i); });
  const returns = returnNotes.map((r) => {
    const last = onAt[r.first + r.count - 1]!;
    // The return ends with its last note's TIME_SHIFT and NOTE_OFF.
    return { start: onAt[r.first]!, end: Math.min(events.length, last + 3), transpose: r.transpose };
  });
  return { notes, events, returns };
}

export function syntheticPieces(count: number, seed: number, opts: SyntheticMusicOptions = {}): SyntheticPiece[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => syntheticPiece(rng, opts));
}

/** The pieces of data=synthetic-music: 2,000 training pieces (seed 1) and 64 validation pieces (seed 2), default options. */
export function syntheticMusicSplit(split: 'train' | 'validation'): SyntheticPiece[] {
  return split === 'train' ? syntheticPieces(2000, 1) : syntheticPieces(64, 2);
}
