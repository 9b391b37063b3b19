// A command's form built from what its data's modality declares (CommandForm): one field per
// option — numbers, choices, flags, text, files to read (with a drawing pad for images) and
// checkboxes for the files it can write. The page never lists a kind of data's options itself.
import type { CommandForm, RunFile } from 'perceiver-ar/browser';
import { el } from './dom.js';

type FormOption = CommandForm['options'][number];

/** Starting values the page puts in some fields, by option name, to keep a first run short (shown in the field; the modality's defaults apply to every field left empty). */
const SUGGESTED: Readonly<Record<string, string>> = { count: '4', seconds: '10', maxTargets: '4096', maxImages: '2', evalBatches: '4' };

export interface BuiltForm {
  readonly element: HTMLElement;
  /** The options and files as the run takes them (empty fields left out). */
  values(): Promise<{ options: Record<string, string | number | boolean>; files: Record<string, RunFile> }>;
  /** Gives `file` to the file fields that take its type (a drop on the page); returns how many took it. */
  offer(file: File): number;
  /** The file a field holds now (null when none). */
  file(key: string): Promise<RunFile | null>;
}

/** Whether a field that takes `accept` ('.mid,.midi'; any file when absent) takes a file named `name`. */
const takes = (accept: string | undefined, name: string): boolean =>
  accept === undefined || accept.split(',').some((ext) => name.toLowerCase().endsWith(ext.trim().toLowerCase()));

/** A black pad to draw an image on with a white brush (for image inputs): its PNG, or null while blank. */
function drawingPad(): { element: HTMLElement; png(): Promise<Blob | null> } {
  const canvas = el('canvas', { width: 196, height: 196, className: 'pad', title: 'draw here' }), g = canvas.getContext('2d')!;
  let drawn = false, down = false;
  const clear = (): void => { g.fillStyle = '#000'; g.fillRect(0, 0, canvas.width, canvas.height); drawn = false; };
  clear();
  const at = (e: PointerEvent): [number, number] => { const r = canvas.getBoundingClientRect(); return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
  canvas.onpointerdown = (e) => { down = true; canvas.setPointerCapture(e.pointerId); const [x, y] = at(e); g.beginPath(); g.moveTo(x, y); };
  canvas.onpointermove = (e) => {
    if (!down) return;
    const [x, y] = at(e);
    g.strokeStyle = '#fff'; g.lineWidth = 16; g.lineCap = 'round'; g.lineJoin = 'round';
    g.lineTo(x, y); g.stroke();
    drawn = true;
  };
  canvas.onpointerup = () => { down = false; };
  const element = el('span', { className: 'padBox' }, canvas, el('button', { type: 'button', textContent: 'clear', onclick: clear }));
  return { element, png: () => (drawn ? new Promise((resolve) => canvas.toBlob(resolve, 'image/png')) : Promise.resolve(null)) };
}

export function buildForm(form: CommandForm, o: { readonly heatmap: boolean }): BuiltForm {
  const box = el('div', { className: 'form' }), inputs = new Map<string, () => Promise<unknown>>();
  const fileFields = new Map<string, { input: HTMLInputElement; accept: string | undefined }>();
  const fileField = (key: string, accept: string | undefined): HTMLElement => {
    const input = el('input', { type: 'file', accept: accept ?? '', dataset: { option: key } });
    fileFields.set(key, { input, accept });
    // An image input can also be drawn.
    const pad = accept !== undefined && takes(accept, 'x.png') ? drawingPad() : null;
    inputs.set(key, async () => {
      const file = input.files?.[0];
      if (file) return { name: file.name, bytes: await file.arrayBuffer() };
      const drawn = await pad?.png();
      return drawn ? { name: 'drawing.png', bytes: await drawn.arrayBuffer() } : undefined;
    });
    return el('label', { className: 'file' }, `${key} `, input, ...(pad ? [' or draw: ', pad.element] : []));
  };
  for (const option of form.options as readonly FormOption[]) {
    const { name } = option;
    if (option.output) {
      // The command's main output keeps its default name; others (a heatmap) are asked for by a checkbox.
      if (name === 'out') continue;
      const check = el('input', { type: 'checkbox', checked: o.heatmap, dataset: { option: name } });
      inputs.set(name, async () => (check.checked ? `${name}.png` : undefined));
      box.append(el('label', {}, check, ` write the ${name}`));
    } else if (option.type === 'path') {
      box.append(fileField(name, option.accept));
    } else if (option.type === 'flag' || option.choices) {
      const select = el('select', { dataset: { option: name } }, el('option', { value: '', textContent: `${name}: default` }));
      for (const c of option.type === 'flag' ? ['true', 'false'] : option.choices!) select.append(el('option', { value: c, textContent: `${name}: ${c}` }));
      inputs.set(name, async () => (select.value === '' ? undefined : option.type === 'flag' ? select.value === 'true' : select.value));
      box.append(select);
    } else {
      const text = name === 'prompt' && option.type === 'string';
      const input = text ? el('textarea', { placeholder: `${name} (text)`, dataset: { option: name } })
        : el('input', { type: option.type === 'string' ? 'text' : 'number', value: SUGGESTED[name] ?? '', placeholder: option.allowed ?? 'default', title: option.allowed ?? '',
          dataset: { option: name }, ...(option.type === 'number' ? { step: 'any' } : {}) });
      inputs.set(name, async () => (input.value.trim() === '' ? undefined : option.type === 'string' ? input.value : Number(input.value)));
      box.append(text ? input : el('label', {}, `${name} `, input));
    }
  }
  for (const f of form.files) box.append(fileField(f.name, f.accept));
  return {
    element: box,
    offer: (file) => {
      let taken = 0;
      for (const { input, accept } of fileFields.values()) {
        // A field for any file (the data to score) takes text only; typed fields take their types.
        if (!(accept === undefined ? /\.(txt|md)$/i.test(file.name) : takes(accept, file.name))) continue;
        const list = new DataTransfer();
        list.items.add(file);
        input.files = list.files;
        taken++;
      }
      return taken;
    },
    file: async (key) => ((await inputs.get(key)?.()) as RunFile | undefined) ?? null,
    values: async () => {
      const options: Record<string, string | number | boolean> = {}, files: Record<string, RunFile> = {};
      for (const [name, read] of inputs) {
        const v = await read();
        if (v === undefined) continue;
        if (typeof v === 'object') files[name] = v as RunFile;
        else options[name] = v as string | number | boolean;
      }
      return { options, files };
    },
  };
}
