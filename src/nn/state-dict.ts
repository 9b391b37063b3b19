// A model's parameters as a state dict: named tensors (name, shape, dtype, values), with AdamW's
// moments under `optimizer.m.NAME` / `optimizer.v.NAME` when asked. Loading checks every tensor
// against the parameter it fills (present, same shape, F32, finite) and names the one that is not,
// so every reader of weights (our checkpoints; imported files later) refuses bad ones the same way.
import type { Tensor } from '../io/safetensors.js';
import type { ParamStore } from './params.js';

/** A tensor that does not fit; the message names it (the caller adds the file). */
export class StateDictError extends Error {}

export const OPTIMIZER_PREFIXES = ['optimizer.m.', 'optimizer.v.'] as const;

export function stateDict(params: ParamStore, optimizer: boolean): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  for (const p of params.list) tensors.set(p.spec.name, { dtype: 'F32', shape: p.spec.shape, data: p.value });
  if (optimizer) {
    for (const p of params.list) {
      tensors.set(`optimizer.m.${p.spec.name}`, { dtype: 'F32', shape: p.spec.shape, data: params.m.subarray(p.offset, p.offset + p.size) });
      tensors.set(`optimizer.v.${p.spec.name}`, { dtype: 'F32', shape: p.spec.shape, data: params.v.subarray(p.offset, p.offset + p.size) });
    }
  }
  return tensors;
}

/** Refuses NaN and ±Inf (and negative values where none can be, as in AdamW's second moment), naming the tensor. */
function checkFinite(data: Float32Array, name: string, nonNegative: boolean): void {
  let bad = 0, first = -1;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (!Number.isFinite(x) || (nonNegative && x < 0)) { bad++; if (first < 0) first = i; }
  }
  if (bad) {
    throw new StateDictError(`tensor '${name}' holds ${bad} ${nonNegative ? 'non-finite or negative' : 'non-finite'} ` +
      `value${bad === 1 ? '' : 's'} (the first, ${data[first]}, at index ${first}); the weights are damaged — use an earlier checkpoint`);
  }
}

/**
 * Copies tensors into a model's parameters (and AdamW moments when `optimizer`); `needs` names the
 * receiving side in messages ("the config", "the new model").
 */
export function loadStateDict(params: ParamStore, tensors: ReadonlyMap<string, Tensor>, opts: { readonly optimizer: boolean; readonly needs: string }): void {
  for (const p of params.list) {
    const load = (name: string, into: Float32Array, nonNegative = false): void => {
      const t = tensors.get(name);
      if (!t) throw new StateDictError(`tensor '${name}' is missing`);
      if (t.dtype !== 'F32' || t.shape.join('x') !== p.spec.shape.join('x')) {
        throw new StateDictError(`tensor '${name}' has shape [${t.shape}] ${t.dtype}, ${opts.needs} needs [${p.spec.shape}] F32`);
      }
      checkFinite(t.data as Float32Array, name, nonNegative);
      into.set(t.data as Float32Array);
    };
    load(p.spec.name, p.value);
    if (opts.optimizer) {
      load(`optimizer.m.${p.spec.name}`, params.m.subarray(p.offset, p.offset + p.size));
      load(`optimizer.v.${p.spec.name}`, params.v.subarray(p.offset, p.offset + p.size), true);
    }
  }
  // A store that decodes from bf16 copies keeps them in step with what was loaded.
  params.syncHalves();
}

/** Names of tensors that no parameter takes (a model built from an edited config would silently drop them). */
export function unusedTensors(params: ParamStore, names: Iterable<string>): string[] {
  return [...names].filter((k) => !params.has(OPTIMIZER_PREFIXES.reduce((n, prefix) => (n.startsWith(prefix) ? n.slice(prefix.length) : n), k)));
}
