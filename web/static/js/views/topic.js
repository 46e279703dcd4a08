// Topic detail: summary, tabs (messages, live tail, produce, partitions,
// configuration) and the add-partitions, add-replicas and delete actions.

import {h, replace, table, num, plural, bytes, duration, time, ago, badge, pageHead, alert, dialog, field, href, toast} from '../dom.js';
import {get, patch, del, enc, describeError} from '../api.js';
import {renderBrowser} from './browser.js';
import {renderLive} from './live.js';
import {renderProduce} from './produce.js';

const tabs = [
  ['messages', 'Messages'], ['live', 'Live tail'], ['produce', 'Produce'], ['partitions', 'Partitions'], ['config', 'Configuration'],
];

export function render(main, {topic, tab}, query) {
  if (!tabs.some(([t]) => t === tab)) tab = 'messages';
  const summary = h('span', null, 'Loading…');
  const addBtn = h('button', {type: 'button', class: 'btn', onclick: () => addPartitions()}, 'Add partitions');
  const replBtn = h('button', {type: 'button', class: 'btn', onclick: () => addReplicas()}, 'Add replicas');
  const delBtn = h('button', {type: 'button', class: 'btn btn-danger', onclick: () => deleteTopic(topic)}, 'Delete topic');
  const tabBox = h('div', {id: 'tab-panel', role: 'region', 'aria-label': tabs.find(([t]) => t === tab)[1]});
  main.append(
    pageHead({title: topic, crumbs: [['Topics', href(['topics'])]], subtitle: summary, actions: [addBtn, replBtn, delBtn]}),
    h('nav', {class: 'tabs', 'aria-label': 'Topic sections'}, tabs.map(([t, label]) =>
      h('a', {href: href(['topics', topic, t]), 'aria-current': t === tab ? 'page' : null}, label))),
    tabBox);

  let desc = null;
  let tabCleanup = null;
  let tabOnQuery = null;
  let alive = true;

  const describe = async () => {
    desc = await get(`/topics/${enc(topic)}`);
    const records = desc.partitions.reduce((n, p) => n + (p.high_watermark - p.log_start_offset), 0);
    const size = desc.partitions.reduce((n, p) => n + (p.size_bytes || 0), 0);
    replace(summary, `${plural(desc.partitions.length, 'partition')} · replication factor ${desc.replication_factor} · ` +
      `${plural(records, 'record')} · ${bytes(size)}`);
    return desc;
  };

  // grow asks for a larger count in a dialog and PATCHes it.
  const grow = ({id, title, label, now, hint, key, done}) => {
    if (!desc) return;
    dialog(id, (close) => {
      const n = h('input', {type: 'number', min: String(now + 1), step: '1', value: String(now + 1), inputmode: 'numeric'});
      const errBox = h('div');
      const form = h('form', {novalidate: true},
        h('h2', {id}, title),
        field(label, n, `Now ${now}. ${hint}`),
        errBox,
        h('div', {class: 'form-actions'}, h('button', {type: 'button', class: 'btn', onclick: close}, 'Cancel'),
          h('button', {type: 'submit', class: 'btn btn-primary'}, 'Update')));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        try {
          await patch(`/topics/${enc(topic)}`, {[key]: Number(n.value)});
          close();
          toast(done(n.value));
          reload();
        } catch (err) {
          replace(errBox, alert('error', describeError(err)));
        }
      });
      return form;
    });
  };
  const addPartitions = () => grow({id: 'addp-title', title: `Add partitions to ${topic}`, label: 'New partition count',
    now: desc?.partitions.length, key: 'partitions', done: (n) => `${topic} now has ${n} partitions.`,
    hint: 'Partitions can be added, never removed; keyed records may map to other partitions afterwards.'});
  const addReplicas = () => grow({id: 'addr-title', title: `Add replicas to ${topic}`, label: 'New replication factor',
    now: desc?.replication_factor, key: 'replication_factor', done: (n) => `${topic} now has replication factor ${n}.`,
    hint: 'Each partition keeps its replicas and leader; the added brokers copy its log and join the ISR once caught up. Replicas are never removed.'});

  const reload = async () => {
    if (tabCleanup) tabCleanup();
    tabCleanup = null;
    try {
      await describe();
    } catch (err) {
      if (!alive) return;
      replace(summary, '');
      addBtn.disabled = replBtn.disabled = delBtn.disabled = err.code === 'topic_not_found';
      replace(tabBox, alert('error', describeError(err)), err.code === 'topic_not_found' ?
        h('p', null, h('a', {href: href(['topics'])}, 'Back to the topic list')) : null);
      return;
    }
    if (!alive) return;
    tabBox.replaceChildren();
    const ctx = {topic, desc, refresh: describe};
    let result;
    switch (tab) {
      case 'messages': result = renderBrowser(tabBox, ctx, query); break;
      case 'live': result = renderLive(tabBox, ctx, query); break;
      case 'produce': result = renderProduce(tabBox, ctx); break;
      case 'partitions': result = renderPartitions(tabBox, ctx); break;
      case 'config': result = renderConfig(tabBox, ctx, reload); break;
    }
    tabCleanup = typeof result === 'function' ? result : result?.cleanup || null;
    tabOnQuery = result?.onQuery || null;
  };

  reload();
  return {
    cleanup: () => { alive = false; if (tabCleanup) tabCleanup(); },
    onQuery: (q) => { if (tabOnQuery) tabOnQuery(q); },
  };
}

