// The playground page (docs/browser.md): a checkpoint loaded by file picker or drop, text streamed
// from it, a preset trained live with a loss chart, progress, ETA and stop, and the model
// downloaded as a checkpoint. Everything runs in a BrowserSession's worker; nothing is fetched
// from outside the page's server. Bundled with esbuild by playground/serve.ts.
import { EOS, PRESETS, SOS, utf8Codec } from 'perceiver-ar';
import { BrowserSession, type CheckpointSummary } from 'perceiver-ar/browser';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const here = new URL('.', location.href);
const urls = { sessionWorker: new URL('session-worker.js', here), kernels: new URL('../build/', here), poolWorker: new URL('../dist/src/platform/browser/pool-worker.js', here) };

let session: BrowserSession | null = null, summary: CheckpointSummary | null = null, text: ArrayBuffer | null = null;
const show = (message: string): void => { $('message').textContent = message; };
/** One call at a time from the page: the buttons that start one are disabled while it runs (Stop stays). */
function busy(on: boolean): void {
  for (const id of ['generate', 'train', 'download', 'file']) ($(id) as HTMLButtonElement).disabled = on || (id !== 'train' && id !== 'file' && summary === null);
}
const fail = (e: unknown): void => { if ((e as Error).name !== 'AbortError') show(e instanceof Error ? e.message : String(e)); };

function describe(s: CheckpointSummary): void {
  const rows: [string, unknown][] = [['file', s.name], ['architecture', s.architecture], ['parameters', s.parameters.toLocaleString('en-US')],
    ['data', s.data?.data ?? '—'], ...Object.entries(s.model)];
  $('config').replaceChildren(...rows.map(([k, v]) => { const tr = document.createElement('tr'); tr.innerHTML = '<td></td><td></td>'; tr.cells[0]!.textContent = k; tr.cells[1]!.textContent = String(v); return tr; }));
  ($('generate') as HTMLButtonElement).disabled = false;
  ($('download') as HTMLButtonElement).disabled = false;
}

async function loadFile(file: File): Promise<void> {
  show('');
  if (/\.(txt|text|md)$/i.test(file.name)) {
    text = await file.arrayBuffer();
    $('textFile').textContent = `on ${file.name} (${text.byteLength.toLocaleString('en-US')} bytes of text)`;
    return;
  }
  if (!/\.safetensors$/i.test(file.name)) throw new Error(`${file.name}: not a checkpoint (.safetensors) or a text file to train on (.txt)`);
  busy(true);
  try {
    summary = await session!.loadCheckpoint(file, file.name);
    describe(summary);
  } finally {
    busy(false);
  }
}

async function generateText(): Promise<void> {
  const isText = summary?.data?.data === 'text';
  const prompt = [SOS, ...(isText ? utf8Codec.encode(($('prompt') as HTMLTextAreaElement).value) : [])];
  const decode = isText ? utf8Codec.decoder(prompt) : (id: number): string => `${id} `;
  const out = $('output'), stop = new AbortController(), started = performance.now();
  out.textContent = isText ? ($('prompt') as HTMLTextAreaElement).value : '';
  $('generateStatus').textContent = '';
  busy(true);
  ($('stopGenerate') as HTMLButtonElement).disabled = false;
  ($('stopGenerate') as HTMLButtonElement).onclick = () => stop.abort();
  let n = 0, last = -1;
  try {
    for await (const id of session!.generate(prompt, { maxNewTokens: Number(($('tokens') as HTMLInputElement).value), temperature: Number(($('temperature') as HTMLInputElement).value),
      topP: Number(($('topP') as HTMLInputElement).value), seed: Number(($('seed') as HTMLInputElement).value) }, stop.signal)) {
      out.textContent += decode(id);
      n++;
      last = id;
      $('generateStatus').textContent = `${n} tokens, ${(n / ((performance.now() - started) / 1000)).toFixed(1)} tokens/s`;
    }
    $('generateStatus').textContent += last === EOS ? ' — stopped at EOS' : ' — done';
  } catch (e) {
    if ((e as Error).name === 'AbortError') $('generateStatus').textContent += ' — stopped';
    fail(e);
  } finally {
    ($('stopGenerate') as HTMLButtonElement).disabled = true;
    busy(false);
  }
}

