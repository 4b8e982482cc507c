// Overview: what the experiment is, how far its budget is used, its best trial, the actions that
// change it, and its config (read-only).
import { state, readOnly, updateExperiment, stopExperiment, duration } from '../store.js';
import { h, fmtNumber, fmtDuration, fmtTime, parseDuration, statusBadge, toast } from '../util.js';

function progress(value, max) {
  const pct = max ? Math.min(100, (100 * value) / max) : 0;
  return h('div.progress', { title: max ? `${pct.toFixed(0)}%` : 'no limit' }, h('div', { style: { width: `${pct}%` } }));
}

function card(title, ...body) {
  return h('section.card', null, h('h2', null, title), ...body);
}

function kv(rows) {
  return h('table.kv', null, h('tbody', null,
    rows.filter(Boolean).map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v)))));
}

export function mount(root) {
  const stats = h('div.stats');
  const best = h('div');
  const details = h('div');
  const counts = h('div.counts');
  const config = h('pre.config', { id: 'config' });
  const actions = h('div.actions');
  root.append(
    stats,
    h('div.grid2', null,
      card('Best trial', best),
      card('Experiment', details, counts)),
    h('div.grid2', null,
      card('Actions', actions),
      card('Config (read-only)', config)),
  );

  // --- actions: built once, enabled/disabled on every update ---
  const concurrency = h('input#concurrency', { type: 'number', min: 1, step: 1, 'aria-label': 'Trial concurrency' });
  const maxTrials = h('input#max-trials', { type: 'number', min: 1, step: 1, 'aria-label': 'Max trial number' });
  const maxDuration = h('input#max-duration', { type: 'text', placeholder: 'e.g. 2h, 30m', 'aria-label': 'Max experiment duration' });
  const stopBtn = h('button#stop.danger', { type: 'button' }, 'Stop experiment');
  const controls = [concurrency, maxTrials, maxDuration, stopBtn];
  const applyBtns = [];
  const row = (label, input, type, field, parse) => {
    const btn = h('button', { type: 'button', dataset: { apply: field } }, 'Apply');
    applyBtns.push(btn);
    btn.addEventListener('click', async () => {
      const value = parse(input.value);
      if (value == null) { toast(`${label}: enter a valid value`, 'error'); return; }
      btn.disabled = true;
      try {
        await updateExperiment(type, field, value);
        toast(`${label} set to ${input.value}`);
        input.dataset.dirty = '';
      } catch (e) { toast(`${label}: ${e.message}`, 'error'); }
      finally { btn.disabled = readOnly(); }
    });
    input.addEventListener('input', () => { input.dataset.dirty = '1'; });
    input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') btn.click(); });
    return h('label.action-row', null, h('span', null, label), input, btn);
  };
  const posInt = (v) => (/^\s*\d+\s*$/.test(v) && Number(v) > 0 ? Number(v) : null);
  const roNote = h('p.note#readonly-note', { hidden: true }, 'Read-only: the experiment is opened in view mode (or its manager is gone).');
  actions.append(
    roNote,
    row('Concurrency', concurrency, 'TRIAL_CONCURRENCY', 'trialConcurrency', posInt),
    row('Max trial number', maxTrials, 'MAX_TRIAL_NUM', 'maxTrialNumber', posInt),
    row('Max duration', maxDuration, 'MAX_EXEC_DURATION', 'maxExperimentDuration', (v) => {
      const s = parseDuration(v); return s && s > 0 ? Math.round(s) : null;
    }),
    h('div.action-row', null, h('span', null, 'Stop'), h('span.hint', null, 'ends running trials; the experiment can be resumed'), stopBtn),
  );
  stopBtn.addEventListener('click', async () => {
    if (!confirm('Stop this experiment? Running trials are cancelled.')) return;
    stopBtn.disabled = true;
    try { await stopExperiment(); toast('Stopping the experiment…'); }
    catch (e) { toast(`Stop: ${e.message}`, 'error'); stopBtn.disabled = false; }
  });

  function update(changes) {
    const p = (state.profile && state.profile.params) || {};
    const prof = state.profile || {};
    const ro = readOnly();
    for (const el of [...controls, ...applyBtns]) el.disabled = ro;
    roNote.hidden = !ro;
    const setIfClean = (input, v) => { if (!input.dataset.dirty && document.activeElement !== input) input.value = v ?? ''; };
    setIfClean(concurrency, p.trialConcurrency);
    setIfClean(maxTrials, p.maxTrialNumber);
    setIfClean(maxDuration, p.maxExperimentDuration);

    const n = state.trials.length;
    const running = state.trials.filter((t) => t.status === 'RUNNING' || t.status === 'WAITING').length;
    const limit = parseDuration(p.maxExperimentDuration);
    const exec = prof.execDuration ?? 0;
    stats.replaceChildren(
      h('div.stat', null, h('div.label', null, 'Status'), h('div.value', { id: 'ov-status' }, statusBadge(state.status))),
      h('div.stat', null, h('div.label', null, 'Trials'),
        h('div.value', { id: 'ov-trials' }, `${n}`, h('small', null, p.maxTrialNumber ? ` / ${p.maxTrialNumber}` : ' / no limit')),
        progress(n, p.maxTrialNumber)),
      h('div.stat', null, h('div.label', null, 'Duration'),
        h('div.value', { id: 'ov-duration' }, fmtDuration(exec), h('small', null, limit ? ` / ${fmtDuration(limit)}` : ' / no limit')),
        progress(exec, limit)),
      h('div.stat', null, h('div.label', null, 'Concurrency'),
        h('div.value', { id: 'ov-concurrency' }, `${p.trialConcurrency ?? '–'}`, h('small', null, ` · ${running} running`))),
      h('div.stat', null, h('div.label', null, `Best metric (${state.optimize})`),
        h('div.value', { id: 'ov-best' }, state.best ? fmtNumber(state.best.final) : '–')),
    );

    if (changes.trials || changes.profile || !best.firstChild) {
      const b = state.best;
      best.replaceChildren(b
        ? h('div', null,
          h('p', null, 'Trial ', h('a', { href: `#/trials/${encodeURIComponent(b.id)}`, id: 'best-link' }, b.id),
            ` (#${b.seq}) · metric `, h('strong', null, fmtNumber(b.final)), ` · ${fmtDuration(duration(b))}`),
          kv(Object.entries(b.params).map(([k, v]) => [k, fmtNumber(v)])))
        : h('p.muted', null, 'No trial has reported a final metric yet.'));
      const tally = new Map();
      for (const t of state.trials) tally.set(t.status, (tally.get(t.status) || 0) + 1);
      counts.replaceChildren(...[...tally].map(([s, c]) => h('span.count', null, statusBadge(s), ` ${c}`)));
    }
    if (changes.profile || changes.status || changes.tick) {
      const algo = p.tuner || p.advisor || {};
      details.replaceChildren(kv([
        ['Name', p.experimentName || '–'],
        ['ID', prof.id || '–'],
        ['Started', fmtTime(prof.startTime)],
        prof.endTime ? ['Ended', fmtTime(prof.endTime)] : null,
        ['Elapsed', prof.startTime ? fmtDuration(((prof.endTime || Date.now()) - prof.startTime) / 1000) : '–'],
        ['Tuner', `${algo.name || algo.className || '–'} (${state.optimize})`],
        p.assessor ? ['Assessor', p.assessor.name || p.assessor.className] : null,
        ['Platform', (p.trainingService && (p.trainingService.platform || (Array.isArray(p.trainingService) && p.trainingService.map((x) => x.platform).join(', ')))) || '–'],
        ['Directory', prof.logDir || '–'],
      ]));
    }
    if (changes.profile || !config.textContent) {
      config.textContent = state.profile ? JSON.stringify(p, null, 2) : 'The experiment has not been submitted to this manager yet.';
    }
  }
  return { update };
}
