// Rendering of records as the API returns them: a JSON `value` is
// pretty-printed (numbers keep their exact spelling), a `value_base64` is
// shown as text when its bytes are printable UTF-8 and as a hex dump
// otherwise (with a toggle between the two). Keys the same way.

import {h, time, num} from './dom.js';
import {RawNumber} from './api.js';

/** decodeBase64 turns standard base64 into bytes. */
export function decodeBase64(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** encodeBase64 turns bytes into standard base64. */
export function encodeBase64(u8) {
  let bin = '';
  for (let i = 0; i < u8.length; i += 0x8000) bin += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return btoa(bin);
}

const utf8 = new TextDecoder('utf-8', {fatal: true});

/** bytesAsText returns the bytes as a string when they are UTF-8 without control characters, else null. */
export function bytesAsText(u8) {
  let s;
  try { s = utf8.decode(u8); } catch { return null; }
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(s) ? null : s;
}

/** hexDump formats bytes as offset, 16 hex bytes and their ASCII. */
export function hexDump(u8, max = 4096) {
  const lines = [];
  const n = Math.min(u8.length, max);
  for (let off = 0; off < n; off += 16) {
    const row = u8.subarray(off, Math.min(off + 16, n));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  if (u8.length > max) lines.push(`… ${num(u8.length - max)} more bytes`);
  return lines.join('\n');
}

/** jsonTokens flattens a parsed JSON value into [kind, text] tokens, indented when indent > 0. */
function jsonTokens(v, indent, depth = 0, out = []) {
  const nl = indent ? '\n' + ' '.repeat(indent * (depth + 1)) : '';
  const end = indent ? '\n' + ' '.repeat(indent * depth) : '';
  if (v === null || typeof v === 'boolean') out.push(['lit', String(v)]);
  else if (typeof v === 'number' || v instanceof RawNumber) out.push(['num', String(v)]);
  else if (typeof v === 'string') out.push(['str', JSON.stringify(v)]);
  else if (Array.isArray(v)) {
    if (!v.length) { out.push(['p', '[]']); return out; }
    out.push(['p', '[']);
    v.forEach((item, i) => {
      out.push(['p', (i ? ',' : '') + nl]);
      jsonTokens(item, indent, depth + 1, out);
    });
    out.push(['p', end + ']']);
  } else {
    const keys = Object.keys(v);
    if (!keys.length) { out.push(['p', '{}']); return out; }
    out.push(['p', '{']);
    keys.forEach((k, i) => {
      out.push(['p', (i ? ',' : '') + nl]);
      out.push(['key', JSON.stringify(k)]);
      out.push(['p', indent ? ': ' : ':']);
      jsonTokens(v[k], indent, depth + 1, out);
    });
    out.push(['p', end + '}']);
  }
  return out;
}

/** compactJSON is the one-line JSON text of v. */
export function compactJSON(v) {
  return jsonTokens(v, 0).map((t) => t[1]).join('');
}

/** prettyJSON renders v indented, with token colours, as nodes for a <pre>. */
export function prettyJSON(v) {
  const cls = {key: 'j-key', str: 'j-str', num: 'j-num', lit: 'j-lit'};
  return jsonTokens(v, 2).map(([kind, text]) => (cls[kind] ? h('span', {class: cls[kind]}, text) : text));
}

/**
 * payload describes a record's key or value: {kind: 'null'|'json'|'text'|'bytes',
 * value (json), text, bytes}. field is 'key' or 'value'.
 */
export function payload(rec, field) {
  if (rec[field + '_base64'] !== undefined && rec[field + '_base64'] !== null) {
    const u8 = decodeBase64(rec[field + '_base64']);
    const text = bytesAsText(u8);
    return {kind: text === null ? 'bytes' : 'text', text, bytes: u8};
  }
  const v = rec[field];
  if (v === undefined || v === null) return {kind: 'null'};
  if (field === 'key') return {kind: 'text', label: 'string', text: String(v), bytes: new TextEncoder().encode(String(v))};
  return {kind: 'json', value: v};
}

/** preview is a one-line rendering of a key or value for table cells. */
export function preview(p, max = 300) {
  let s;
  switch (p.kind) {
    case 'null': return h('span', {class: 'muted'}, 'null');
    case 'json': s = compactJSON(p.value); break;
    case 'text': s = p.text; break;
    default: s = '0x' + Array.from(p.bytes.subarray(0, 64), (b) => b.toString(16).padStart(2, '0')).join('');
  }
  return s.length > max ? s.slice(0, max) + '…' : s;
}

const kindLabel = {json: 'JSON', text: 'bytes · UTF-8 text', bytes: 'bytes', null: 'null'};

/** payloadView is the full rendering of a key or value with a text/hex toggle for bytes. */
export function payloadView(title, p) {
  const pre = h('pre', {class: 'value'});
  const head = h('h3', null, title, h('span', {class: 'badge'}, (p.label || kindLabel[p.kind]) + (p.bytes ? ` · ${num(p.bytes.length)} B` : '')));
  const show = (mode) => {
    pre.classList.toggle('hex', mode === 'hex' || p.kind === 'bytes');
    if (p.kind === 'null') pre.replaceChildren(h('span', {class: 'j-lit'}, 'null'));
    else if (p.kind === 'json') pre.replaceChildren(...prettyJSON(p.value));
    else if (mode === 'hex' || p.kind === 'bytes') pre.replaceChildren(hexDump(p.bytes));
    else pre.replaceChildren(...textView(p.text));
  };
  if (p.kind === 'text') {
    const buttons = ['text', 'hex'].map((mode) => h('button', {type: 'button', 'aria-pressed': mode === 'text' ? 'true' : 'false',
      onclick: () => { buttons.forEach((b) => b.setAttribute('aria-pressed', String(b === buttons[mode === 'text' ? 0 : 1]))); show(mode); }},
    mode === 'text' ? 'Text' : 'Hex'));
    head.append(h('span', {class: 'seg', role: 'group', 'aria-label': `${title} format`}, buttons));
  }
  show('text');
  return h('section', null, head, pre);
}

// textView pretty-prints text that happens to be JSON, otherwise shows it as is.
function textView(text) {
  const t = text.trim();
  if ((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'))) {
    try { return prettyJSON(JSON.parse(t)); } catch { /* plain text */ }
  }
  return [text];
}

/** recordDetail shows everything about one record. */
export function recordDetail(rec) {
  const headers = Object.entries(rec.headers || {});
  return h('div', {class: 'record-detail'},
    payloadView('Value', payload(rec, 'value')),
    h('section', null,
      payloadView('Key', payload(rec, 'key')),
      h('h3', null, 'Headers'),
      headers.length ? h('dl', {class: 'facts mono'}, headers.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)])) :
        h('p', {class: 'muted'}, 'No headers.'),
      h('h3', null, 'Metadata'),
      h('dl', {class: 'facts'},
        rec.topic !== undefined ? [h('dt', null, 'Topic'), h('dd', null, rec.topic)] : null,
        rec.partition !== undefined ? [h('dt', null, 'Partition'), h('dd', null, rec.partition)] : null,
        h('dt', null, 'Offset'), h('dd', null, String(rec.offset)),
        h('dt', null, 'Timestamp'), h('dd', null, `${time(rec.timestamp)} (${rec.timestamp})`))));
}

