// Trials: final-metric chart, a sortable/filterable virtualised table, and a detail drawer with the
// trial's intermediate results, its output tails and a kill button.
import { state, readOnly, duration, intermediate, trialFile, killTrial, isFinished, pollNow } from '../store.js';
import { h, fmtNumber, fmtDuration, fmtTime, statusBadge, toast } from '../util.js';
import { virtualTable, esc } from '../table.js';
import { metricChart, curvesChart } from '../charts.js';

const TAIL_LINES = 300;

// "lr<0.01 units=32 metric>0.9 fail" -> predicate. Bare words match id, status and values.
export function parseFilter(text) {
  const tests = [];
  for (const term of text.trim().split(/\s+/).filter(Boolean)) {
    const m = /^([\w/.-]+)(>=|<=|!=|=|>|<)(.+)$/.exec(term);
    if (!m) {
      const w = term.toLowerCase();
      tests.push((t) => t.id.toLowerCase().includes(w) || t.status.toLowerCase().includes(w) ||
        Object.values(t.params).some((v) => String(v).toLowerCase().includes(w)));
      continue;
    }
    const [, key, op, raw] = m;
    const num = Number(raw);
    const get = (t) => (key === 'metric' ? t.final : key === 'id' ? t.id : key === 'status' ? t.status
      : key === '#' || key === 'seq' ? t.seq : key === 'duration' ? duration(t) : t.params[key]);
    tests.push((t) => {
      const v = get(t);
      if (v === undefined || v === null) return false;
      const a = typeof v === 'number' && !Number.isNaN(num) ? v : String(v).toLowerCase();
      const b = typeof v === 'number' && !Number.isNaN(num) ? num : raw.toLowerCase();
      switch (op) {
        case '=': return a === b; case '!=': return a !== b;
        case '>': return a > b; case '<': return a < b;
        case '>=': return a >= b; default: return a <= b;
      }
    });
  }
  return (t) => tests.every((f) => f(t));
}

function compare(get, dir) {
  return (a, b) => {
    const x = get(a), y = get(b);
    const xn = x === null || x === undefined, yn = y === null || y === undefined;
    if (xn || yn) return xn && yn ? a.seq - b.seq : xn ? 1 : -1; // missing values last either way
    if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir || a.seq - b.seq;
    return String(x).localeCompare(String(y), undefined, { numeric: true }) * dir || a.seq - b.seq;
  };
}

