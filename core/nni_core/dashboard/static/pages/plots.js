// Plots: final metric with best-so-far, intermediate curves of selected trials, parallel
// coordinates of hyperparameters against the metric, and fANOVA hyperparameter importance.
import { state, intermediate, better, isFinished } from '../store.js';
import { h, fmtNumber } from '../util.js';
import { metricChart, curvesChart, parallelChart } from '../charts.js';

const MAX_CURVES = 10;
const N_TREES = 32;

let worker = null;
let jobId = 0;
function runImportance(payload) {
  if (!worker) worker = new Worker(new URL('../importance-worker.js', import.meta.url), { type: 'module' });
  const id = ++jobId;
  return new Promise((resolve, reject) => {
    const onMsg = (ev) => {
      if (ev.data.id !== id) return;
      worker.removeEventListener('message', onMsg);
      if (ev.data.error) reject(new Error(ev.data.error)); else resolve(ev.data.result);
    };
    worker.addEventListener('message', onMsg);
    worker.postMessage({ id, ...payload });
  });
}

export function mount(root) {
  const metricBox = h('div.chart#plot-metric');
  const curvesBox = h('div.chart#plot-curves');
  const curvesNote = h('p.muted#curves-note');
  const parBox = h('div.chart#plot-parallel');
  const parFilter = h('select#parallel-filter', { 'aria-label': 'Trials shown' },
    h('option', { value: '1' }, 'all trials'), h('option', { value: '0.25' }, 'best 25%'), h('option', { value: '0.1' }, 'best 10%'));
  const impBox = h('div#importance');
  const impNote = h('p.muted#importance-note');
  root.append(
    h('div.grid2', null,
      h('section.card', null, h('h2', null, 'Final metric per trial'), metricBox),
      h('section.card', null, h('h2', null, 'Intermediate results'), curvesNote, curvesBox)),
    h('section.card', null, h('div.card-head', null, h('h2', null, 'Parallel coordinates'), h('span.spacer'), parFilter), parBox),
    h('section.card', null, h('h2', null, 'Hyperparameter importance (fANOVA)'), impBox, impNote),
  );
  const metric = metricChart(metricBox, { height: 260, onPick: (id) => { location.hash = `#/trials/${encodeURIComponent(id)}`; } });
  const par = parallelChart(parBox, { height: 340 });
  let curves = null;
  let curvesKey = '';
  let impKey = '';
  let impRunning = false;
  let impTimer = null;
  let impDoneAt = 0;
  let impCost = 0;

  function drawParallel() {
    const frac = Number(parFilter.value);
    let trials = state.trials.filter((t) => t.final != null);
    if (frac < 1) {
      trials.sort((a, b) => (better(a.final, b.final) ? -1 : better(b.final, a.final) ? 1 : 0));
      trials = trials.slice(0, Math.max(1, Math.ceil(trials.length * frac)));
    }
    par.draw(trials, state.paramNames, state.profile && state.profile.params && state.profile.params.searchSpace);
  }
  parFilter.addEventListener('change', drawParallel);

  async function drawCurves() {
    let ids = [...state.selected].filter((id) => state.byId.has(id));
    let why = `${ids.length} selected trial(s)`;
    if (!ids.length) {
      const ranked = state.trials.filter((t) => t.final != null)
        .sort((a, b) => (better(a.final, b.final) ? -1 : better(b.final, a.final) ? 1 : 0));
      const pool = ranked.length ? ranked : state.trials.filter((t) => t.status === 'RUNNING');
      ids = pool.slice(0, 5).map((t) => t.id);
      why = `the ${ids.length} best trial(s); select trials in the Trials table to compare others`;
    }
    ids = ids.slice(0, MAX_CURVES);
    // running trials report new intermediate results without changing status: refetch every 3 s
    const live = ids.some((id) => !isFinished(state.byId.get(id).status));
    const key = ids.map((id) => state.byId.get(id)._key).join(',') + (live ? `@${Math.floor(Date.now() / 3000)}` : '');
    if (key === curvesKey) return;
    curvesKey = key;
    curvesNote.textContent = `Showing ${why}.`;
    const data = await Promise.all(ids.map(async (id) => ({ id, label: `${id} (#${state.byId.get(id).seq})`, points: await intermediate(id).catch(() => []) })));
    if (curvesKey !== key) return;
    if (curves) { curves.destroy(); curves = null; }
    curvesBox.replaceChildren();
    const withPoints = data.filter((c) => c.points.length);
    if (!withPoints.length) { curvesBox.append(h('p.muted', null, 'No intermediate results yet.')); curvesBox.dataset.series = '0'; return; }
    curves = curvesChart(curvesBox, withPoints, { height: 260 });
  }

  async function drawImportance() {
    const space = (state.profile && state.profile.params && state.profile.params.searchSpace) || {};
    const { encode } = await import('../importance.js'); // only this card needs it
    const enc = encode(state.trials, state.paramNames, space);
    const key = `${enc.y.length}:${enc.names.join(',')}`;
    if (key === impKey) return;
    if (enc.y.length < 4 || !enc.names.length) {
      impKey = key;
      impBox.replaceChildren(h('p.muted', null, 'Needs at least 4 trials with a final metric and a hyperparameter that varies.'));
      return;
    }
    // one computation at a time; while trials keep finishing, rest 4× its last cost in between
    const wait = impRunning ? 1000 : impDoneAt + 4 * impCost - Date.now();
    if (wait > 0) {
      if (!impTimer) impTimer = setTimeout(() => { impTimer = null; drawImportance(); }, wait);
      return;
    }
    impRunning = true;
    impNote.textContent = `Computing on ${enc.y.length} trials…`;
    const t0 = performance.now();
    try {
      const r = await runImportance({ X: enc.X, y: enc.y, domain: enc.domain, options: { nTrees: N_TREES } });
      impKey = key;
      const order = enc.names.map((n, i) => [n, r.importance[i], enc.scales[i]]).sort((a, b) => b[1] - a[1]);
      impBox.replaceChildren(...order.map(([n, v, scale]) => h('div.bar-row', { dataset: { param: n, importance: v.toFixed(4) } },
        h('span.bar-label', null, n, scale === 'log' ? h('small', null, ' log') : scale === 'choice' ? h('small', null, ' choice') : null),
        h('span.bar', null, h('span', { style: { width: `${(100 * v).toFixed(1)}%` } })),
        h('span.bar-value', null, `${(100 * v).toFixed(1)}%`))));
      impNote.textContent = `Functional ANOVA over a ${r.trees}-tree random forest fitted to ${enc.y.length} trials `
        + `(${Math.round(performance.now() - t0)} ms). Single hyperparameters explain ${(100 * r.mainEffects).toFixed(0)}% `
        + 'of the metric\'s variance over the search space; the rest comes from interactions.';
    } catch (e) {
      impNote.textContent = `Importance failed: ${e.message}`;
    } finally {
      impRunning = false;
      impDoneAt = Date.now();
      impCost = performance.now() - t0;
    }
  }

  let lastVersion = -1;
  function update(changes) {
    if (state.trialsVersion === lastVersion && !changes.params) {
      if (changes.tick) drawCurves(); // no-op unless a plotted trial is still running
      return;
    }
    lastVersion = state.trialsVersion;
    metric.setTrials(state.trials);
    drawParallel();
    drawCurves();
    drawImportance();
  }
  return { update, unmount() { clearTimeout(impTimer); impTimer = null; metric.destroy(); par.destroy(); if (curves) curves.destroy(); } };
}