function renderPartitions(box, {desc, refresh}) {
  const draw = (d) => {
    const rows = d.partitions.map((p) => {
      const under = p.isr.length < p.replicas.length;
      return [
        h('a', {href: href(['topics', d.name, 'messages'], {p: p.partition})}, String(p.partition)),
        String(p.leader), p.replicas.join(', '),
        h('span', {class: under ? 'danger-text' : null, title: under ? 'Under-replicated' : null}, p.isr.join(', ') + (under ? ' (under-replicated)' : '')),
        replicaStates(p),
        num(p.log_start_offset), num(p.high_watermark), num(p.log_end_offset),
        num(p.high_watermark - p.log_start_offset), bytes(p.size_bytes),
      ];
    });
    const remote = d.partitions.some((p) => (p.replica_states || []).some((r) => r.leader && r.log_end_offset === null));
    replace(box, table([{label: 'Partition', class: 'num'}, {label: 'Leader', class: 'num'}, {label: 'Replicas'}, {label: 'ISR'},
      {label: 'Replica states'},
      {label: 'Log start', class: 'num'}, {label: 'High watermark', class: 'num'}, {label: 'Log end', class: 'num'},
      {label: 'Records', class: 'num'}, {label: 'Size', class: 'num'}], rows, {label: 'Partitions', id: 'partitions-table'}),
    remote ? h('p', {class: 'hint'}, 'Replica log ends and lag are known to each partition\'s leader; for partitions led by another broker this broker shows its own replica only.') : null,
    h('div', {class: 'form-actions'}, h('button', {type: 'button', class: 'btn', onclick: async () => draw(await refresh())}, 'Refresh')));
  };
  draw(desc);
}

// replicaStates lists a partition's replicas as the answering broker sees
// them: leader, in sync or not, log end and lag (null: not known here).
function replicaStates(p) {
  const states = p.replica_states || [];
  if (!states.length) return h('span', {class: 'muted'}, '—');
  return h('ul', {class: 'replica-states'}, states.map((r) => {
    const parts = [h('span', {class: 'replica-id'}, String(r.broker))];
    if (r.leader) parts.push(badge('leader', 'info'));
    parts.push(r.in_sync ? badge('in sync', 'ok') : badge('out of sync', 'err'));
    if (r.log_end_offset !== null) parts.push(h('span', {class: 'muted'}, `log end ${num(r.log_end_offset)}`));
    if (!r.leader) parts.push(lag(r, p.leader));
    return h('li', {dataset: {broker: String(r.broker)}, title: r.last_fetch_ms ? `Last fetch ${time(r.last_fetch_ms)} (${ago(r.last_fetch_ms)})` : null}, parts);
  }));
}

