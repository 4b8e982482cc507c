// The experiment as the dashboard sees it: polled from the manager, normalised once, shared by
// every page. Pages subscribe and get told what changed.
import { getJson, getText, send } from './api.js';

const FINISHED = new Set(['SUCCEEDED', 'FAILED', 'USER_CANCELED', 'SYS_CANCELED', 'EARLY_STOPPED']);
const ACTIVE_EXPERIMENT = new Set(['RUNNING', 'NO_MORE_TRIAL', 'TUNER_NO_MORE_TRIAL', 'INITIALIZED', 'INITIALIZING']);

export const state = {
  status: null,          // experiment status (check-status), e.g. RUNNING, DONE, VIEWED
  errors: [],
  profile: null,         // GET /experiment
  trials: [],            // normalised trials, in the manager's order
  byId: new Map(),
  paramNames: [],        // flattened hyperparameter names, search-space order first
  optimize: 'maximize',
  best: null,            // best trial by final metric
  connected: null,       // null until the first answer
  updatedAt: 0,
  trialsVersion: 0,      // bumped whenever the trial list changed
  selected: new Set(),   // trial ids picked for the intermediate-curves plot
};

export const isFinished = (status) => FINISHED.has(status);
export const readOnly = () => state.status === 'VIEWED' || state.connected === false;

