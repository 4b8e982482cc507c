// Hyperparameter importance by functional ANOVA (Hutter, Hoos & Leyton-Brown, ICML 2014), the
// method behind Optuna's FanovaImportanceEvaluator:
//
// 1. fit a random forest (bootstrapped CART regression trees, every feature tried at every split,
//    as scikit-learn's RandomForestRegressor that Optuna uses) to (hyperparameters -> final metric);
// 2. for each tree, decompose its prediction function exactly over the search space with the
//    uniform measure: a tree is piecewise constant on boxes (its leaves), so the mean f0, the total
//    variance V and, for each hyperparameter j, the variance V_j of its marginal
//    a_j(x) = E[f | x_j = x] are finite sums over leaves and split cells;
// 3. importance_j = mean over trees of V_j / V, then normalised to sum to 1 (as Optuna reports).
//    mainEffects = the mean of sum_j V_j / V before normalisation: the share of the variance that
//    single hyperparameters explain (the rest is interactions).
//
// Encoding: numbers as they are, log-scaled parameters (loguniform, qloguniform) by their log,
// choices by their index with each choice getting equal measure (domain [-0.5, k-0.5]).
// Pure functions, no DOM: runs in a Web Worker (importance-worker.js) and in tests.

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// cols: Float64Array per feature (the sample), y: Float64Array. Returns flat arrays; leaf: feature -1.
export function fitTree(cols, y, { maxDepth = 64, minLeaf = 1 } = {}) {
  const n = y.length, d = cols.length;
  const ord = cols.map((c) => { const o = new Int32Array(n); for (let i = 0; i < n; i++) o[i] = i; return o.sort((a, b) => c[a] - c[b]); });
  const goLeft = new Uint8Array(n);
  const tmp = new Int32Array(n);
  const feature = [], thr = [], left = [], right = [], value = [];

  function grow(lo, hi, depth) {
    const m = hi - lo;
    const o0 = ord[0];
    let sum = 0, sq = 0;
    for (let k = lo; k < hi; k++) { const v = y[o0[k]]; sum += v; sq += v * v; }
    const node = feature.length;
    feature.push(-1); thr.push(0); left.push(-1); right.push(-1); value.push(sum / m);
    if (m < 2 * minLeaf || depth >= maxDepth || sq - (sum * sum) / m <= 1e-12 * Math.max(1, sq)) return node;
    const base = (sum * sum) / m;
    let bestScore = base * (1 + 1e-12) + 1e-12, bestF = -1, bestK = -1;
    for (let f = 0; f < d; f++) {
      const o = ord[f], c = cols[f];
      let sl = 0;
      for (let k = lo; k < hi - 1; k++) {
        sl += y[o[k]];
        const nl = k - lo + 1;
        if (nl < minLeaf) continue;
        if (m - nl < minLeaf) break;
        if (c[o[k]] === c[o[k + 1]]) continue;
        const sr = sum - sl;
        const score = (sl * sl) / nl + (sr * sr) / (m - nl);
        if (score > bestScore) { bestScore = score; bestF = f; bestK = k; }
      }
    }
    if (bestF < 0) return node;
    const c = cols[bestF], o = ord[bestF];
    const a = c[o[bestK]], b = c[o[bestK + 1]];
    let t = (a + b) / 2;
    if (!(t < b)) t = a; // adjacent floats: rule is x <= t goes left
    let nl = 0;
    for (let k = lo; k < hi; k++) { const i = o[k]; goLeft[i] = c[i] <= t ? 1 : 0; nl += goLeft[i]; }
    for (let f = 0; f < d; f++) { // stable partition keeps every feature's order sorted
      const of = ord[f];
      let p = lo, q = 0;
      for (let k = lo; k < hi; k++) { const i = of[k]; if (goLeft[i]) of[p++] = i; else tmp[q++] = i; }
      for (let k = 0; k < q; k++) of[p + k] = tmp[k];
    }
    feature[node] = bestF; thr[node] = t;
    left[node] = grow(lo, lo + nl, depth + 1);
    right[node] = grow(lo + nl, hi, depth + 1);
    return node;
  }
  grow(0, n, 0);
  return { feature, thr, left, right, value };
}

