// Placeholder: shows the experiment status from the manager's REST API.
const api = (p) => new URL('api/v1/nni/' + p, document.baseURI);
const root = document.getElementById('app');
fetch(api('check-status')).then((r) => r.json()).then(
  (s) => { root.textContent = 'Experiment status: ' + s.status; },
  (e) => { root.textContent = 'Cannot reach the manager: ' + e; });
