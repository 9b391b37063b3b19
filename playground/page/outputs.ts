// What a run returned, shown: its figures as a table, every PNG it wrote on a canvas (a grid of
// samples, a piano roll, a heatmap), every MIDI file with Play (Web Audio, in the page) and a
// download, other files as downloads. Chosen by the file's type, not by the kind of data.
import { midiToNotes } from 'perceiver-ar';
import { playNotes, type Playback, type RunResult } from 'perceiver-ar/browser';
import { el } from './dom.js';

/** The object URLs of each output box's download links (revoked when that box's outputs are replaced). */
const urlsOf = new WeakMap<HTMLElement, string[]>();
let audio: AudioContext | null = null, playing: { playback: Playback; button: HTMLButtonElement } | null = null;

/** A link that downloads `bytes` as `name`. */
function downloadLink(urls: string[], name: string, bytes: Uint8Array, type: string): HTMLAnchorElement {
  const href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  urls.push(href);
  return el('a', { href, download: name, textContent: `download ${name}`, className: 'download' });
}

/** Stops what is playing, if anything. */
const stopPlaying = (): void => { playing?.playback.stop(); };

/** A PNG drawn on a canvas of its own size (shown at most the page's width). */
async function pngCanvas(name: string, bytes: Uint8Array): Promise<HTMLCanvasElement> {
  const bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
  const canvas = el('canvas', { width: bitmap.width, height: bitmap.height, className: 'figure', title: name });
  canvas.dataset.file = name;
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
  // Small images (a heatmap, a grid of small samples) are enlarged without smoothing.
  canvas.style.width = `${Math.min(900, bitmap.width * Math.max(1, Math.floor(320 / Math.max(bitmap.width, bitmap.height))))}px`;
  return canvas;
}

/** Play / stop for a MIDI file: its notes read by the library's MIDI reader, played with Web Audio. */
function midiPlayer(name: string, bytes: Uint8Array): HTMLElement {
  const { notes } = midiToNotes(bytes, name), state = el('span', { className: 'muted' });
  const button = el('button', { type: 'button', textContent: '▶ play', className: 'play' });
  button.dataset.file = name;
  if (typeof AudioContext === 'undefined') {
    button.disabled = true;
    state.textContent = 'this browser has no Web Audio: download the file to listen to it';
  }
  button.onclick = () => {
    const mine = playing?.button === button;
    stopPlaying();
    if (mine) return;
    audio ??= new AudioContext();
    void audio.resume();
    const p = playNotes(audio, notes);
    playing = { playback: p, button };
    button.textContent = '■ stop';
    state.textContent = `${notes.length} notes, ${p.seconds.toFixed(1)} s`;
    button.dataset.scheduled = String(p.scheduled());
    const t = setInterval(() => { button.dataset.scheduled = String(p.scheduled()); }, 250);
    void p.ended.then(() => {
      clearInterval(t);
      button.dataset.scheduled = String(p.scheduled());
      if (playing?.playback === p) playing = null;
      button.textContent = '▶ play';
    });
  };
  return el('span', { className: 'row' }, button, state);
}

const fmt = (v: unknown): string => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toPrecision(5)) : String(v));

export async function showResult(box: HTMLElement, r: RunResult): Promise<void> {
  clearOutputs(box);
  const urls: string[] = [];
  urlsOf.set(box, urls);
  const table = el('table', { className: 'metrics' });
  for (const [k, v] of Object.entries(r.metrics)) if (v !== null && v !== '') table.append(el('tr', {}, el('td', { textContent: k }), el('td', { textContent: fmt(v) })));
  const parts: HTMLElement[] = [];
  // Class probabilities (a classifier's result) as bars.
  const probabilities = typeof r.metrics.probabilities === 'string' ? r.metrics.probabilities.split(' ').map(Number) : [];
  if (probabilities.length > 0) {
    parts.push(el('table', { className: 'probabilities' }, ...probabilities.map((p, y) => el('tr', { dataset: { class: String(y) } }, el('td', { textContent: `class ${y}` }),
      el('td', {}, el('span', { className: 'bar', title: p.toFixed(4) }, ''), ` ${(100 * p).toFixed(1)}%`)))));
    parts[parts.length - 1]!.querySelectorAll<HTMLElement>('.bar').forEach((b, y) => { b.style.width = `${Math.round(200 * probabilities[y]!)}px`; });
  }
  for (const f of r.files) {
    const name = f.name.replace(/^.*\//, '');
    if (/\.png$/i.test(name)) parts.push(el('div', { className: 'output' }, await pngCanvas(name, f.bytes), el('br'), downloadLink(urls, name, f.bytes, 'image/png')));
    else if (/\.midi?$/i.test(name)) parts.push(el('div', { className: 'output' }, midiPlayer(name, f.bytes), ' ', downloadLink(urls, name, f.bytes, 'audio/midi')));
    else parts.push(el('div', { className: 'output' }, downloadLink(urls, name, f.bytes, 'application/octet-stream')));
  }
  box.replaceChildren(...parts, table);
}

/** Stops what is playing (if it is in this box) and forgets the box's outputs and their URLs. */
export function clearOutputs(box: HTMLElement): void {
  if (playing && box.contains(playing.button)) stopPlaying();
  for (const u of urlsOf.get(box)?.splice(0) ?? []) URL.revokeObjectURL(u);
  box.replaceChildren();
}
