// Charts: uPlot (vendored) for metric-vs-trial and intermediate curves; a canvas parallel-coordinates
// plot of hyperparameters against the metric (uPlot has no such kind).
import { state, better } from './store.js';
import { fmtNumber } from './util.js';

const uPlot = window.uPlot;
// x axes count trials and steps: integer ticks only
const INT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];
export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];

// uPlot sizes in pixels; follow the container's width.
function autoSize(plot, el, height) {
  const ro = new ResizeObserver(() => {
    const w = el.clientWidth;
    if (w > 0 && Math.abs(w - plot.width) > 1) plot.setSize({ width: w, height });
  });
  ro.observe(el);
  return () => ro.disconnect();
}

// Scatter points as small squares, filled as one path: 10,000 of them draw in a few ms, where
// uPlot's own round markers (stroked arcs) take far longer on a software-rendered canvas.
function drawSquares(u, sidx, i0, i1) {
  const xs = u.data[0], ys = u.data[sidx];
  const size = Math.max(3, Math.round((ys.length > 2000 ? 3 : 5) * (window.devicePixelRatio || 1)));
  const path = new Path2D();
  for (let i = i0; i <= i1; i++) {
    if (ys[i] == null) continue;
    const x = Math.round(u.valToPos(xs[i], 'x', true)), y = Math.round(u.valToPos(ys[i], 'y', true));
    path.rect(x - size / 2, y - size / 2, size, size);
  }
  const ctx = u.ctx;
  ctx.save();
  ctx.beginPath();
  ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
  ctx.clip();
  ctx.fillStyle = ys.length > 2000 ? '#2563eb99' : '#2563ebcc';
  ctx.fill(path);
  ctx.restore();
  return null;
}

// Final metric of every trial (points, x = trial sequence) with the best-so-far step line.
// onPick(trialId) is called when a point is clicked.
export function metricChart(el, { height = 240, onPick } = {}) {
  let ids = [];
  const opts = {
    width: Math.max(300, el.clientWidth), height,
    cursor: { points: { size: 8 }, focus: { prox: 16 }, drag: { x: true, y: false } },
    legend: { show: true },
    scales: { x: { time: false } },
    axes: [{ label: 'trial #', size: 40, incrs: INT_INCRS }, { label: 'metric', size: 60, values: (u, vals) => vals.map((v) => fmtNumber(v, 4)) }],
    series: [
      { label: 'trial #' },
      { label: 'final metric', stroke: '#2563eb', fill: '#2563eb', paths: drawSquares, points: { show: false }, value: (u, v) => fmtNumber(v) },
      { label: 'best so far', stroke: '#dc2626', width: 2, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false }, spanGaps: true, value: (u, v) => fmtNumber(v) },
    ],
  };
  const plot = new uPlot(opts, [[], [], []], el);
  const stop = autoSize(plot, el, height);
  if (onPick) {
    plot.over.addEventListener('click', () => {
      const i = plot.cursor.idx;
      if (i != null && ids[i]) onPick(ids[i]);
    });
    plot.over.style.cursor = 'pointer';
  }
  function setTrials(trials) {
    const done = trials.filter((t) => t.final != null).sort((a, b) => a.seq - b.seq);
    const xs = new Array(done.length), ys = new Array(done.length), bs = new Array(done.length);
    let b = null;
    for (let i = 0; i < done.length; i++) {
      const t = done[i];
      xs[i] = t.seq; ys[i] = t.final;
      if (b === null || better(t.final, b)) b = t.final;
      bs[i] = b;
    }
    ids = done.map((t) => t.id);
    plot.setData([xs, ys, bs]);
    el.dataset.points = String(done.length);
  }
  return { plot, setTrials, destroy() { stop(); plot.destroy(); } };
}

// Intermediate results of several trials: [{id, points: [[step, value], ...]}].
export function curvesChart(el, curves, { height = 260 } = {}) {
  const steps = new Set();
  for (const c of curves) for (const [s] of c.points) steps.add(s);
  const xs = [...steps].sort((a, b) => a - b);
  const pos = new Map(xs.map((s, i) => [s, i]));
  const data = [xs];
  for (const c of curves) {
    const ys = new Array(xs.length).fill(null);
    for (const [s, v] of c.points) ys[pos.get(s)] = v;
    data.push(ys);
  }
  const opts = {
    width: Math.max(300, el.clientWidth), height,
    scales: { x: { time: false } },
    axes: [{ label: 'intermediate result #', size: 40, incrs: INT_INCRS }, { label: 'value', size: 60, values: (u, vals) => vals.map((v) => fmtNumber(v, 4)) }],
    series: [{ label: 'step' }, ...curves.map((c, i) => ({
      label: c.label || c.id, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true,
      points: { show: xs.length < 60, size: 5 }, value: (u, v) => fmtNumber(v),
    }))],
  };
  const plot = new uPlot(opts, data, el);
  el.dataset.series = String(curves.length);
  el.dataset.points = String(curves.reduce((n, c) => n + c.points.length, 0));
  const stop = autoSize(plot, el, height);
  return { plot, destroy() { stop(); plot.destroy(); } };
}

