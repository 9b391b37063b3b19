// An SVG chart of the context sweep: step time and peak memory against context, log–log, one
// line per model (points that ran); no dependencies, so docs can embed the file as is.
import type { PointResult } from './context-point.js';

const COLORS: Record<string, string> = { 'perceiver-ar': '#1f77b4', transformer: '#d62728', 'transformer-xl': '#2ca02c' };
const W = 420, H = 300, PAD = { left: 60, right: 16, top: 30, bottom: 44 };

interface Panel { readonly title: string; readonly unit: string; readonly value: (r: PointResult) => number | null }

function ticks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

function label(x: number): string {
  if (x >= 1_048_576) return `${x / 1_048_576}M`;
  if (x >= 1024) return `${x / 1024}k`;
  return x >= 1 ? String(x) : x.toPrecision(1);
}

function panel(p: Panel, results: readonly PointResult[], x0: number): string {
  const ok = results.filter((r) => r.ok && p.value(r) !== null && p.value(r)! > 0);
  if (ok.length === 0) return '';
  const xs = ok.map((r) => r.context), ys = ok.map((r) => p.value(r)!);
  const [xlo, xhi] = [Math.min(...xs), Math.max(...xs)];
  const [ylo, yhi] = [10 ** Math.floor(Math.log10(Math.min(...ys))), 10 ** Math.ceil(Math.log10(Math.max(...ys)))];
  const px = (x: number): number => x0 + PAD.left + ((Math.log2(x) - Math.log2(xlo)) / Math.max(1, Math.log2(xhi) - Math.log2(xlo))) * (W - PAD.left - PAD.right);
  const py = (y: number): number => PAD.top + (1 - (Math.log10(y) - Math.log10(ylo)) / Math.max(1e-9, Math.log10(yhi) - Math.log10(ylo))) * (H - PAD.top - PAD.bottom);
  const parts: string[] = [`<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-weight="bold">${p.title}</text>`];
  for (let x = xlo; x <= xhi; x *= 4) {
    parts.push(`<line x1="${px(x)}" y1="${PAD.top}" x2="${px(x)}" y2="${H - PAD.bottom}" stroke="#eee"/>`,
      `<text x="${px(x)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${label(x)}</text>`);
  }
  for (const y of ticks(ylo, yhi)) {
    if (y < ylo || y > yhi) continue;
    parts.push(`<line x1="${x0 + PAD.left}" y1="${py(y)}" x2="${x0 + W - PAD.right}" y2="${py(y)}" stroke="#eee"/>`,
      `<text x="${x0 + PAD.left - 6}" y="${py(y) + 4}" text-anchor="end">${label(y)}</text>`);
  }
  parts.push(`<text x="${x0 + W / 2}" y="${H - 8}" text-anchor="middle">context (tokens)</text>`,
    `<text x="${x0 + 14}" y="${H / 2}" text-anchor="middle" transform="rotate(-90 ${x0 + 14} ${H / 2})">${p.unit}</text>`);
  for (const model of [...new Set(ok.map((r) => r.model))]) {
    const pts = ok.filter((r) => r.model === model).map((r) => `${px(r.context).toFixed(1)},${py(p.value(r)!).toFixed(1)}`);
    const color = COLORS[model] ?? '#555';
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const pt of pts) { const [cx, cy] = pt.split(','); parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`); }
  }
  return parts.join('\n');
}

export function contextChartSvg(results: readonly PointResult[]): string {
  const models = [...new Set(results.map((r) => r.model))];
  const legend = models.map((m, i) => `<rect x="${PAD.left + 20 + i * 150}" y="${H + 6}" width="12" height="12" fill="${COLORS[m] ?? '#555'}"/>` +
    `<text x="${PAD.left + 38 + i * 150}" y="${H + 17}">${m}</text>`).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 28}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
${panel({ title: 'training step time (batch 1)', unit: 'seconds per step', value: (r) => (r.stepMs === null ? null : r.stepMs / 1000) }, results, 0)}
${panel({ title: 'peak memory (process RSS)', unit: 'GiB', value: (r) => r.peakRssMiB / 1024 }, results, W)}
${legend}
</svg>
`;
}
