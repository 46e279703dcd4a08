// Entry point: hash router, theme toggle and token sign-out.
//
// Routes (deep links):
//   #/                         overview
//   #/topics                   topic list
//   #/topics/{t}[/{tab}]       topic detail; tab = messages, live, produce, partitions, config
//   #/groups                   consumer groups
//   #/groups/{g}               one group
// A view is a module exporting render(main, params, query) that returns a
// cleanup function, called when the route changes.

import {token, setToken} from './api.js';

const THEME_KEY = 'fjord.theme';
const views = {
  overview: () => import('./views/overview.js'),
  topics: () => import('./views/topics.js'),
  topic: () => import('./views/topic.js'),
  groups: () => import('./views/groups.js'),
  group: () => import('./views/group.js'),
};

/** parse maps a location hash to a view name, its params and query. */
export function parse(hash) {
  const raw = hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  const query = Object.fromEntries(new URLSearchParams(qs || ''));
  if (parts.length === 0) return {view: 'overview', params: {}, query, nav: 'overview'};
  if (parts[0] === 'topics') {
    if (parts.length === 1) return {view: 'topics', params: {}, query, nav: 'topics'};
    return {view: 'topic', params: {topic: parts[1], tab: parts[2] || 'messages'}, query, nav: 'topics'};
  }
  if (parts[0] === 'groups') {
    if (parts.length === 1) return {view: 'groups', params: {}, query, nav: 'groups'};
    return {view: 'group', params: {group: parts[1]}, query, nav: 'groups'};
  }
  return {view: 'notfound', params: {}, query, nav: ''};
}

let cleanup = null;
let current = null;
let generation = 0;

async function route() {
  const main = document.getElementById('main');
  const r = parse(location.hash);
  const key = `${r.view}|${JSON.stringify(r.params)}`;
  // A query-only change inside the same view (e.g. the message browser
  // recording its position) is handled by the view itself.
  if (current && current.key === key && current.onQuery) {
    current.onQuery(r.query);
    return;
  }
  const gen = ++generation;
  if (cleanup) { try { cleanup(); } catch (err) { console.warn(err); } }
  cleanup = null;
  current = null;
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === r.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren();
  if (r.view === 'notfound') {
    const p = document.createElement('p');
    p.className = 'notice';
    p.textContent = 'There is no such page. ';
    const a = document.createElement('a');
    a.href = '#/';
    a.textContent = 'Go to the overview.';
    p.append(a);
    main.append(p);
    routedOnce = true;
    return;
  }
  const mod = await views[r.view]();
  if (gen !== generation) return;
  const result = mod.render(main, r.params, r.query);
  cleanup = typeof result === 'function' ? result : result?.cleanup;
  current = {key, onQuery: result?.onQuery};
  const h1 = main.querySelector('h1');
  document.title = `${h1 ? h1.textContent + ' · ' : ''}fjord console`;
  if (routedOnce && h1) h1.focus({preventScroll: true});
  routedOnce = true;
}
let routedOnce = false;

function applyTheme(theme) {
  const root = document.documentElement;
  if (theme) root.dataset.theme = theme;
  else delete root.dataset.theme;
  const dark = effectiveTheme() === 'dark';
  const btn = document.getElementById('theme-toggle');
  const label = dark ? 'Switch to light theme' : 'Switch to dark theme';
  btn.setAttribute('aria-label', label);
  btn.title = label;
  document.getElementById('theme-icon').textContent = dark ? '☀' : '☾';
  document.dispatchEvent(new CustomEvent('fjord:theme'));
}

function effectiveTheme() {
  const t = document.documentElement.dataset.theme;
  if (t) return t;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function storedTheme() {
  try { return localStorage.getItem(THEME_KEY) || ''; } catch { return ''; }
}

function initTheme() {
  applyTheme(storedTheme());
  document.getElementById('theme-toggle').addEventListener('click', () => {
    const next = effectiveTheme() === 'dark' ? 'light' : 'dark';
    try { localStorage.setItem(THEME_KEY, next); } catch { /* not persisted */ }
    applyTheme(next);
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme(storedTheme()));
}

function initAuth() {
  const btn = document.getElementById('signout');
  const sync = () => { btn.hidden = !token(); };
  btn.addEventListener('click', () => {
    setToken('');
    location.reload();
  });
  document.addEventListener('fjord:token', sync);
  sync();
}

initTheme();
initAuth();
window.addEventListener('hashchange', route);
route();
