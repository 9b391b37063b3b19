// The training chart: the loss of every step so far (a resumed run continues the curve), on a
// canvas, with its range and the last step.
export function drawChart(canvas: HTMLCanvasElement, losses: readonly number[], step = losses.length): void {
  const g = canvas.getContext('2d')!, W = canvas.width, H = canvas.height, pad = 30;
  g.clearRect(0, 0, W, H);
  g.fillStyle = '#fff'; g.fillRect(0, 0, W, H);
  if (losses.length < 2) return;
  let top = -Infinity, bottom = Infinity;
  for (const l of losses.slice(0, 50)) top = Math.max(top, l);
  for (const l of losses.slice(-1000)) bottom = Math.min(bottom, l);
  g.strokeStyle = '#999'; g.beginPath(); g.moveTo(pad, 5); g.lineTo(pad, H - pad); g.lineTo(W - 5, H - pad); g.stroke();
  g.fillStyle = '#444'; g.font = '11px sans-serif';
  g.fillText(`${top.toFixed(2)} nats`, 2, 12); g.fillText(bottom.toFixed(2), 2, H - pad); g.fillText(`step ${step}`, W - 60, H - 10);
  g.strokeStyle = '#2a6fd6'; g.lineWidth = 1.5; g.beginPath();
  losses.forEach((l, i) => {
    const x = pad + ((W - pad - 5) * i) / (losses.length - 1), y = 5 + ((H - pad - 5) * (top - l)) / Math.max(1e-9, top - bottom);
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.stroke();
}
