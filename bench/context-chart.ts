// Small SVG line charts for the docs (no dependencies, so docs embed the files as they are):
// side-by-side log–log panels, one line per series.
import type { PointResult } from './context-point.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const W = 420, H = 300, PAD = { left: 60, right: 16, top: 30, bottom: 44 };

export interface Series { readonly name: string; readonly points: readonly (readonly [number, number])[] }
export interface Panel { readonly title: string; readonly xLabel: string; readonly yLabel: string; readonly series: readonly Series[]; readonly logY?: boolean }

function label(x: number): string {
  if (x >= 1_048_576 && x % 1_048_576 === 0) return `${x / 1_048_576}M`;
  if (x >= 1024 && x % 1024 === 0) return `${x / 1024}k`;
  return Math.abs(x) >= 1 || x === 0 ? String(Number(x.toPrecision(3))) : x.toPrecision(1);
}

function panelSvg(p: Panel, x0: number, color: (name: string) => string): string {
  const pts = p.series.flatMap((s) => s.points).filter(([x, y]) => x > 0 && Number.isFinite(y) && (!p.logY || y > 0));
  if (pts.length === 0) return '';
  const xs = pts.map(([x]) => x), ys = pts.map(([, y]) => y);
  const [xlo, xhi] = [Math.min(...xs), Math.max(...xs)];
  const logY = p.logY ?? true;
  const [ylo, yhi] = logY
    ? [10 ** Math.floor(Math.log10(Math.min(...ys))), 10 ** Math.ceil(Math.log10(Math.max(...ys)))]
    : [Math.min(...ys) - 0.05 * (Math.max(...ys) - Math.min(...ys) || 1), Math.max(...ys) + 0.05 * (Math.max(...ys) - Math.min(...ys) || 1)];
  const fy = (y: number): number => (logY ? Math.log10(y) : y);
  const px = (x: number): number => x0 + PAD.left + ((Math.log2(x) - Math.log2(xlo)) / Math.max(1, Math.log2(xhi) - Math.log2(xlo))) * (W - PAD.left - PAD.right);
  const py = (y: number): number => PAD.top + (1 - (fy(y) - fy(ylo)) / Math.max(1e-9, fy(yhi) - fy(ylo))) * (H - PAD.top - PAD.bottom);
  const out: string[] = [`<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-weight="bold">${p.title}</text>`];
  const xStep = Math.max(2, 2 ** Math.ceil(Math.log2(Math.log2(xhi / xlo) / 6 + 1)));
  for (let x = xlo; x <= xhi * 1.0001; x *= xStep) {
    out.push(`<line x1="${px(x)}" y1="${PAD.top}" x2="${px(x)}" y2="${H - PAD.bottom}" stroke="#eee"/>`,
      `<text x="${px(x)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${label(x)}</text>`);
  }
  const yTicks = logY
    ? Array.from({ length: Math.round(Math.log10(yhi / ylo)) + 1 }, (_, i) => ylo * 10 ** i)
    : Array.from({ length: 5 }, (_, i) => ylo + ((yhi - ylo) * i) / 4);
  for (const y of yTicks) {
    out.push(`<line x1="${x0 + PAD.left}" y1="${py(y)}" x2="${x0 + W - PAD.right}" y2="${py(y)}" stroke="#eee"/>`,
      `<text x="${x0 + PAD.left - 6}" y="${py(y) + 4}" text-anchor="end">${label(y)}</text>`);
  }
  out.push(`<text x="${x0 + W / 2}" y="${H - 8}" text-anchor="middle">${p.xLabel}</text>`,
    `<text x="${x0 + 14}" y="${H / 2}" text-anchor="middle" transform="rotate(-90 ${x0 + 14} ${H / 2})">${p.yLabel}</text>`);
  for (const s of p.series) {
    const coords = s.points.filter(([x, y]) => x > 0 && Number.isFinite(y) && (!logY || y > 0)).map(([x, y]) => [px(x).toFixed(1), py(y).toFixed(1)]);
    if (coords.length === 0) continue;
    out.push(`<polyline fill="none" stroke="${color(s.name)}" stroke-width="2" points="${coords.map((c) => c.join(',')).join(' ')}"/>`);
    for (const [cx, cy] of coords) out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color(s.name)}"/>`);
  }
  return out.join('\n');
}

export function lineChartsSvg(panels: readonly Panel[]): string {
  const names = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))];
  const color = (name: string): string => COLORS[names.indexOf(name) % COLORS.length]!;
  const legend = names.length > 1 ? names.map((m, i) => `<rect x="${PAD.left + 20 + i * 160}" y="${H + 6}" width="12" height="12" fill="${color(m)}"/>` +
    `<text x="${PAD.left + 38 + i * 160}" y="${H + 17}">${m}</text>`).join('\n') : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${panels.length * W}" height="${H + 28}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
${panels.map((p, i) => panelSvg(p, i * W, color)).join('\n')}
${legend}
</svg>
`;
}

/** The context sweep: step time and peak memory against context, one line per model (points that ran). */
export function contextChartSvg(results: readonly PointResult[]): string {
  const models = [...new Set(results.map((r) => r.model))];
  const series = (value: (r: PointResult) => number | null): Series[] => models.map((m) => ({
    name: m, points: results.filter((r) => r.model === m && r.stepMs !== null).map((r) => [r.context, value(r) ?? NaN] as const),
  }));
  return lineChartsSvg([
    { title: 'training step time (batch 1)', xLabel: 'context (tokens)', yLabel: 'seconds per step', series: series((r) => r.stepMs! / 1000) },
    { title: 'peak memory (process RSS)', xLabel: 'context (tokens)', yLabel: 'GiB', series: series((r) => r.peakRssMiB / 1024) },
  ]);
}
