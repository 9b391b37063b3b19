// The latent-count knob (docs/efficiency.md): a slider over N', the number of latents the model runs
// with at test time. Each position it stops at is measured in the session: the model's score
// (bits per token, per dimension or per event: what its data's eval reports) at N' and the speed
// of that evaluation, and, where the data's generation takes numLatents, cached generation
// tokens/s at N'. Every measured point stays in the table.
import type { BrowserSession, CheckpointSummary, CommandForm, RunFile, RunRequest, RunResult } from 'perceiver-ar/browser';
import { el } from './dom.js';

const takes = (form: CommandForm | undefined, name: string): boolean => form?.options.some((o) => o.name === name) ?? false;

async function runToEnd(session: BrowserSession, request: RunRequest): Promise<RunResult> {
  const run = session.run(request);
  for (;;) {
    const next = await run.next();
    if (next.done) return next.value;
  }
}

export interface Knob { readonly element: HTMLElement }

/**
 * The knob for a model whose eval takes numLatents; null otherwise. `data()`: a file the eval
 * scores (the text dropped on the page), for data the page cannot make itself.
 */
export function latentKnob(session: BrowserSession, summary: CheckpointSummary, data: () => Promise<RunFile | null>,
  hooks: { busy(on: boolean): void; fail(e: unknown): void }): Knob | null {
  const evalForm = summary.commands.eval, genForm = summary.commands.generate, config = summary.model;
  if (!takes(evalForm, 'numLatents')) return null;
  const N = Number(config.numLatents), M = Number(config.contextLength), lo = Math.max(1, Math.floor(N / 4)), hi = Math.min(2 * N, M);
  const slider = el('input', { type: 'range', min: String(lo), max: String(hi), step: '1', value: String(N), id: 'latents', dataset: { starts: 'model' } });
  const label = el('span', { id: 'latentsLabel' }), status = el('div', { id: 'knobStatus', className: 'muted' });
  const rows = el('tbody');
  const table = el('table', { className: 'metrics', id: 'knobTable' }, el('thead', {}, el('tr', {}, ...['N\u2032', 'score', 'eval tokens/s', 'generation tokens/s'].map((h) => el('th', { textContent: h })))), rows);
  const show = (): void => { label.textContent = `N′ = ${slider.value}${Number(slider.value) === N ? ' (trained)' : ''}`; };
  show();
  let running = false, wanted: number | null = null;
  const measure = async (n: number): Promise<void> => {
    running = true;
    hooks.busy(true);
    try {
      status.textContent = `measuring N′ = ${n}…`;
      // Data read from a file (not built in) is scored from the file given to the page.
      const needs = evalForm!.files.some((f) => f.name === 'dataPath'), file = await data();
      if (needs && !file) throw new Error('this model\'s data is read from a file: give Evaluate the file to score (a dropped .txt lands there) first');
      const options: Record<string, number> = { numLatents: n };
      if (takes(evalForm, 'stride')) options.stride = lo;
      if (takes(evalForm, 'maxTargets')) options.maxTargets = 4096;
      if (takes(evalForm, 'maxImages')) options.maxImages = 2;
      const started = performance.now();
      const e = await runToEnd(session, { command: 'eval', options, ...(needs && file ? { files: { dataPath: file } } : {}) });
      // The evaluation's speed over the whole call (as the page waits for it).
      const m = e.metrics, scoreKey = Object.keys(m).find((k) => /^bitsPer/.test(k)) ?? 'nats', score = Number(m[scoreKey]);
      const scored = Number(m.tokens ?? m.subpixels ?? m.events ?? NaN), evalRate = scored / ((performance.now() - started) / 1000);
      let genRate = NaN;
      if (takes(genForm, 'numLatents') && takes(genForm, 'stopAtEos')) {
        // The generation's default length (256 tokens, or up to the end of an absolute position table).
        const g = await runToEnd(session, { command: 'generate', options: { numLatents: n, stopAtEos: false, seed: 0 } });
        genRate = Number(g.metrics.tokensPerSecond);
      }
      const cell = (v: number, digits: number): HTMLTableCellElement => el('td', { textContent: Number.isFinite(v) ? v.toFixed(digits) : '—' });
      // One row per N′ (measured again: the row is replaced).
      rows.querySelector(`tr[data-latents="${n}"]`)?.remove();
      const scoreText = `${score.toFixed(3)} ${scoreKey.replace('bitsPer', 'bits/').toLowerCase()}`;
      rows.append(el('tr', { dataset: { latents: String(n) } }, el('td', { textContent: String(n) }), el('td', { textContent: scoreText }), cell(evalRate, 0), cell(genRate, 0)));
      status.textContent = `N′ = ${n}: ${scoreText}, eval ${evalRate.toFixed(0)} tokens/s${Number.isFinite(genRate) ? `, generation ${genRate.toFixed(0)} tokens/s` : ''}`;
    } catch (e) {
      status.textContent = '';
      hooks.fail(e);
    } finally {
      running = false;
      hooks.busy(false);
      if (wanted !== null) { const next = wanted; wanted = null; void measure(next); }
    }
  };
  slider.oninput = show;
  slider.onchange = () => { const n = Number(slider.value); if (running) wanted = n; else void measure(n); };
  const element = el('div', {}, el('div', { className: 'row' }, el('span', { textContent: `${lo}` }), slider, el('span', { textContent: `${hi}` }), label), status, table);
  return { element };
}
