// DOM and formatting helpers. Every piece of broker data reaches the page as
// text nodes (never innerHTML), so record contents cannot inject markup.

/**
 * h builds an element: h('a', {href: '#/', class: 'x', onclick: fn}, 'text', child).
 * Attributes named on* become event listeners; true/false toggle boolean
 * attributes; null and undefined are skipped, as are null/false children.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** clear removes every child of el and appends the given children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** table builds a scrollable table: cols are [{label, class}], rows are arrays of cells or <tr> elements. */
export function table(cols, rows, {label, empty = 'Nothing to show.', id} = {}) {
  const tbody = h('tbody', null, rows.length ? rows.map((r) => (r instanceof Node ? r : h('tr', null, r.map((c, i) => cell(c, cols[i]))))) :
    h('tr', null, h('td', {colspan: cols.length, class: 'empty'}, empty)));
  return h('div', {class: 'table-wrap'}, h('table', {id, 'aria-label': label},
    h('thead', null, h('tr', null, cols.map((c) => h('th', {scope: 'col', class: c.class || null}, c.label)))),
    tbody));
}

function cell(c, col) {
  if (c instanceof HTMLTableCellElement) return c;
  return h('td', {class: col?.class || null}, c);
}

/** badge renders a coloured status pill. */
export function badge(text, kind) {
  return h('span', {class: `badge${kind ? ' badge-' + kind : ''}`}, text);
}

/** statusKind maps broker, group and lag statuses to a badge colour. */
export function statusKind(s) {
  switch (String(s).toUpperCase()) {
    case 'OK': case 'ALIVE': case 'STABLE': return 'ok';
    case 'WARNING': case 'SUSPECT': case 'REBALANCING': return 'warn';
    case 'ERROR': case 'STOP': case 'STALL': case 'REWIND': case 'FAILED': return 'err';
    case 'EMPTY': case 'LEFT': return null;
    default: return 'info';
  }
}

/** statusBadge is badge(s, statusKind(s)). */
export function statusBadge(s) {
  return badge(s, statusKind(s));
}

/** alert renders an inline message; kind is 'error', 'ok' or 'info'. */
export function alert(kind, ...content) {
  return h('div', {class: `alert alert-${kind}`, role: kind === 'error' ? 'alert' : 'status'}, ...content);
}

const nf = new Intl.NumberFormat('en-US');

/** num formats an integer with thousands separators; '—' for missing values. */
export function num(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return nf.format(n);
}

/** plural formats a count with its noun: plural(1, 'record') is "1 record". */
export function plural(n, noun) {
  return `${num(n)} ${noun}${n === 1 ? '' : 's'}`;
}

/** rate formats a per-second rate. */
export function rate(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (n >= 100) return nf.format(Math.round(n));
  return n.toFixed(n >= 10 ? 1 : 2).replace(/\.?0+$/, '') || '0';
}

/** bytes formats a size in binary units. */
export function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  if (n < 0) return 'unlimited';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(n >= 100 ? 0 : 1)} ${units[i]}`;
}

/** duration formats milliseconds as a short human duration. */
export function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 0) return 'unlimited';
  const steps = [[86400000, 'd'], [3600000, 'h'], [60000, 'min'], [1000, 's']];
  for (const [unit, name] of steps) {
    if (ms >= unit && ms % unit === 0) return `${ms / unit} ${name}`;
  }
  for (const [unit, name] of steps) {
    if (ms >= unit) return `${(ms / unit).toFixed(1)} ${name}`;
  }
  return `${ms} ms`;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** time formats epoch milliseconds as local "YYYY-MM-DD HH:MM:SS.mmm". */
export function time(ms) {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** ago formats how long ago epoch milliseconds were. */
export function ago(ms) {
  if (!ms) return '—';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** toast shows a short message in the corner for a few seconds. */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const t = h('div', {class: `toast ${kind}`}, message);
  box.append(t);
  setTimeout(() => t.remove(), 5000);
}

/** poller runs fn now and then every ms while the page is visible, until stopped. */
export function poller(fn, ms) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    timer = null;
    if (stopped) return;
    if (!document.hidden) {
      try { await fn(); } catch (err) { if (!stopped) console.warn(err); }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => { stopped = true; if (timer) clearTimeout(timer); };
}

/** dialog opens a modal <dialog> built by build(close) and removes it when closed. */
export function dialog(labelledBy, build) {
  const dlg = h('dialog', {'aria-labelledby': labelledBy});
  const close = () => dlg.close();
  dlg.append(...[].concat(build(close)));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  const first = dlg.querySelector('input, select, textarea, button.btn-primary');
  if (first) first.focus();
  return dlg;
}

let uid = 0;
/** id returns a fresh element id with the given prefix, for label/for pairs. */
export function id(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** field wraps a labelled control: field('Name', input, 'hint'). */
export function field(label, control, hint, cls) {
  if (!control.id) control.id = id('f');
  const hintEl = hint ? h('div', {class: 'hint', id: control.id + '-hint'}, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', {class: 'field' + (cls ? ' ' + cls : '')}, h('label', {for: control.id}, label), control, hintEl);
}

/** select builds a <select> from [value, label] pairs. */
export function select(attrs, options, selected) {
  return h('select', attrs, options.map(([v, l]) => h('option', {value: v, selected: String(v) === String(selected)}, l)));
}

/** route builds a hash link target from path segments and an optional query object. */
export function href(segments, query) {
  let s = '#/' + segments.map((p) => encodeURIComponent(p)).join('/');
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const qs = q.toString();
    if (qs) s += '?' + qs;
  }
  return s;
}

/** pageHead renders a page title with optional breadcrumb, subtitle and actions. */
export function pageHead({title, crumbs, subtitle, actions}) {
  return h('div', {class: 'page-head'},
    h('div', {class: 'titles'},
      crumbs ? h('nav', {class: 'breadcrumb', 'aria-label': 'Breadcrumb'}, crumbs.flatMap((c, i) => [i ? ' / ' : '', h('a', {href: c[1]}, c[0])])) : null,
      h('h1', {tabindex: '-1'}, title),
      subtitle ? h('div', {class: 'subtitle'}, subtitle) : null),
    actions ? h('div', {class: 'actions'}, actions) : null);
}
