// Topic list (GET /topics, then GET /topics/{t} for record counts and sizes)
// and the create-topic dialog (POST /topics; the API's problem detail is
// shown inline, the API being the one judge of what is valid).

import {h, replace, table, num, bytes, duration, pageHead, alert, dialog, field, select, href} from '../dom.js';
import {get, post, enc, describeError, mapLimit} from '../api.js';

export function render(main, params, query) {
  const filter = h('input', {type: 'search', class: 'search', placeholder: 'Filter by name', value: query.q || '', 'aria-label': 'Filter topics by name'});
  const internal = h('input', {type: 'checkbox', id: 'show-internal'});
  const listBox = h('div', null, h('p', {class: 'loading'}, 'Loading topics…'));
  const createBtn = h('button', {type: 'button', class: 'btn btn-primary', onclick: () => createDialog()}, 'Create topic');
  const refreshBtn = h('button', {type: 'button', class: 'btn', onclick: () => load()}, 'Refresh');
  main.append(
    pageHead({title: 'Topics', actions: [refreshBtn, createBtn]}),
    h('div', {class: 'toolbar'}, filter,
      h('label', {class: 'inline-choice', for: 'show-internal'}, internal, 'Show internal topics')),
    listBox);

  let topics = [];
  let details = new Map();
  let alive = true;

  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const shown = topics.filter((t) => (internal.checked || !t.internal) && (!q || t.name.toLowerCase().includes(q)));
    const rows = shown.map((t) => {
      const d = details.get(t.name);
      const ok = d && !(d instanceof Error);
      const records = ok ? d.partitions.reduce((n, p) => n + (p.high_watermark - p.log_start_offset), 0) : null;
      const size = ok ? d.partitions.reduce((n, p) => n + (p.size_bytes || 0), 0) : null;
      return [
        h('a', {href: href(['topics', t.name])}, t.name, t.internal ? h('span', {class: 'badge tag'}, 'internal') : null),
        num(t.partitions), num(t.replication_factor),
        d ? (ok ? num(records) : h('span', {class: 'danger-text', title: describeError(d)}, 'error')) : '…',
        ok ? bytes(size) : '…',
        ok ? duration(d.config?.['retention.ms']) : '…',
      ];
    });
    replace(listBox, table([{label: 'Name'}, {label: 'Partitions', class: 'num'}, {label: 'Replication', class: 'num'},
      {label: 'Records', class: 'num'}, {label: 'Size', class: 'num'}, {label: 'Retention', class: 'num hide-sm'}], rows,
    {label: 'Topics', id: 'topics-table', empty: topics.length ? 'No topic matches the filter.' : 'No topics yet. Create one to get started.'}));
  };

  const load = async () => {
    try {
      const res = await get('/topics');
      if (!alive) return;
      topics = res.topics.sort((a, b) => a.name.localeCompare(b.name));
      details = new Map([...details].filter(([name]) => topics.some((t) => t.name === name)));
      draw();
      await mapLimit(topics, 4, async (t) => {
        const d = await get(`/topics/${enc(t.name)}`).catch((err) => err);
        if (!alive) return;
        details.set(t.name, d);
        draw();
      });
    } catch (err) {
      if (alive) replace(listBox, alert('error', describeError(err)));
    }
  };

  filter.addEventListener('input', () => {
    draw();
    const q = filter.value.trim();
    history.replaceState(null, '', q ? `#/topics?q=${encodeURIComponent(q)}` : '#/topics');
  });
  internal.addEventListener('change', draw);
  if (query.create !== undefined) createDialog();
  load();
  return {cleanup: () => { alive = false; }, onQuery: () => {}};
}

const retentionUnits = [['3600000', 'hours'], ['86400000', 'days'], ['60000', 'minutes'], ['1', 'milliseconds']];

/** createDialog asks for a new topic's settings and creates it. */
export function createDialog() {
  dialog('create-title', (close) => {
    const name = h('input', {name: 'name', autocomplete: 'off', spellcheck: 'false', required: true});
    const partitions = h('input', {name: 'partitions', type: 'number', min: '1', step: '1', value: '1', inputmode: 'numeric'});
    const rf = h('input', {name: 'replication_factor', type: 'number', min: '1', step: '1', placeholder: 'broker default', inputmode: 'numeric'});
    const retention = h('input', {name: 'retention', type: 'number', min: '1', step: 'any', placeholder: 'broker default', 'aria-describedby': 'retention-hint'});
    const unit = select({name: 'retention_unit', 'aria-label': 'Retention unit'}, [...retentionUnits, ['-1', 'unlimited']], '86400000');
    const errBox = h('div', {id: 'create-error'});
    const submit = h('button', {type: 'submit', class: 'btn btn-primary'}, 'Create');
    unit.addEventListener('change', () => { retention.disabled = unit.value === '-1'; });
    const form = h('form', {novalidate: true, 'aria-describedby': 'create-error'},
      h('h2', {id: 'create-title'}, 'Create topic'),
      field('Name', name, 'Letters, digits, ".", "_" and "-"; up to 249 characters.'),
      h('div', {class: 'field-row'}, field('Partitions', partitions), field('Replication factor', rf)),
      h('div', {class: 'field-row'}, field('Retention', retention),
        h('div', {class: 'field'}, h('label', {for: 'retention-unit'}, 'Unit'), Object.assign(unit, {id: 'retention-unit'}))),
      h('p', {class: 'hint', id: 'retention-hint'}, 'Leave retention empty for the broker default.'),
      errBox,
      h('div', {class: 'form-actions'}, h('button', {type: 'button', class: 'btn', onclick: close}, 'Cancel'), submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = {name: name.value.trim()};
      const p = partitions.value.trim();
      if (p !== '') body.partitions = Number(p);
      if (rf.value.trim() !== '') body.replication_factor = Number(rf.value);
      if (unit.value === '-1') body.config = {'retention.ms': -1};
      else if (retention.value.trim() !== '') body.config = {'retention.ms': Math.round(Number(retention.value) * Number(unit.value))};
      submit.disabled = true;
      name.removeAttribute('aria-invalid');
      try {
        await post('/topics', body);
        close();
        location.hash = href(['topics', body.name]);
      } catch (err) {
        replace(errBox, alert('error', describeError(err)));
        if (err.code === 'invalid_topic_name' || err.code === 'topic_exists') {
          name.setAttribute('aria-invalid', 'true');
          name.focus();
        }
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  });
}
