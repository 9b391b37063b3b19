// Notes played in a page with Web Audio: a small synthesizer (two detuned oscillators per note
// through a gain envelope shaped by the note's velocity), scheduled a little ahead of time as the
// piece plays, so pieces of any length start at once. No sound files are fetched.
import type { Note } from '../../data/music.js';

// The parts of Web Audio used here, declared structurally (the core's TypeScript has no DOM types).
interface Param { value: number; setValueAtTime(v: number, t: number): unknown; linearRampToValueAtTime(v: number, t: number): unknown;
  exponentialRampToValueAtTime(v: number, t: number): unknown }
interface SoundNode { connect(to: SoundNode): unknown; disconnect(): void }
interface Oscillator extends SoundNode { type: string; readonly frequency: Param; readonly detune: Param; start(t: number): void; stop(t?: number): void;
  onended: ((ev: never) => unknown) | null }
interface Gain extends SoundNode { readonly gain: Param }

/** What playNotes needs of an AudioContext (a page's `new AudioContext()`). */
export interface AudioTarget {
  readonly currentTime: number;
  readonly destination: SoundNode;
  createOscillator(): Oscillator;
  createGain(): Gain;
}

export interface Playback {
  /** Notes scheduled so far (all of them once the piece has played to its end). */
  readonly scheduled: () => number;
  /** Seconds from the start to the last note's end. */
  readonly seconds: number;
  /** Resolves when the piece has played (or was stopped). */
  readonly ended: Promise<void>;
  stop(): void;
}

const LOOKAHEAD_SECONDS = 1, TICK_MS = 200, ATTACK = 0.005, RELEASE = 0.08;

export const midiFrequency = (pitch: number): number => 440 * 2 ** ((pitch - 69) / 12);

/** Plays `notes` (seconds from now, after a short lead-in) on `audio`; stop() silences it at once. */
export function playNotes(audio: AudioTarget, notes: readonly Note[], o: { readonly volume?: number } = {}): Playback {
  const sorted = [...notes].sort((a, b) => a.start - b.start), volume = o.volume ?? 0.15;
  const seconds = sorted.reduce((m, n) => Math.max(m, n.end), 0), t0 = audio.currentTime + 0.1;
  const live = new Set<Oscillator>();
  let next = 0, timer: ReturnType<typeof setInterval> | null = null, finish!: () => void;
  const ended = new Promise<void>((resolve) => { finish = resolve; });
  const voice = (n: Note): void => {
    const start = t0 + n.start, end = t0 + Math.max(n.end, n.start + 0.02), peak = volume * (Math.min(127, Math.max(1, n.velocity)) / 127);
    const gain = audio.createGain();
    gain.gain.setValueAtTime(0, start);
    gain.gain.linearRampToValueAtTime(peak, start + ATTACK);
    gain.gain.exponentialRampToValueAtTime(Math.max(1e-4, peak * 0.4), Math.max(start + ATTACK + 0.01, end - 0.01));
    gain.gain.linearRampToValueAtTime(0, end + RELEASE);
    gain.connect(audio.destination);
    for (const [type, detune] of [['triangle', 0], ['sine', 7]] as const) {
      const osc = audio.createOscillator();
      osc.type = type;
      osc.frequency.value = midiFrequency(n.pitch);
      osc.detune.value = detune;
      osc.connect(gain);
      osc.start(start);
      osc.stop(end + RELEASE);
      live.add(osc);
      osc.onended = () => { live.delete(osc); osc.disconnect(); };
    }
  };
  const tick = (): void => {
    const horizon = audio.currentTime - t0 + LOOKAHEAD_SECONDS;
    while (next < sorted.length && sorted[next]!.start <= horizon) voice(sorted[next++]!);
    if (next >= sorted.length && audio.currentTime > t0 + seconds + RELEASE) stop();
  };
  const stop = (): void => {
    if (timer !== null) clearInterval(timer);
    timer = null;
    for (const osc of live) { try { osc.stop(); } catch { /* not started yet */ } osc.disconnect(); }
    live.clear();
    finish();
  };
  tick();
  timer = setInterval(tick, TICK_MS);
  return { scheduled: () => next, seconds, ended, stop };
}
