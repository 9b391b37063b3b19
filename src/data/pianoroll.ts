// A piano roll as an RGB image: time left to right, pitch bottom to top (one row band per
// semitone, the octave's C lines in grey), each note a bar shaded by its velocity (louder =
// darker); notes starting before `splitAt` seconds (the prompt) in blue, later ones (the
// continuation) in orange, with a red line at the split. Pitches outside the piano's 88 keys
// (21–108), which training drops, have a grey background and their notes are drawn grey. The
// pitch of every C is named at its row on the left (C4 = MIDI 60) and seconds are marked along the
// bottom.
import type { Image } from './images.js';
import { MAX_PITCH, MIN_PITCH, type Note } from './music.js';
import { maxOf, minOf } from '../tensor/extent.js';
import { drawText, textSize } from './bitmap-font.js';

export interface PianoRollOptions {
  /** Seconds where the prompt ends (notes starting at or after it are the continuation); omit for one colour. */
  readonly splitAt?: number;
  readonly pixelsPerSecond?: number;
  readonly pixelsPerPitch?: number;
  /** Widest image (the time axis is compressed to fit); default 4,000. */
  readonly maxWidth?: number;
}

const PROMPT = [31, 119, 180], CONTINUATION = [255, 127, 14], OFF_PIANO = [150, 150, 150], OFF_PIANO_ROWS = [236, 236, 236];

/** Notes outside the 88 keys (pitches 21–108): training drops them (notesToEvents). */
export const offPiano = (n: Note): boolean => n.pitch < MIN_PITCH || n.pitch > MAX_PITCH;

/** A piano roll image and where its plot lies in it (the axes' labels take the left and bottom margins). */
export interface PianoRoll extends Image {
  readonly plot: { readonly left: number; readonly top: number; readonly width: number; readonly height: number };
}

/** MIDI pitch → its name at C (60 → 'C4'). */
export const pitchName = (pitch: number): string => `C${Math.floor(pitch / 12) - 1}`;

/** Seconds between time ticks: the smallest of 0.5, 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 20, 30 min, then hours, at least `minPixels` apart. */
export function tickStep(pixelsPerSecond: number, minPixels = 50): number {
  for (const s of [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 1800]) if (s * pixelsPerSecond >= minPixels) return s;
  return 3600 * Math.ceil(minPixels / pixelsPerSecond / 3600);
}

const AXIS = [90, 90, 90], LABEL = [60, 60, 60], LEFT = textSize('C-1').width + 7, BOTTOM = textSize('0').height + 6;

export function pianoRoll(notes: readonly Note[], o: PianoRollOptions = {}): PianoRoll {
  const pitches = notes.map((n) => n.pitch);
  const end = Math.max(1, maxOf(notes.map((n) => n.end), 1));
  const lo = Math.max(0, Math.min(minOf(pitches, 60), 60) - 2), hi = Math.min(127, Math.max(maxOf(pitches, 72), 72) + 2);
  const pps = Math.min(o.pixelsPerSecond ?? 50, (o.maxWidth ?? 4000) / end), ph = o.pixelsPerPitch ?? 4;
  const plotW = Math.ceil(end * pps) + 1, plotH = (hi - lo + 1) * ph, width = LEFT + plotW, height = plotH + BOTTOM;
  const pixels = new Uint8Array(width * height * 3).fill(255);
  const set = (x: number, y: number, c: readonly number[]): void => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = (y * width + x) * 3;
    pixels[i] = c[0]!; pixels[i + 1] = c[1]!; pixels[i + 2] = c[2]!;
  };
  // Inside the plot only (x, y relative to it).
  const put = (x: number, y: number, c: readonly number[]): void => { if (x >= 0 && y >= 0 && x < plotW && y < plotH) set(LEFT + x, y, c); };
  const rowOf = (pitch: number): number => (hi - pitch) * ph;
  for (let p = lo; p <= hi; p++) {
    if (p < MIN_PITCH || p > MAX_PITCH) for (let y = rowOf(p); y < rowOf(p) + ph; y++) for (let x = 0; x < plotW; x++) put(x, y, OFF_PIANO_ROWS);
  }
  for (let p = lo; p <= hi; p++) if (p % 12 === 0) for (let x = 0; x < plotW; x++) put(x, rowOf(p) + ph - 1, [220, 220, 220]);
  for (const n of notes) {
    const base = offPiano(n) ? OFF_PIANO : o.splitAt !== undefined && n.start >= o.splitAt - 1e-9 ? CONTINUATION : PROMPT;
    // Velocity 1 → 25% of the colour's strength over white, 127 → 100%.
    const a = 0.25 + 0.75 * (Math.min(127, Math.max(1, n.velocity)) / 127), c = base.map((v) => Math.round(255 - a * (255 - v)));
    const x0 = Math.floor(n.start * pps), x1 = Math.max(x0 + 1, Math.floor(n.end * pps)), y0 = rowOf(n.pitch);
    for (let x = x0; x < x1; x++) for (let y = y0; y < y0 + Math.max(1, ph - 1); y++) put(x, y, c);
  }
  if (o.splitAt !== undefined) { const x = Math.round(o.splitAt * pps); for (let y = 0; y < plotH; y++) put(x, y, [214, 39, 40]); }
  // Axes: the pitch of every C at its row (a tick and its name), seconds along the bottom.
  for (let y = 0; y < plotH; y++) set(LEFT - 1, y, AXIS);
  for (let x = LEFT - 1; x < width; x++) set(x, plotH, AXIS);
  const ink = (c: readonly number[]) => (x: number, y: number): void => set(x, y, c);
  for (let p = lo; p <= hi; p++) {
    if (p % 12 !== 0) continue;
    const mid = rowOf(p) + Math.floor(ph / 2), name = pitchName(p);
    set(LEFT - 2, mid, AXIS); set(LEFT - 3, mid, AXIS);
    drawText(ink(LABEL), name, LEFT - 4 - textSize(name).width, Math.min(Math.max(0, mid - 3), plotH - 7));
  }
  const step = tickStep(pps);
  for (let t = 0; t <= end + 1e-9; t += step) {
    const x = LEFT + Math.round(t * pps), label = `${step < 1 ? t.toFixed(1) : t.toFixed(0)}s`, w = textSize(label).width;
    set(x, plotH + 1, AXIS); set(x, plotH + 2, AXIS);
    drawText(ink(LABEL), label, Math.min(Math.max(LEFT - 1, x - (w >> 1)), width - w), plotH + 4);
  }
  return { shape: { width, height, channels: 3 }, pixels, plot: { left: LEFT, top: 0, width: plotW, height: plotH } };
}
