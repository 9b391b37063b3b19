// Elements built in one expression: el('button', { textContent: 'Run', dataset: { starts: 'model' } }, child…).
type Props<K extends keyof HTMLElementTagNameMap> = Partial<Omit<HTMLElementTagNameMap[K], 'dataset'>> & { readonly dataset?: Readonly<Record<string, string>> };

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props<K> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const { dataset, ...rest } = props;
  const e = Object.assign(document.createElement(tag), rest);
  // dataset is read-only: its entries are set one by one.
  for (const [k, v] of Object.entries(dataset ?? {})) e.dataset[k] = v;
  e.append(...children);
  return e;
}