export function mount(root) {
  const chartBox = h('div.chart#metric-chart');
  const filter = h('input#filter', { type: 'search', placeholder: 'Filter: text, or lr<0.01 units=32 metric>0.9', 'aria-label': 'Filter trials' });
  const statusSel = h('select#status-filter', { 'aria-label': 'Status' }, h('option', { value: '' }, 'All statuses'));
  const count = h('span.muted#trial-count');
  const compareLink = h('a.button#compare', { href: '#/plots' }, 'Plot selected');
  const clearSel = h('button#clear-selection', { type: 'button' }, 'Clear selection');
  const tableBox = h('div#trial-table');
  const drawer = h('aside.drawer#trial-detail', { hidden: true });
  root.append(
    h('section.card', null, h('h2', null, 'Final metric per trial'), chartBox),
    h('section.card.table-card', null,
      h('div.toolbar', null, filter, statusSel, count, h('span.spacer'), compareLink, clearSel),
      tableBox),
    drawer,
  );

  const chart = metricChart(chartBox, { height: 220, onPick: (id) => { location.hash = `#/trials/${encodeURIComponent(id)}`; } });
  let sortState = { key: 'seq', dir: 1 };
  let openId = null;

  function columns() {
    const cols = [
      { key: 'sel', label: '', width: 36, sortable: false, cls: 'sel-cell', get: (t) => state.selected.has(t.id),
        fmt: (v, t) => `<input type="checkbox" class="sel" aria-label="select ${esc(t.id)}"${v ? ' checked' : ''}>` },
      { key: 'seq', label: '#', width: 64, cls: 'num', get: (t) => t.seq },
      { key: 'id', label: 'Trial', width: 90, cls: 'mono', get: (t) => t.id },
      { key: 'status', label: 'Status', width: 130, get: (t) => t.status,
        fmt: (v) => `<span class="badge st-${esc(String(v).toLowerCase())}">${esc(v)}</span>` },
    ];
    for (const name of state.paramNames) {
      cols.push({ key: `p:${name}`, label: name, cls: 'num', get: (t) => t.params[name], fmt: (v) => esc(fmtNumber(v)) });
    }
    cols.push(
      { key: 'final', label: `Metric (${state.optimize === 'minimize' ? 'min' : 'max'})`, width: 150, cls: 'num strong',
        firstDir: state.optimize === 'minimize' ? 1 : -1, get: (t) => t.final, fmt: (v) => esc(fmtNumber(v)) },
      { key: 'duration', label: 'Duration', width: 100, cls: 'num', get: (t) => duration(t), fmt: (v) => esc(fmtDuration(v)) },
      { key: 'start', label: 'Started', width: 160, cls: 'num', get: (t) => t.start, fmt: (v) => esc(fmtTime(v)) },
    );
    return cols;
  }

  let cols = columns();
  const table = virtualTable(tableBox, {
    columns: cols,
    rowClass: (t) => (t.id === openId ? 'open' : '') + (state.best && t.id === state.best.id ? ' best' : ''),
    onSort: (s) => { sortState = s; refreshRows(); },
    onRowClick: (t, ev) => {
      if (ev.target.classList.contains('sel')) {
        if (ev.target.checked) state.selected.add(t.id); else state.selected.delete(t.id);
        updateSelection();
        return;
      }
      location.hash = `#/trials/${encodeURIComponent(t.id)}`;
    },
  });
  table.setSort(sortState);

  function refreshRows() {
    const pred = parseFilter(filter.value);
    const st = statusSel.value;
    let rows = state.trials.filter((t) => (!st || t.status === st) && pred(t));
    const col = cols.find((c) => c.key === sortState.key) || cols[1];
    rows.sort(compare(col.get, sortState.dir));
    table.setRows(rows);
    count.textContent = `${rows.length} of ${state.trials.length} trials`;
  }
  function updateSelection() {
    compareLink.textContent = `Plot selected (${state.selected.size})`;
    clearSel.disabled = state.selected.size === 0;
  }
  filter.addEventListener('input', refreshRows);
  statusSel.addEventListener('change', refreshRows);
  clearSel.addEventListener('click', () => { state.selected.clear(); updateSelection(); table.refresh(); });
  updateSelection();

  // ---- detail drawer ----
  let drawerCurve = null;
  let logName = 'trial.log'; // NNI's SDK sends print() there; stdout/stderr hold the rest
  let drawerKey = '';
  let lastLog = { key: '', text: '' };
  let lastDrawer = 0;
  async function renderDrawer(force) {
    const t = openId && state.byId.get(openId);
    if (!openId) { drawer.hidden = true; return; }
    drawer.hidden = false;
    if (!t) { drawer.replaceChildren(h('p.muted', null, `Trial ${openId} is not (yet) in this experiment.`)); return; }
    const key = t._key + (readOnly() ? 'ro' : '');
    if (!force && key === drawerKey && isFinished(t.status)) return;
    const first = drawerKey.split('|')[0] !== t.id;
    drawerKey = key;
    const killBtn = h('button#kill.danger', { type: 'button', disabled: readOnly() || isFinished(t.status) }, 'Kill trial');
    killBtn.addEventListener('click', async () => {
      if (!confirm(`Kill trial ${t.id}?`)) return;
      killBtn.disabled = true;
      try { await killTrial(t.id); toast(`Trial ${t.id} cancelled`); pollNow(); }
      catch (e) { toast(`Kill ${t.id}: ${e.message}`, 'error'); killBtn.disabled = false; }
    });
    const curveBox = h('div.chart#trial-curve', { style: { minHeight: '200px' } });
    const logKey = `${t.id}/${logName}`;
    // a live trial's drawer is redrawn every few seconds: show the last text until the new one is in
    const logBox = h('pre.log#trial-log', null, lastLog.key === logKey ? lastLog.text : 'Loading…');
    const tabs = h('div.tabs-small', { role: 'tablist' }, ['trial.log', 'stdout', 'stderr'].map((n) =>
      h('button', { type: 'button', role: 'tab', 'aria-selected': String(n === logName), dataset: { log: n },
        onclick: () => { logName = n; renderDrawer(true); } }, n)));
    const scroll = first ? 0 : drawer.scrollTop;
    drawer.replaceChildren(
      h('div.drawer-head', null,
        h('h2', null, `Trial ${t.id}`), statusBadge(t.status), h('span.spacer'), killBtn,
        h('button.close', { type: 'button', 'aria-label': 'Close', onclick: () => { location.hash = '#/trials'; } }, '×')),
      h('table.kv', null, h('tbody', null,
        [['Sequence', `#${t.seq}`], ['Final metric', t.final == null ? '–' : fmtNumber(t.final)],
          ['Started', fmtTime(t.start)], ['Ended', fmtTime(t.end)], ['Duration', fmtDuration(duration(t))],
          ...Object.entries(t.params).map(([k, v]) => [k, fmtNumber(v)])]
          .map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v))))),
      h('h3', null, 'Intermediate results'), curveBox,
      h('h3', null, 'Output (tail)'), tabs, logBox,
    );
    drawer.scrollTop = scroll;
    if (drawerCurve) { drawerCurve.destroy(); drawerCurve = null; }
    try {
      const points = await intermediate(t.id);
      if (openId !== t.id) return;
      if (points.length) drawerCurve = curvesChart(curveBox, [{ id: t.id, points }], { height: 200 });
      else curveBox.replaceChildren(h('p.muted', null, 'No intermediate results reported.'));
    } catch (e) { curveBox.replaceChildren(h('p.muted', null, `Intermediate results: ${e.message}`)); }
    if (t.start == null) { logBox.textContent = '(the trial has not started yet)'; return; }
    try {
      const text = await trialFile(t.id, logName);
      const lines = text.split('\n');
      logBox.textContent = lines.length > TAIL_LINES ? `… (${lines.length - TAIL_LINES} earlier lines)\n${lines.slice(-TAIL_LINES).join('\n')}` : text;
      lastLog = { key: logKey, text: logBox.textContent };
      logBox.scrollTop = logBox.scrollHeight;
    } catch (e) { logBox.textContent = `(${logName} not available: ${e.message})`; }
  }

  let lastVersion = -1;
  let lastTick = 0;
  function update(changes) {
    if (changes.params || changes.profile) { cols = columns(); table.setColumns(cols); }
    if (changes.trials) {
      const statuses = [...new Set(state.trials.map((t) => t.status))].sort();
      const have = [...statusSel.options].slice(1).map((o) => o.value);
      if (statuses.join() !== have.join()) {
        const v = statusSel.value;
        statusSel.replaceChildren(h('option', { value: '' }, 'All statuses'), ...statuses.map((s) => h('option', { value: s }, s)));
        statusSel.value = statuses.includes(v) ? v : '';
      }
    }
    if (state.trialsVersion !== lastVersion || changes.params) {
      lastVersion = state.trialsVersion;
      refreshRows();
      performance.mark('trials:table');
      chart.setTrials(state.trials);
      performance.mark('trials:chart');
      renderDrawer(false);
      markReady();
    } else if (changes.tick && Date.now() - lastTick > 1000) {
      lastTick = Date.now();
      table.refresh(); // running trials' durations
      const t = openId && state.byId.get(openId);
      if (t && !isFinished(t.status) && Date.now() - lastDrawer > 3000) { lastDrawer = Date.now(); renderDrawer(true); }
    }
    if (changes.connection || changes.status) renderDrawer(true);
  }
  function route([id]) {
    const next = id || null;
    if (next === openId) return;
    openId = next;
    drawerKey = '';
    table.refresh();
    renderDrawer(true);
  }
  return { update, route, unmount() { chart.destroy(); if (drawerCurve) drawerCurve.destroy(); } };
}

// The benchmark and the tests wait for this: table rows and chart points are on screen.
function markReady() {
  if (document.body.dataset.ready === 'trials') return;
  requestAnimationFrame(() => {
    document.body.dataset.ready = 'trials';
    window.__dashboardReadyAt = performance.now();
  });
}
