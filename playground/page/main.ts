// The playground page (docs/browser.md): a checkpoint loaded by file picker or drop; each command
// its model can run (generate, classify, eval) as a form built from what its data's modality
// declares, with streamed text, progress and outputs (sample grids, piano rolls with playback,
// heatmaps, downloads); the latent-count knob; a preset (or a dropped text file) trained live with a
// loss chart, progress, ETA, stop and resume; the model downloaded as a checkpoint. Everything runs
// in a BrowserSession's worker; nothing is fetched from outside the page's server.
import { PRESETS } from 'perceiver-ar';
import { BrowserSession, type CheckpointSummary, type RunCommand, type TrainSummary } from 'perceiver-ar/browser';
import { drawChart } from './chart.js';
import { buildForm, type BuiltForm } from './forms.js';
import { latentKnob } from './knob.js';
import { clearOutputs, showResult } from './outputs.js';
import { el } from './dom.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const button = (id: string): HTMLButtonElement => $<HTMLButtonElement>(id);
const here = new URL('.', location.href);
const urls = { sessionWorker: new URL('session-worker.js', here), kernels: new URL('../build/', here), poolWorker: new URL('../dist/src/platform/browser/pool-worker.js', here) };

let session: BrowserSession | null = null, summary: CheckpointSummary | null = null, text: { name: string; bytes: ArrayBuffer } | null = null;
const forms = new Map<RunCommand, BuiltForm>();
const losses: number[] = [];
const TITLES: Record<RunCommand, string> = { generate: 'Generate', classify: 'Classify', eval: 'Evaluate' };

const show = (message: string): void => { $('message').textContent = message; };
const fail = (e: unknown): void => { if ((e as Error).name !== 'AbortError') show(e instanceof Error ? e.message : String(e)); };

/** One call at a time from the page: every control that starts one is disabled while one runs (Stop buttons stay), and drops wait. */
let running = false;
function busy(on: boolean): void {
  running = on;
  for (const b of document.querySelectorAll<HTMLButtonElement | HTMLInputElement>('[data-starts]')) b.disabled = on || (b.dataset.starts === 'model' && summary === null);
  button('resume').disabled = on || summary?.step == null || summary.architecture !== 'perceiver-ar';
}

/** Runs one command from its form: streamed text, notices and progress as they come, then the outputs. */
async function runFromForm(command: RunCommand, panel: { text: HTMLElement; status: HTMLElement; outputs: HTMLElement; stop: HTMLButtonElement }): Promise<void> {
  show('');
  const stop = new AbortController(), started = performance.now();
  panel.text.textContent = '';
  panel.status.textContent = 'starting…';
  busy(true);
  panel.stop.disabled = false;
  panel.stop.onclick = () => stop.abort();
  try {
    const { options, files } = await forms.get(command)!.values();
    const run = session!.run({ command, options, files }, stop.signal);
    for (;;) {
      const next = await run.next();
      if (next.done) {
        await showResult(panel.outputs, next.value);
        panel.status.textContent = `done in ${((performance.now() - started) / 1000).toFixed(1)} s`;
        break;
      }
      const e = next.value;
      if (e.type === 'text') panel.text.textContent += e.text;
      else if (e.type === 'log') panel.text.textContent += `note: ${e.line}\n`;
      else panel.status.textContent = `${e.label}: ${e.done} of ${e.total}`;
    }
  } catch (e) {
    if ((e as Error).name === 'AbortError') panel.status.textContent += ' — stopped';
    else panel.status.textContent = '';
    fail(e);
  } finally {
    panel.stop.disabled = true;
    busy(false);
  }
}

/** The model's config and a panel per command it can run. */
function describe(s: CheckpointSummary): void {
  summary = s;
  const rows: [string, unknown][] = [['file', s.name], ['architecture', s.architecture], ['parameters', s.parameters.toLocaleString('en-US')],
    ['data', s.data?.data ?? '—'], ['training step', s.step ?? '— (no training state)'], ...Object.entries(s.model)];
  $('config').replaceChildren(...rows.map(([k, v]) => el('tr', {}, el('td', { textContent: k }), el('td', { textContent: String(v) }))));
  $('configLine').textContent = `${s.name}: ${s.architecture}, ${s.parameters.toLocaleString('en-US')} parameters, data ${s.data?.data ?? '—'}` +
    `${s.step === null ? '' : `, step ${s.step}`} (config)`;
  forms.clear();
  const panels = $('commands');
  for (const old of panels.querySelectorAll('.outputs')) clearOutputs(old as HTMLElement);
  panels.replaceChildren();
  for (const command of ['generate', 'classify', 'eval'] as const) {
    const form = s.commands[command];
    if (!form) continue;
    // A heatmap is asked for where the model reads a bank of image patches (AdaTape with --bank=input).
    const built = buildForm(form, { heatmap: s.model.model === 'adatape' && s.model.bank === 'input' && s.model.input === 'image' });
    forms.set(command, built);
    const run = el('button', { textContent: TITLES[command], id: `run-${command}`, dataset: { starts: 'model' } });
    const stop = el('button', { textContent: 'Stop', disabled: true, id: `stop-${command}` });
    const text = el('pre', { id: `text-${command}` }), status = el('div', { className: 'muted', id: `status-${command}` });
    const outputs = el('div', { className: 'outputs', id: `outputs-${command}` });
    run.onclick = () => { runFromForm(command, { text, status, outputs, stop }).catch(fail); };
    panels.append(el('section', { id: `panel-${command}` }, el('h2', { textContent: TITLES[command] }),
      ...(form.help ? [el('div', { className: 'muted help', textContent: form.help })] : []), built.element, el('div', { className: 'row' }, run, stop), status, text, outputs));
  }
  // The knob scores the file in Evaluate's data field (a dropped .txt lands there), for data not built in.
  const knob = latentKnob(session!, s, async () => (await forms.get('eval')?.file('dataPath')) ?? null, { busy, fail });
  $('knob').hidden = knob === null;
  $('knobBody').replaceChildren(...(knob ? [knob.element] : []));
  busy(false);
}

