// Entry point: header, hash router (#/overview, #/trials[/<id>], #/plots) and the live poll loop.
import { state, subscribe, startPolling } from './store.js';
import { statusBadge } from './util.js';
import * as overview from './pages/overview.js';
import * as trials from './pages/trials.js';
import * as plots from './pages/plots.js';

const PAGES = { overview, trials, plots };
const main = document.getElementById('page');
let current = null; // {name, view}

function route() {
  const [name, ...rest] = (location.hash.replace(/^#\/?/, '') || 'overview').split('/');
  const page = PAGES[name] ? name : 'overview';
  for (const a of document.querySelectorAll('nav.tabs a')) a.classList.toggle('active', a.dataset.page === page);
  if (!current || current.name !== page) {
    if (current && current.view.unmount) current.view.unmount();
    main.replaceChildren();
    main.dataset.page = page;
    current = { name: page, view: PAGES[page].mount(main) };
    if (state.connected !== null) current.view.update({ status: true, profile: true, trials: true, params: true, connection: true });
  }
  if (current.view.route) current.view.route(rest.map(decodeURIComponent));
}

function header(changes) {
  if (changes.profile || changes.status) {
    const p = state.profile && state.profile.params;
    document.getElementById('exp-name').textContent = (p && p.experimentName) || (state.profile ? '(unnamed experiment)' : 'experiment');
    document.getElementById('exp-id').textContent = state.profile ? state.profile.id : '';
    document.getElementById('exp-status').replaceChildren(statusBadge(state.status));
    document.title = `${(p && p.experimentName) || state.profile?.id || 'experiment'} · ${state.status || ''} · nni-core`;
  }
  if (changes.connection || changes.status) {
    const banner = document.getElementById('banner');
    const live = document.getElementById('live');
    if (state.connected === false) {
      banner.hidden = false;
      banner.className = 'banner error';
      banner.textContent = 'The experiment manager does not answer (stopped?). Showing the last data received; retrying…';
      live.className = 'live off'; live.title = 'Not connected';
    } else if (state.status === 'VIEWED') {
      banner.hidden = false;
      banner.className = 'banner info';
      banner.textContent = 'View mode: this experiment is stopped and opened read-only; actions are disabled.';
      live.className = 'live idle'; live.title = 'View mode';
    } else {
      banner.hidden = !state.errors.length;
      banner.className = 'banner error';
      banner.textContent = state.errors.join('\n');
      live.className = 'live on'; live.title = 'Live: polling the manager';
    }
  }
}

subscribe((changes) => {
  header(changes);
  if (current) current.view.update(changes);
  if (changes.trials || changes.status) document.body.dataset.trials = String(state.trials.length);
});
window.addEventListener('hashchange', route);
route();
startPolling();