// ---- parallel coordinates ----
// axes: [{name, kind: 'num'|'log'|'cat', min, max, cats}], rows: [{values: [...], metric}]
export function axesFor(trials, names, searchSpace) {
  const axes = [];
  for (const name of names) {
    const vals = [];
    for (const t of trials) if (t.params[name] !== undefined) vals.push(t.params[name]);
    if (!vals.length) continue;
    const spec = (searchSpace || {})[name] || {};
    const type = spec._type || '';
    const numeric = vals.every((v) => typeof v === 'number') && type !== 'choice';
    if (numeric) {
      const log = /log/.test(type) && vals.every((v) => v > 0);
      let min = Infinity, max = -Infinity;
      for (const v of vals) { if (v < min) min = v; if (v > max) max = v; }
      axes.push({ name, kind: log ? 'log' : 'num', min, max });
    } else {
      const cats = [];
      const seen = new Set();
      const order = Array.isArray(spec._value) ? spec._value.map((v) => (v && typeof v === 'object' ? v._name : v)) : [];
      for (const v of [...order, ...vals]) { const k = JSON.stringify(v); if (!seen.has(k)) { seen.add(k); cats.push(v); } }
      axes.push({ name, kind: 'cat', cats, index: new Map(cats.map((c, i) => [JSON.stringify(c), i])) });
    }
  }
  return axes;
}

function axisPos(axis, v) {  // 0..1, or null when missing
  if (v === undefined || v === null) return null;
  if (axis.kind === 'cat') {
    const i = axis.index.get(JSON.stringify(v));
    return i === undefined ? null : axis.cats.length === 1 ? 0.5 : i / (axis.cats.length - 1);
  }
  const f = axis.kind === 'log' ? Math.log : (x) => x;
  const lo = f(axis.min), hi = f(axis.max);
  return hi === lo ? 0.5 : (f(v) - lo) / (hi - lo);
}

// viridis-like ramp from poor (dark purple) to good (yellow)
function ramp(x) {
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const p = Math.max(0, Math.min(1, x)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(p)), f = p - i;
  const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export function parallelChart(el, { height = 340 } = {}) {
  const canvas = document.createElement('canvas');
  canvas.className = 'parcoords';
  el.append(canvas);
  let last = null;
  function draw(trials, names, searchSpace) {
    last = [trials, names, searchSpace];
    const rows = trials.filter((t) => t.final != null);
    const axes = axesFor(rows, names, searchSpace);
    axes.push({ name: 'metric', kind: 'num', metric: true, min: Math.min(...rows.map((t) => t.final)), max: Math.max(...rows.map((t) => t.final)) });
    const dpr = window.devicePixelRatio || 1;
    const W = Math.max(320, el.clientWidth), H = height;
    canvas.width = W * dpr; canvas.height = H * dpr;
    canvas.style.width = `${W}px`; canvas.style.height = `${H}px`;
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    el.dataset.lines = String(rows.length);
    el.dataset.axes = String(axes.length);
    if (!rows.length) {
      g.fillStyle = '#6b7280'; g.font = '13px system-ui, sans-serif';
      g.fillText('No trial has a final metric yet.', 16, 24);
      return;
    }
    const top = 34, bottom = H - 26, left = 50, right = W - 60;
    const xAt = (i) => (axes.length === 1 ? (left + right) / 2 : left + (i * (right - left)) / (axes.length - 1));
    const yAt = (p) => bottom - p * (bottom - top);
    const mAxis = axes[axes.length - 1];
    const goodness = (v) => {
      const p = axisPos(mAxis, v);
      return state.optimize === 'minimize' ? 1 - p : p;
    };
    // worst first so the best lines end on top
    const order = rows.slice().sort((a, b) => goodness(a.final) - goodness(b.final));
    g.lineWidth = rows.length > 2000 ? 0.6 : 1.2;
    g.globalAlpha = rows.length > 2000 ? 0.25 : rows.length > 300 ? 0.5 : 0.8;
    for (const t of order) {
      g.strokeStyle = ramp(goodness(t.final));
      g.beginPath();
      let pen = false;
      axes.forEach((a, i) => {
        const p = axisPos(a, a.metric ? t.final : t.params[a.name]);
        if (p === null) { pen = false; return; }
        if (pen) g.lineTo(xAt(i), yAt(p)); else { g.moveTo(xAt(i), yAt(p)); pen = true; }
      });
      g.stroke();
    }
    g.globalAlpha = 1;
    g.font = '12px system-ui, sans-serif';
    axes.forEach((a, i) => {
      const x = xAt(i);
      g.strokeStyle = '#374151'; g.lineWidth = 1;
      g.beginPath(); g.moveTo(x, top); g.lineTo(x, bottom); g.stroke();
      g.fillStyle = '#111827'; g.textAlign = 'center';
      g.font = 'bold 12px system-ui, sans-serif';
      g.fillText(a.name + (a.kind === 'log' ? ' (log)' : ''), x, 16);
      g.font = '11px system-ui, sans-serif';
      g.fillStyle = '#374151';
      const label = (txt, p) => {
        const w = g.measureText(txt).width + 6;
        g.fillStyle = 'rgba(255,255,255,0.85)'; g.fillRect(x + 4, yAt(p) - 8, w, 15);
        g.fillStyle = '#374151'; g.textAlign = 'left'; g.fillText(txt, x + 7, yAt(p) + 3);
      };
      if (a.kind === 'cat') {
        const step = Math.max(1, Math.ceil(a.cats.length / 12));
        a.cats.forEach((c, k) => { if (k % step === 0) label(String(c), axisPos(a, c)); });
      } else {
        label(fmtNumber(a.max, 3), 1);
        label(fmtNumber(a.min, 3), 0);
      }
    });
  }
  const ro = new ResizeObserver(() => { if (last && Math.abs(el.clientWidth - parseFloat(canvas.style.width)) > 1) draw(...last); });
  ro.observe(el);
  return { draw, destroy() { ro.disconnect(); canvas.remove(); } };
}