/** A dropped or chosen file: a checkpoint, text to train on (and to score), or a file a command reads (by its type). */
async function loadFile(file: File): Promise<void> {
  show('');
  if (running) throw new Error(`${file.name}: wait for the running call to end (or stop it) before giving the page another file`);
  if (/\.safetensors$/i.test(file.name)) {
    busy(true);
    try {
      describe(await session!.loadCheckpoint(file, file.name));
      losses.length = 0;
      drawChart($('chart'), losses);
    } finally {
      busy(false);
    }
    return;
  }
  // Text is also what Train trains on; any file goes to the form fields that take its type.
  const isText = /\.(txt|md)$/i.test(file.name);
  if (isText) {
    text = { name: file.name, bytes: await file.arrayBuffer() };
    $('textFile').textContent = `on ${file.name} (${text.bytes.byteLength.toLocaleString('en-US')} bytes of text)`;
  }
  const taken = [...forms.values()].reduce((n, f) => n + f.offer(file), 0);
  if (taken === 0 && !isText) throw new Error(`${file.name}: not a checkpoint (.safetensors) or text (.txt, .md), and nothing the loaded model runs reads this type of file`);
}

/** Trains a new model from the preset, or resumes the session's model up to the steps given. */
async function train(resume: boolean): Promise<void> {
  show('');
  const stop = new AbortController(), started = performance.now();
  busy(true);
  button('stopTrain').disabled = false;
  button('stopTrain').onclick = () => stop.abort();
  const preset = $<HTMLSelectElement>('preset').value, steps = Number($<HTMLInputElement>('steps').value);
  if (!resume) losses.length = 0;
  try {
    const run = session!.train({ steps, ...(resume ? { resume: true } : { preset }), ...(text ? { text: text.bytes.slice(0) } : {}) }, stop.signal);
    let first = -1, result: TrainSummary, last = 0;
    for (;;) {
      const next = await run.next();
      if (next.done) { result = next.value; break; }
      const p = next.value;
      if (first < 0) { first = p.step - 1; $('chart').dataset.firstStep = String(p.step); }
      last = p.step;
      const done = p.step - first, eta = (((performance.now() - started) / 1000) / done) * (p.steps - p.step);
      losses.push(p.loss);
      if (p.step % 5 === 0 || p.step === p.steps) drawChart($('chart'), losses, last);
      $('trainStatus').textContent = `step ${p.step} of ${p.steps}, loss ${p.loss.toFixed(4)}, ${p.tokensPerSecond.toFixed(0)} tokens/s, ETA ${eta.toFixed(0)} s`;
    }
    drawChart($('chart'), losses, last);
    $('trainStatus').textContent = `${result.stopped ? 'stopped' : 'done'} at step ${result.steps}: validation ${result.validationBitsPerToken.toFixed(3)} bits/token`;
    describe(result.model);
  } catch (e) { fail(e); } finally {
    button('stopTrain').disabled = true;
    busy(false);
  }
}

async function download(): Promise<void> {
  busy(true);
  try {
    const training = $<HTMLInputElement>('withState').checked;
    const bytes = await session!.saveCheckpoint({ training }), a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
    a.download = (summary?.name ?? 'model').replace(/\s*\(.*\)$/, '').replace(/(\.safetensors)?$/, '.safetensors').replace(/[^\w.-]+/g, '-');
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  } finally {
    busy(false);
  }
}

async function main(): Promise<void> {
  const preset = $<HTMLSelectElement>('preset');
  for (const [name, p] of Object.entries(PRESETS)) if (p.architecture === undefined || p.architecture === 'perceiver-ar') preset.add(new Option(name, name, name === 'mirrored-32-small', name === 'mirrored-32-small'));
  session = await BrowserSession.open(urls.sessionWorker, { kernelsUrl: urls.kernels.href, workerUrl: urls.poolWorker.href });
  const i = session.info;
  $('engine').textContent = `engine: ${i.backend} (${i.simd}), ${i.threads} thread${i.threads === 1 ? '' : 's'}${i.notes.length ? ` — ${i.notes.join('; ')}` : ''}`;
  $<HTMLInputElement>('file').onchange = (e) => { const f = (e.target as HTMLInputElement).files?.[0]; if (f) loadFile(f).catch(fail); };
  // A file dropped anywhere else must not replace the page (and a running training with it).
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
  const drop = $('drop');
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove('over'); const f = e.dataTransfer?.files[0]; if (f) loadFile(f).catch(fail); };
  busy(false);
  button('train').onclick = () => { train(false).catch(fail); };
  button('resume').onclick = () => { train(true).catch(fail); };
  button('download').onclick = () => { download().catch(fail); };
  document.body.dataset.ready = 'true';
}
main().catch(fail);