// NNI stores a metric as the trial's value JSON-encoded twice; a dict reports its "default" key.
export function metricValue(data) {
  if (data === null || data === undefined) return null;
  let v = data;
  for (let i = 0; i < 2 && typeof v === 'string'; i++) {
    try { v = JSON.parse(v); } catch { break; }
  }
  if (v && typeof v === 'object') v = v.default;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

// Nested choices ({"_name": "adam", "lr": 0.1}) flatten to "opt" = "adam", "opt/lr" = 0.1.
function flatten(obj, prefix, out) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}/${k}` : k;
    if (k === '_name' && prefix) { out[prefix] = v; continue; }
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, out);
    else out[key] = v;
  }
  return out;
}

function parseParams(hyperParameters) {
  if (!hyperParameters || !hyperParameters.length) return {};
  try {
    const rec = JSON.parse(hyperParameters[0]);
    return flatten(rec.parameters, '', {});
  } catch { return {}; }
}

// Two sources, one shape: NNI's TrialJobInfo (from /trial-jobs) and the dashboard API's rows.
function finish(prev, key, fields) {
  if (prev && prev._key === key) return prev; // unchanged: keep the object (cheap re-polls)
  return { _key: key, ...fields };
}

function fromTrialJob(raw, prev) {
  const fm = raw.finalMetricData;
  const hp = (raw.hyperParameters || [])[0];
  const key = `${raw.status}|${raw.endTime}|${raw.startTime}|${fm ? fm.length : 0}|${hp}`;
  return finish(prev, key, {
    id: raw.trialJobId,
    seq: raw.sequenceId ?? -1,
    status: raw.status,
    params: prev && prev._hp === hp ? prev.params : parseParams(raw.hyperParameters),
    _hp: hp,
    final: fm && fm.length ? metricValue(fm[fm.length - 1].data) : null,
    start: raw.startTime ?? null,
    end: raw.endTime ?? null,
    message: raw.message,
  });
}

// row: [id, seq, status, start, end, params, final, message] (nni_core/dashboard/api.py COLUMNS),
// params a list in the order of the answer's paramNames
let rowParamNames = [];
function fromRow(row, prev) {
  const final = metricValue(row[6]);
  const key = row[2] + '|' + row[4] + '|' + row[3] + '|' + final + '|' + row[7];
  if (prev && prev._key === key) return prev;
  const params = {};
  const values = row[5];
  for (let j = 0; j < values.length; j++) if (values[j] !== null) params[rowParamNames[j]] = values[j];
  return {
    _key: key, id: row[0], seq: row[1], status: row[2], start: row[3], end: row[4],
    params, final, message: row[7],
  };
}

export function duration(t, now = Date.now()) {
  if (t.start == null) return null;
  return ((t.end ?? (isFinished(t.status) ? t.start : now)) - t.start) / 1000;
}

function optimizeMode(params) {
  const algo = (params && (params.tuner || params.advisor)) || {};
  const mode = (algo.classArgs || {}).optimize_mode || (algo.classArgs || {}).optimizeMode;
  return mode === 'minimize' ? 'minimize' : 'maximize';
}

export const better = (a, b) => (state.optimize === 'minimize' ? a < b : a > b);

function paramOrder(trials, searchSpace) {
  const names = [];
  const seen = new Set();
  const add = (n) => { if (!seen.has(n)) { seen.add(n); names.push(n); } };
  for (const k of Object.keys(searchSpace || {})) add(k);
  // nested keys and customized trials' extra keys come after, in order of appearance
  for (let i = 0; i < trials.length && i < 2000; i++) for (const k of Object.keys(trials[i].params)) add(k);
  return names.filter((n) => trials.some((t) => n in t.params) || trials.length === 0);
}

function applyTrials(list, convert, idOf) {
  const old = state.byId;
  const byId = new Map();
  const trials = new Array(list.length);
  let changed = list.length !== state.trials.length;
  for (let i = 0; i < list.length; i++) {
    const t = convert(list[i], old.get(idOf(list[i])));
    if (!changed && state.trials[i] !== t) changed = true;
    trials[i] = t;
    byId.set(t.id, t);
  }
  if (!changed) return false;
  state.trials = trials;
  state.byId = byId;
  let best = null;
  for (const t of trials) if (t.final != null && (best === null || better(t.final, best.final))) best = t;
  state.best = best;
  state.trialsVersion++;
  return true;
}

const listeners = new Set();
export function subscribe(fn) { listeners.add(fn); return () => listeners.delete(fn); }
export function notify(changes) { for (const fn of listeners) fn(changes); }

function applyStatus(changes, status, errors) {
  if (status !== state.status || JSON.stringify(errors || []) !== JSON.stringify(state.errors)) {
    state.status = status; state.errors = errors || []; changes.status = true;
  }
}

function applyProfile(changes, p) {
  if (JSON.stringify(p) !== JSON.stringify(state.profile)) {
    state.profile = p;
    state.optimize = optimizeMode(p && p.params);
    changes.profile = true;
  }
}

// nni-core's manager answers 'api/dashboard/v1/poll' with only what changed (see
// nni_core/dashboard/api.py); any other NNI-compatible manager is polled through NNI's own API.
const POLL = 'api/dashboard/v1/poll';
class NotDashboardApi extends Error {}
let useDashboardApi = true;
let cursor = '';
let raw = [];              // trial rows as the manager sent them, merged across polls
const rawIndex = new Map(); // id -> index in raw

async function pollDashboardApi(changes) {
  let answer;
  if (window.__firstPoll && !cursor) {
    // index.html started this request before the modules loaded
    answer = window.__firstPoll.then((body) => ({ body, changed: true }));
    window.__firstPoll = null;
  } else {
    answer = getJson(`${POLL}?since=${encodeURIComponent(cursor)}`);
  }
  const { body, changed } = await answer;
  if (!body || typeof body !== 'object' || !('cursor' in body)) throw new NotDashboardApi();
  if (!changed) return;
  performance.mark('poll:parsed');
  cursor = body.cursor;
  rowParamNames = body.paramNames;
  applyStatus(changes, body.status, body.errors);
  applyProfile(changes, body.profile);
  if (body.full) { raw = []; rawIndex.clear(); }
  for (const row of body.trials) {
    const i = rawIndex.get(row[0]);
    if (i === undefined) { rawIndex.set(row[0], raw.length); raw.push(row); } else raw[i] = row;
  }
  if ((body.full || body.trials.length) && applyTrials(raw, fromRow, (r) => r[0])) changes.trials = true;
  performance.mark('poll:applied');
}

async function pollNniApi(changes) {
  const [status, profile, trials] = await Promise.all([
    getJson('check-status').catch((e) => (e instanceof SyntaxError ? { body: { status: 'INITIALIZING', errors: [] } } : Promise.reject(e))),
    getJson('experiment'),
    getJson('trial-jobs'),
  ]);
  applyStatus(changes, (status.body || {}).status, (status.body || {}).errors);
  applyProfile(changes, profile.body);
  if (trials.changed && applyTrials(trials.body || [], fromTrialJob, (t) => t.trialJobId)) changes.trials = true;
}

async function pollOnce() {
  const changes = {};
  if (useDashboardApi) {
    try { await pollDashboardApi(changes); }
    catch (e) {
      // NNI answers unknown GETs with its web page (not JSON) or 404: use the NNI API from now on
      if (!(e instanceof SyntaxError || e instanceof NotDashboardApi || e.status === 404)) throw e;
      useDashboardApi = false;
    }
  }
  if (!useDashboardApi) await pollNniApi(changes);
  if (state.connected !== true) { state.connected = true; changes.connection = true; }
  if (changes.trials || changes.profile) {
    const names = paramOrder(state.trials, state.profile && state.profile.params && state.profile.params.searchSpace);
    if (names.join('\u0000') !== state.paramNames.join('\u0000')) { state.paramNames = names; changes.params = true; }
  }
  state.updatedAt = Date.now();
  return changes;
}

// One poll loop: a poll asked for while one is in flight runs right after it, never beside it.
let timer = null;
let inFlight = false;
let again = false;
let failures = 0;
async function tick() {
  timer = null;
  inFlight = true;
  let changes;
  try {
    changes = await pollOnce();
    failures = 0;
  } catch (e) {
    failures++;
    changes = {};
    if (state.connected !== false) { state.connected = false; changes.connection = true; }
    state.lastError = String(e.message || e);
  }
  inFlight = false;
  changes.tick = true;
  notify(changes);
  // live experiments are polled every second; finished ones and lost managers less often
  const delay = again ? 0 : state.connected === false ? Math.min(5000, 1000 * 2 ** failures)
    : ACTIVE_EXPERIMENT.has(state.status) ? 1000 : 3000;
  again = false;
  timer = setTimeout(tick, delay);
}
export function startPolling() {
  if (!timer && !inFlight) tick();
}
export function pollNow() {
  if (inFlight) { again = true; return; }
  if (timer) { clearTimeout(timer); timer = null; }
  tick();
}

// ---- per-trial data, fetched on demand ----
const intermediateCache = new Map(); // id -> {key, points}

export async function intermediate(id) {
  const t = state.byId.get(id);
  const c = intermediateCache.get(id);
  if (c && t && c.key === t._key && isFinished(t.status)) return c.points;
  const { body } = await getJson(`metric-data/${encodeURIComponent(id)}`);
  const points = [];
  for (const r of body || []) {
    if (r.type !== 'PERIODICAL') continue;
    const v = metricValue(r.data);
    if (v != null) points.push([r.sequence, v]);
  }
  points.sort((a, b) => a[0] - b[0]);
  intermediateCache.set(id, { key: t ? t._key : '', points });
  return points;
}

export const trialFile = (id, name) => getText(`trial-file/${encodeURIComponent(id)}/${encodeURIComponent(name)}`);
export const killTrial = (id) => send('DELETE', `trial-jobs/${encodeURIComponent(id)}`);
export const stopExperiment = () => send('DELETE', 'experiment');

// PUT /experiment?update_type=T with the whole profile and one field changed, as nnictl does.
export async function updateExperiment(type, field, value) {
  const { body } = await getJson('experiment');
  const profile = JSON.parse(JSON.stringify(body));
  profile.params[field] = value;
  await send('PUT', `experiment?update_type=${type}`, profile);
  pollNow();
}
