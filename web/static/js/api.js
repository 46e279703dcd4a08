// The console's only way to the broker: the public REST API and /ws.
//
// Auth: when a call answers 401 problem+json the console asks for a bearer
// token (one dialog however many calls are waiting), keeps it in
// localStorage and retries. The token goes as `Authorization: Bearer …` on
// REST calls and as `?token=` on the WebSocket URL.

const TOKEN_KEY = 'fjord.token';

/** ApiError is a failed call: status, the problem's code and detail. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code || '';
    this.problem = problem || {};
  }
}

/** RawNumber keeps a JSON number whose spelling a JS number would change (big or precise numbers). */
export class RawNumber {
  constructor(source) { this.source = source; }
  toString() { return this.source; }
}

/** parseJSON parses text, keeping numbers that would lose digits as RawNumber. */
export function parseJSON(text) {
  return JSON.parse(text, function reviver(key, value, context) {
    if (typeof value === 'number' && context && typeof context.source === 'string' && String(value) !== context.source) {
      return new RawNumber(context.source);
    }
    return value;
  });
}

/** token returns the stored bearer token, or ''. */
export function token() {
  try { return localStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

/** setToken stores (or, given '', forgets) the bearer token. */
export function setToken(t) {
  try {
    if (t) localStorage.setItem(TOKEN_KEY, t);
    else localStorage.removeItem(TOKEN_KEY);
  } catch { /* storage disabled: keep working without persistence */ }
  document.dispatchEvent(new CustomEvent('fjord:token'));
}

let pendingAsk = null;

/** askToken shows the token dialog once for all waiting callers; resolves when a token was entered. */
export function askToken(message) {
  if (pendingAsk) return pendingAsk;
  const dlg = document.getElementById('auth-dialog');
  const form = document.getElementById('auth-form');
  const input = document.getElementById('auth-token');
  const msg = document.getElementById('auth-message');
  const cancel = document.getElementById('auth-cancel');
  msg.textContent = message || 'This broker requires a bearer token.';
  input.value = '';
  pendingAsk = new Promise((resolve, reject) => {
    const done = (ok) => {
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dlg.removeEventListener('cancel', onCancel);
      pendingAsk = null;
      if (dlg.open) dlg.close();
      ok ? resolve() : reject(new ApiError(401, {code: 'unauthorized', detail: 'A bearer token is required.'}));
    };
    const onSubmit = (e) => {
      e.preventDefault();
      const t = input.value.trim();
      if (!t) { input.setAttribute('aria-invalid', 'true'); input.focus(); return; }
      input.removeAttribute('aria-invalid');
      setToken(t);
      done(true);
    };
    const onCancel = (e) => { e.preventDefault(); done(false); };
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dlg.addEventListener('cancel', onCancel);
    dlg.showModal();
    input.focus();
  });
  return pendingAsk;
}

/**
 * request calls the API. body, when given, is sent as JSON (a string is sent
 * as is, so JSON text keeps its exact bytes). Answers parsed JSON (numbers
 * that would lose digits kept as RawNumber), text for text/plain, or null for
 * 204. Throws ApiError for problem answers; a 207 is returned as data.
 */
export async function request(method, path, body, {signal, text = false} = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = {Accept: text ? 'text/plain, */*' : 'application/json'};
    const t = token();
    if (t) headers.Authorization = `Bearer ${t}`;
    let payload;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(path, {method, headers, body: payload, signal, cache: 'no-store'});
    if (res.status === 401 && attempt < 3) {
      await readProblem(res);
      await askToken(t ? 'The token was refused. Enter another one.' : undefined);
      continue;
    }
    if (!res.ok) throw new ApiError(res.status, await readProblem(res));
    if (res.status === 204) return null;
    const raw = await res.text();
    if (text) return raw;
    return raw ? parseJSON(raw) : null;
  }
}

async function readProblem(res) {
  try {
    const raw = await res.text();
    try { return JSON.parse(raw); } catch { return {detail: raw.trim() || res.statusText}; }
  } catch {
    return {detail: res.statusText};
  }
}

/** get, post, put, patch and del are request with the method filled in. */
export const get = (path, opts) => request('GET', path, undefined, opts);
export const post = (path, body, opts) => request('POST', path, body ?? '', opts);
export const put = (path, body, opts) => request('PUT', path, body, opts);
export const patch = (path, body, opts) => request('PATCH', path, body, opts);
export const del = (path, opts) => request('DELETE', path, undefined, opts);

/** enc escapes one path segment. */
export const enc = encodeURIComponent;

/** wsURL is the WebSocket URL for the given query parameters, with the token added. */
export function wsURL(params) {
  const q = new URLSearchParams(params);
  const t = token();
  if (t) q.set('token', t);
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?${q}`;
}

/** describeError renders an error for people: the problem detail and its code. */
export function describeError(err) {
  if (err instanceof ApiError) return err.code ? `${err.message} (${err.code})` : err.message;
  if (err?.name === 'AbortError') return 'Cancelled.';
  return `Cannot reach the broker: ${err?.message || err}`;
}

/** mapLimit runs fn over items with at most n calls in flight. */
export async function mapLimit(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try { out[i] = await fn(items[i], i); } catch (err) { out[i] = err; }
    }
  };
  await Promise.all(Array.from({length: Math.min(n, items.length)}, worker));
  return out;
}
