// Message browser: one partition, from the oldest or newest record, an
// offset, or a timestamp (GET .../offsets?timestamp= first), paged with
// next_offset. Its position is kept in the URL hash, so a view can be shared:
//   #/topics/orders/messages?p=0&from=offset&offset=42&n=50

import {h, replace, num, time, alert, field, select, href} from '../dom.js';
import {get, enc, describeError} from '../api.js';
import {recordRows, recordColumns} from '../records.js';

const modes = [['newest', 'Newest'], ['oldest', 'Oldest'], ['offset', 'Offset'], ['timestamp', 'Timestamp']];
const sizes = ['20', '50', '100', '500'];

export function renderBrowser(box, {topic, desc}, query) {
  const partitionSel = select({name: 'partition'}, desc.partitions.map((p) => [String(p.partition), `Partition ${p.partition}`]), '0');
  const modeSel = select({name: 'from'}, modes, 'newest');
  const offsetIn = h('input', {type: 'number', name: 'offset', min: '0', step: '1', inputmode: 'numeric', placeholder: '0'});
  const tsIn = h('input', {type: 'datetime-local', name: 'timestamp', step: '1'});
  const sizeSel = select({name: 'n'}, sizes.map((s) => [s, s]), '50');
  const offsetField = field('Offset', offsetIn);
  const tsField = field('Timestamp (local time)', tsIn);
  const form = h('form', {class: 'toolbar', novalidate: true, 'aria-label': 'Choose records'},
    field('Partition', partitionSel), field('Start from', modeSel), offsetField, tsField, field('Page size', sizeSel),
    h('button', {type: 'submit', class: 'btn btn-primary'}, 'Show records'));
  const out = h('div', {'aria-live': 'polite'});
  box.append(form, out);

  const syncFields = () => {
    offsetField.hidden = modeSel.value !== 'offset';
    tsField.hidden = modeSel.value !== 'timestamp';
  };
  modeSel.addEventListener('change', syncFields);

  const apply = (q) => {
    if (q.p !== undefined && desc.partitions.some((p) => String(p.partition) === q.p)) partitionSel.value = q.p;
    modeSel.value = modes.some(([m]) => m === q.from) ? q.from : (q.offset !== undefined ? 'offset' : 'newest');
    if (q.offset !== undefined) offsetIn.value = q.offset;
    if (q.ts !== undefined && /^\d+$/.test(q.ts)) tsIn.value = toLocalInput(Number(q.ts));
    if (sizes.includes(q.n)) sizeSel.value = q.n;
    syncFields();
  };

  // showState puts a position reached by paging back into the form.
  const showState = (state) => {
    partitionSel.value = String(state.p);
    modeSel.value = state.from;
    if (state.offset !== undefined) offsetIn.value = String(state.offset);
    if (state.ts !== undefined) tsIn.value = toLocalInput(state.ts);
    sizeSel.value = String(state.n);
    syncFields();
  };

  let seq = 0;
  const load = async (state) => {
    const mine = ++seq;
    const {p, n} = state;
    showState(state);
    const base = `/topics/${enc(topic)}/partitions/${p}`;
    history.replaceState(null, '', href(['topics', topic, 'messages'], {p, from: state.from, offset: state.offset, ts: state.ts, n}));
    replace(out, h('p', {class: 'loading'}, 'Loading records…'));
    try {
      const offs = await get(state.from === 'timestamp' ? `${base}/offsets?timestamp=${state.ts}` : `${base}/offsets`);
      let start;
      switch (state.from) {
        case 'oldest': start = offs.log_start_offset; break;
        case 'newest': start = Math.max(offs.log_start_offset, offs.high_watermark - n); break;
        case 'offset': start = state.offset; break;
        case 'timestamp':
          if (offs.offset_for_timestamp === undefined || offs.offset_for_timestamp === null) {
            if (mine === seq) replace(out, alert('info', `No record in partition ${p} has a timestamp at or after ${time(state.ts)}.`));
            return;
          }
          start = offs.offset_for_timestamp;
          break;
      }
      const res = await get(`${base}/records?offset=${start}&max_records=${n}`);
      if (mine === seq) show(res, start, state);
    } catch (err) {
      if (mine === seq) replace(out, alert('error', describeError(err)));
    }
  };

  const show = (res, start, state) => {
    const recs = res.records || [];
    const first = recs.length ? recs[0].offset : start;
    const last = recs.length ? recs[recs.length - 1].offset : null;
    const info = recs.length ?
      `Partition ${state.p} · offsets ${num(first)}–${num(last)} · log start ${num(res.log_start_offset)} · high watermark ${num(res.high_watermark)}` :
      `Partition ${state.p} · no records from offset ${num(start)} · log start ${num(res.log_start_offset)} · high watermark ${num(res.high_watermark)}`;
    const go = (offset) => load({...state, from: 'offset', offset});
    const pager = () => h('div', {class: 'pager'}, h('span', {class: 'info'}, info),
      h('button', {type: 'button', class: 'btn', disabled: first <= res.log_start_offset,
        onclick: () => go(Math.max(res.log_start_offset, first - state.n))}, '← Older'),
      h('button', {type: 'button', class: 'btn', disabled: res.next_offset >= res.high_watermark,
        onclick: () => go(res.next_offset)}, 'Newer →'),
      h('button', {type: 'button', class: 'btn', onclick: () => load({...state, from: 'newest', offset: undefined})}, 'Newest'));
    const top = pager();
    const bottom = recs.length > 10 ? pager() : null;
    const empty = res.high_watermark === res.log_start_offset ? 'This partition has no records yet.' : 'No records here.';
    replace(out, top,
      h('div', {class: 'table-wrap'}, h('table', {id: 'records-table', 'aria-label': `Records of partition ${state.p}`},
        h('thead', null, h('tr', null, recordColumns().map((c) => h('th', {scope: 'col', class: c.class || null}, c.label)))),
        h('tbody', null, recs.length ? recs.flatMap((r) => recordRows(r)) : h('tr', null, h('td', {colspan: 5, class: 'empty'}, empty))))),
      bottom);
  };

  const stateFromForm = () => {
    const state = {p: Number(partitionSel.value), from: modeSel.value, n: Number(sizeSel.value)};
    if (state.from === 'offset') state.offset = offsetIn.value.trim() === '' ? 0 : Number(offsetIn.value);
    if (state.from === 'timestamp') {
      const t = new Date(tsIn.value).getTime();
      state.ts = Number.isFinite(t) ? t : Date.now() - 3600000;
      if (!tsIn.value) tsIn.value = toLocalInput(state.ts);
    }
    return state;
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); load(stateFromForm()); });

  apply(query);
  load(stateFromForm());
  return {
    onQuery: (q) => { apply(q); load(stateFromForm()); },
    cleanup: () => { seq++; },
  };
}

function toLocalInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}