function drawChart(losses: number[]): void {
  const c = $('chart') as HTMLCanvasElement, g = c.getContext('2d')!, W = c.width, H = c.height, pad = 30;
  g.clearRect(0, 0, W, H);
  g.fillStyle = '#fff'; g.fillRect(0, 0, W, H);
  if (losses.length < 2) return;
  const top = Math.max(...losses.slice(0, 50)), bottom = Math.min(...losses.slice(-1000));
  g.strokeStyle = '#999'; g.beginPath(); g.moveTo(pad, 5); g.lineTo(pad, H - pad); g.lineTo(W - 5, H - pad); g.stroke();
  g.fillStyle = '#444'; g.font = '11px sans-serif';
  g.fillText(`${top.toFixed(2)} nats`, 2, 12); g.fillText(bottom.toFixed(2), 2, H - pad); g.fillText(`step ${losses.length}`, W - 60, H - 10);
  g.strokeStyle = '#2a6fd6'; g.lineWidth = 1.5; g.beginPath();
  losses.forEach((l, i) => {
    const x = pad + ((W - pad - 5) * i) / (losses.length - 1), y = 5 + ((H - pad - 5) * (top - l)) / Math.max(1e-9, top - bottom);
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.stroke();
}

async function train(): Promise<void> {
  show('');
  const losses: number[] = [], stop = new AbortController(), started = performance.now();
  busy(true);
  ($('stopTrain') as HTMLButtonElement).disabled = false;
  ($('stopTrain') as HTMLButtonElement).onclick = () => stop.abort();
  const preset = ($('preset') as HTMLSelectElement).value;
  try {
    const run = session!.train({ preset, steps: Number(($('steps') as HTMLInputElement).value), ...(text ? { text: text.slice(0) } : {}) }, stop.signal);
    let parameters = 0;
    for (;;) {
      const next = await run.next();
      if (next.done) {
        parameters = next.value.parameters;
        $('trainStatus').textContent = `${next.value.stopped ? 'stopped' : 'done'} at step ${next.value.steps}: validation ${next.value.validationBitsPerToken.toFixed(3)} bits/token`;
        break;
      }
      const p = next.value, elapsed = (performance.now() - started) / 1000, eta = (elapsed / p.step) * (p.steps - p.step);
      losses.push(p.loss);
      if (p.step % 5 === 0 || p.step === p.steps) drawChart(losses);
      $('trainStatus').textContent = `step ${p.step} of ${p.steps}, loss ${p.loss.toFixed(4)}, ${p.tokensPerSecond.toFixed(0)} tokens/s, ETA ${eta.toFixed(0)} s`;
    }
    drawChart(losses);
    summary = { name: `${preset} (trained here)`, architecture: 'perceiver-ar', model: { ...PRESETS[preset]!.model }, data: text ? { data: 'text' } : { ...PRESETS[preset]!.data }, parameters };
    describe(summary);
  } catch (e) { fail(e); } finally {
    ($('stopTrain') as HTMLButtonElement).disabled = true;
    busy(false);
  }
}

async function download(): Promise<void> {
  busy(true);
  try {
    const bytes = await session!.saveCheckpoint(), a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
    a.download = (summary?.name ?? 'model').replace(/(\.safetensors)?$/, '.safetensors').replace(/[^\w.-]+/g, '-');
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  } finally {
    busy(false);
  }
}

async function main(): Promise<void> {
  const preset = $('preset') as HTMLSelectElement;
  for (const [name, p] of Object.entries(PRESETS)) if (p.architecture === undefined || p.architecture === 'perceiver-ar') preset.add(new Option(name, name, name === 'mirrored-32-small', name === 'mirrored-32-small'));
  session = await BrowserSession.open(urls.sessionWorker, { kernelsUrl: urls.kernels.href, workerUrl: urls.poolWorker.href });
  const i = session.info;
  $('engine').textContent = `engine: ${i.backend} (${i.simd}), ${i.threads} thread${i.threads === 1 ? '' : 's'}${i.notes.length ? ` — ${i.notes.join('; ')}` : ''}`;
  ($('file') as HTMLInputElement).onchange = (e) => { const f = (e.target as HTMLInputElement).files?.[0]; if (f) loadFile(f).catch(fail); };
  // A file dropped anywhere else must not replace the page (and a running training with it).
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
  const drop = $('drop');
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove('over'); const f = e.dataTransfer?.files[0]; if (f) loadFile(f).catch(fail); };
  busy(false);
  $('generate').onclick = () => { generateText().catch(fail); };
  $('train').onclick = () => { train().catch(fail); };
  $('download').onclick = () => { download().catch(fail); };
  document.body.dataset.ready = 'true';
}
main().catch(fail);