/**
 * recordRows renders a record as a summary row plus a hidden detail row,
 * toggled by the offset button. withPartition adds a partition column.
 */
export function recordRows(rec, {withPartition = false, fresh = false} = {}) {
  const ncols = withPartition ? 6 : 5;
  const detail = h('tr', {class: 'detail', hidden: true}, h('td', {colspan: ncols}));
  const btn = h('button', {type: 'button', class: 'expander', 'aria-expanded': 'false',
    'aria-label': `Show record at offset ${rec.offset}${withPartition ? ` of partition ${rec.partition}` : ''}`}, '▸ ' + String(rec.offset));
  btn.addEventListener('click', () => {
    const open = detail.hidden;
    detail.hidden = !open;
    btn.setAttribute('aria-expanded', String(open));
    btn.textContent = (open ? '▾ ' : '▸ ') + String(rec.offset);
    if (open && !detail.firstChild.firstChild) detail.firstChild.append(recordDetail(rec));
  });
  const hc = Object.keys(rec.headers || {}).length;
  const row = h('tr', {class: fresh ? 'fresh' : null, dataset: {offset: String(rec.offset), partition: String(rec.partition ?? '')}},
    withPartition ? h('td', {class: 'num'}, String(rec.partition)) : null,
    h('td', {class: 'nowrap mono'}, btn),
    h('td', {class: 'nowrap hide-sm'}, time(rec.timestamp)),
    h('td', {class: 'key'}, preview(payload(rec, 'key'), 120)),
    h('td', {class: 'preview'}, preview(payload(rec, 'value'))),
    h('td', {class: 'num hide-sm'}, hc ? String(hc) : ''));
  return [row, detail];
}

/** recordColumns are the header cells matching recordRows. */
export function recordColumns(withPartition = false) {
  return [
    withPartition ? {label: 'Partition', class: 'num'} : null,
    {label: 'Offset'}, {label: 'Timestamp', class: 'hide-sm'}, {label: 'Key'}, {label: 'Value'}, {label: 'Headers', class: 'num hide-sm'},
  ].filter(Boolean);
}
