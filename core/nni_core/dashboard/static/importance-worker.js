// Computes hyperparameter importance off the page's thread (a forest on 10,000 trials takes a while).
import { fanova } from './importance.js';

self.onmessage = (ev) => {
  const { id, X, y, domain, options } = ev.data;
  try {
    self.postMessage({ id, result: fanova(X, y, domain, options) });
  } catch (e) {
    self.postMessage({ id, error: String(e && e.message ? e.message : e) });
  }
};
