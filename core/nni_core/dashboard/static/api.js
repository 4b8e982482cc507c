// REST client for the manager's NNI-compatible API. URLs are relative to the page's <base>, so the
// dashboard works at the root and under a --url-prefix alike.

export const API = 'api/v1/nni/';

export class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

const etags = new Map(); // url without query -> [etag, parsed body]

function url(path) { return new URL(path.startsWith('api/') ? path : API + path, document.baseURI).toString(); }

async function errorOf(resp) {
  let text = await resp.text();
  try { const j = JSON.parse(text); if (j && j.error) text = j.error; } catch { /* plain text */ }
  return new ApiError(`${resp.status}: ${text || resp.statusText}`, resp.status);
}

// GET a JSON document (path relative to the NNI API, or a full 'api/...' path). Conditional (If-None-Match) when the server sent an ETag before: a 304
// answers with the body parsed last time, so an unchanged trial list costs neither transfer nor parse.
export async function getJson(path, { signal } = {}) {
  const u = url(path);
  // keyed without the query: a poll's URL changes with every cursor, its ETag says all
  const key = u.split('?')[0];
  const cached = etags.get(key);
  const headers = cached ? { 'If-None-Match': cached[0] } : {};
  const resp = await fetch(u, { headers, signal, cache: 'no-store' });
  if (resp.status === 304 && cached) return { body: cached[1], changed: false };
  if (!resp.ok) throw await errorOf(resp);
  const text = await resp.text();
  // NNI answers some GETs with an empty body (e.g. /experiment before it started)
  const body = text ? JSON.parse(text) : null;
  const tag = resp.headers.get('ETag');
  if (tag) etags.set(key, [tag, body]); else etags.delete(key);
  return { body, changed: true };
}

export async function getText(path) {
  const resp = await fetch(url(path), { cache: 'no-store' });
  if (!resp.ok) throw await errorOf(resp);
  return resp.text();
}

export async function send(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(url(path), init);
  if (!resp.ok) throw await errorOf(resp);
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}