// Exact functional ANOVA of one tree over the box `domain` ([lo, hi] per feature).
// Returns {total, main: [V_j]} with the uniform measure on the box.
export function treeAnova(tree, domain) {
  const d = domain.length;
  const width = domain.map(([lo, hi]) => hi - lo);
  const leaves = []; // {v, box: [[lo,hi]...], w}
  const walk = (node, box) => {
    if (tree.feature[node] < 0) {
      let w = 1;
      for (let j = 0; j < d; j++) if (width[j] > 0) w *= (box[j][1] - box[j][0]) / width[j];
      if (w > 0) leaves.push({ v: tree.value[node], box, w });
      return;
    }
    const f = tree.feature[node], t = tree.thr[node];
    const lb = box.slice(), rb = box.slice();
    lb[f] = [box[f][0], Math.min(box[f][1], Math.max(box[f][0], t))];
    rb[f] = [Math.max(box[f][0], Math.min(box[f][1], t)), box[f][1]];
    walk(tree.left[node], lb);
    walk(tree.right[node], rb);
  };
  walk(0, domain.map((r) => r.slice()));
  let f0 = 0, wsum = 0;
  for (const l of leaves) { f0 += l.w * l.v; wsum += l.w; }
  f0 /= wsum;
  let total = 0;
  for (const l of leaves) total += (l.w / wsum) * (l.v - f0) ** 2;
  const main = new Array(d).fill(0);
  for (let j = 0; j < d; j++) {
    if (!(width[j] > 0)) continue;
    const cuts = new Set([domain[j][0], domain[j][1]]);
    for (const l of leaves) { cuts.add(l.box[j][0]); cuts.add(l.box[j][1]); }
    const xs = [...cuts].sort((a, b) => a - b);
    const at = new Map(xs.map((x, i) => [x, i]));
    const diff = new Float64Array(xs.length);
    for (const l of leaves) {
      const [a, b] = l.box[j];
      if (!(b > a)) continue;
      // E[f | x_j = x] collects v * (the leaf's measure in the other dimensions) = v * w / frac_j
      const c = (l.v * l.w / wsum) / ((b - a) / width[j]);
      diff[at.get(a)] += c;
      diff[at.get(b)] -= c;
    }
    let run = 0, vj = 0;
    for (let k = 0; k < xs.length - 1; k++) {
      run += diff[k];
      vj += ((xs[k + 1] - xs[k]) / width[j]) * (run - f0) ** 2;
    }
    main[j] = vj;
  }
  return { total, main };
}

// X: array of rows (numbers, already encoded), y: numbers, domain: [lo, hi] per feature.
export function fanova(X, y, domain, { nTrees = 32, maxDepth = 64, minLeaf = 1, seed = 42 } = {}) {
  const n = y.length, d = domain.length;
  const rng = mulberry32(seed);
  const sums = new Array(d).fill(0);
  let mainShare = 0, used = 0;
  for (let t = 0; t < nTrees; t++) {
    const cols = Array.from({ length: d }, () => new Float64Array(n));
    const ys = new Float64Array(n);
    for (let i = 0; i < n; i++) { // bootstrap sample
      const r = Math.floor(rng() * n);
      for (let j = 0; j < d; j++) cols[j][i] = X[r][j];
      ys[i] = y[r];
    }
    const tree = fitTree(cols, ys, { maxDepth, minLeaf });
    const { total, main } = treeAnova(tree, domain);
    if (!(total > 0)) continue;
    used++;
    let s = 0;
    for (let j = 0; j < d; j++) { sums[j] += main[j] / total; s += main[j] / total; }
    mainShare += s;
  }
  const raw = sums.map((s) => (used ? s / used : 0));
  const norm = raw.reduce((a, b) => a + b, 0);
  return {
    importance: raw.map((r) => (norm > 0 ? r / norm : 0)),
    mainEffects: used ? mainShare / used : 0,
    trees: used,
  };
}

// Trials -> encoded matrix and the search-space domain of every hyperparameter.
// trials: [{params, final}], names: parameter names, space: NNI search space (may be partial).
export function encode(trials, names, space = {}) {
  const rows = trials.filter((t) => t.final != null && Number.isFinite(t.final));
  const features = [];
  for (const name of names) {
    const vals = rows.map((t) => t.params[name]);
    if (vals.some((v) => v === undefined)) continue; // conditional (nested) parameters are left out
    const spec = space[name] || {};
    const type = spec._type || '';
    if (type !== 'choice' && vals.every((v) => typeof v === 'number')) {
      const log = /log/.test(type) && vals.every((v) => v > 0);
      const f = log ? Math.log : (x) => x;
      const enc = vals.map(f);
      let lo = Math.min(...enc), hi = Math.max(...enc);
      const b = spec._value;
      if (Array.isArray(b) && b.length >= 2 && typeof b[0] === 'number' && /uniform|randint/.test(type)) {
        if (!log || (b[0] > 0 && b[1] > 0)) { lo = Math.min(lo, f(b[0])); hi = Math.max(hi, f(b[1])); }
      }
      features.push({ name, scale: log ? 'log' : 'linear', enc, domain: [lo, hi] });
    } else {
      const cats = Array.isArray(spec._value) ? spec._value.map((v) => JSON.stringify(v && typeof v === 'object' && '_name' in v ? v._name : v)) : [];
      const index = new Map(cats.map((c, i) => [c, i]));
      const enc = vals.map((v) => {
        const k = JSON.stringify(v);
        if (!index.has(k)) index.set(k, index.size);
        return index.get(k);
      });
      features.push({ name, scale: 'choice', enc, domain: [-0.5, index.size - 0.5] });
    }
  }
  const varying = features.filter((f) => f.domain[1] > f.domain[0]);
  return {
    names: varying.map((f) => f.name),
    scales: varying.map((f) => f.scale),
    X: rows.map((_, i) => varying.map((f) => f.enc[i])),
    y: rows.map((t) => t.final),
    domain: varying.map((f) => f.domain),
  };
}