function lag(r, leader) {
  if (r.lag_ms === null) return h('span', {class: 'muted lag', title: `Only the leader, broker ${leader}, knows this replica's lag`}, 'lag unknown here');
  if (r.lag_ms === 0 && r.lag_records === 0) return h('span', {class: 'lag'}, 'caught up');
  const records = r.lag_records === null ? 'not heard from' : `${plural(r.lag_records, 'record')} behind`;
  return h('span', {class: 'lag warn-text'}, `${records} for ${duration(r.lag_ms)}`);
}

const units = {'retention.ms': 'ms', 'retention.bytes': 'bytes', 'max.message.bytes': 'bytes', 'replica.lag.time.max.ms': 'ms', 'segment.ms': 'ms', 'segment.bytes': 'bytes'};

function renderConfig(box, {topic, desc}, reload) {
  const inputs = new Map();
  const errBox = h('div');
  const rows = Object.keys(desc.config).sort().map((k) => {
    const v = desc.config[k];
    const input = h('input', {type: 'number', step: '1', value: String(v), 'aria-label': k, class: 'mono', name: k});
    inputs.set(k, input);
    const kind = units[k] || (k.endsWith('.ms') ? 'ms' : k.endsWith('.bytes') ? 'bytes' : '');
    const human = kind === 'ms' ? duration(Number(v)) : kind === 'bytes' ? bytes(Number(v)) : (Number(v) === -1 ? 'unlimited' : '');
    return [h('code', null, k), input, h('span', {class: 'muted'}, human)];
  });
  const form = h('form', {novalidate: true, id: 'config-form'},
    table([{label: 'Key'}, {label: 'Value'}, {label: 'Meaning'}], rows, {label: 'Configuration'}),
    errBox,
    h('p', {class: 'hint'}, 'Values are numbers; -1 means unlimited. Only changed keys are sent (PATCH).'),
    h('div', {class: 'form-actions'}, h('button', {type: 'submit', class: 'btn btn-primary'}, 'Save changes')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const changed = {};
    for (const [k, input] of inputs) {
      if (input.value.trim() !== String(desc.config[k])) changed[k] = Number(input.value);
    }
    if (!Object.keys(changed).length) { replace(errBox, alert('info', 'Nothing changed.')); return; }
    try {
      await patch(`/topics/${enc(topic)}`, {config: changed});
      toast(`Configuration of ${topic} saved.`);
      reload();
    } catch (err) {
      replace(errBox, alert('error', describeError(err)));
    }
  });
  box.append(form);
}

function deleteTopic(topic) {
  dialog('del-title', (close) => {
    const confirmInput = h('input', {autocomplete: 'off', spellcheck: 'false'});
    const errBox = h('div');
    const submit = h('button', {type: 'submit', class: 'btn btn-danger solid', disabled: true}, 'Delete topic');
    confirmInput.addEventListener('input', () => { submit.disabled = confirmInput.value !== topic; });
    const form = h('form', {novalidate: true},
      h('h2', {id: 'del-title'}, `Delete topic ${topic}?`),
      h('p', null, 'Its records are removed and every consumer group\'s offsets for it are dropped. This cannot be undone.'),
      field('Type the topic name to confirm', confirmInput),
      errBox,
      h('div', {class: 'form-actions'}, h('button', {type: 'button', class: 'btn', onclick: close}, 'Cancel'), submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (confirmInput.value !== topic) return;
      try {
        await del(`/topics/${enc(topic)}`);
        close();
        toast(`Topic ${topic} deleted.`);
        location.hash = href(['topics']);
      } catch (err) {
        replace(errBox, alert('error', describeError(err)));
      }
    });
    return form;
  });
}
