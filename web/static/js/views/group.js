// One consumer group: GET /groups/{g} (members, assignments, offsets) and
// GET /groups/{g}/lag (statuses, commit windows), refreshed every 3 s; a
// total-lag chart seeded from the commit windows and extended by sampling;
// offset reset (PUT /groups/{g}/offsets) and delete while the group is empty.

import {h, replace, table, num, pageHead, alert, statusBadge, poller, href, ago, time, field, select, dialog, toast} from '../dom.js';
import {get, put, del, enc, describeError} from '../api.js';
import {timeChart} from '../chart.js';

const SAMPLE_MS = 3000;
const KEEP_SECONDS = 1800;

export function render(main, {group}) {
  const base = `/groups/${enc(group)}`;
  const subtitle = h('span', null, 'Loading…');
  const delBtn = h('button', {type: 'button', class: 'btn btn-danger', disabled: true, onclick: () => deleteGroup()}, 'Delete group');
  const stat = (label, id) => h('div', {class: 'stat'}, h('div', {class: 'label'}, label), h('div', {class: 'value', id}, '—'));
  const errBox = h('div');
  const chartEl = h('div', {class: 'chart', role: 'img', 'aria-label': `Total lag of ${group} over time`});
  const membersBox = h('div');
  const partsBox = h('div');
  const reset = resetForm(group, base, () => load());
  main.append(
    pageHead({title: group, crumbs: [['Consumer groups', href(['groups'])]], subtitle, actions: [delBtn]}),
    errBox,
    h('div', {class: 'stats'}, stat('State', 'g-state'), stat('Status', 'g-status'), stat('Members', 'g-members'),
      stat('Total lag', 'g-lag'), stat('Generation', 'g-gen')),
    h('section', {class: 'card', 'aria-labelledby': 'lagchart-h'}, h('h2', {id: 'lagchart-h'}, 'Total lag over time'), chartEl,
      h('p', {class: 'hint'}, 'From the commit windows the broker keeps, then sampled every 3 s while this page is open.')),
    h('section', {class: 'card', 'aria-labelledby': 'parts-h'}, h('h2', {id: 'parts-h'}, 'Partitions'), partsBox),
    h('div', {class: 'grid'},
      h('section', {class: 'card', 'aria-labelledby': 'members-h'}, h('h2', {id: 'members-h'}, 'Members'), membersBox),
      h('section', {class: 'card', 'aria-labelledby': 'reset-h'}, h('h2', {id: 'reset-h'}, 'Reset offsets'), reset.el)));

  const chart = timeChart(chartEl, {series: [{label: 'total lag', color: '--series-1'}], yLabel: 'records', windowSeconds: 60});
  const samples = [[], []];
  let seeded = false;
  let state = null;

  const set = (id, v) => { replace(main.querySelector('#' + id), v); };

  const load = async () => {
    let d; let l;
    try {
      [d, l] = await Promise.all([get(base), get(`${base}/lag`).catch((err) => err)]);
    } catch (err) {
      replace(errBox, alert('error', describeError(err)));
      return;
    }
    replace(errBox, l instanceof Error ? alert('error', `Lag is unavailable: ${describeError(l)}`) : null);
    const lag = l instanceof Error ? null : l;
    state = d.state;
    replace(subtitle, `Assignor ${d.assignor || '—'} · generation ${d.generation ?? '—'}`);
    set('g-state', statusBadge(d.state));
    set('g-status', lag ? statusBadge(lag.status) : '—');
    set('g-members', num((d.members || []).length));
    set('g-gen', num(d.generation));
    const total = lag ? lag.total_lag : (d.offsets || []).reduce((n, o) => n + (o.lag || 0), 0);
    set('g-lag', num(total));
    delBtn.disabled = d.state !== 'empty';
    delBtn.title = d.state === 'empty' ? '' : 'Only an empty group can be deleted';
    renderMembers(membersBox, d);
    renderPartitions(partsBox, d, lag);
    reset.update(d, lag);
    const now = Date.now() / 1000;
    if (!seeded && lag) { seed(samples, lag, now); seeded = true; }
    samples[0].push(now);
    samples[1].push(total);
    while (samples[0].length && samples[0][0] < now - KEEP_SECONDS) samples.forEach((s) => s.shift());
    chart.set(samples.map((s) => s.slice()));
  };

  const deleteGroup = () => {
    if (state !== 'empty') return;
    dialog('delg-title', (close) => {
      const errBox2 = h('div');
      const form = h('form', {novalidate: true},
        h('h2', {id: 'delg-title'}, `Delete group ${group}?`),
        h('p', null, 'Its committed offsets are deleted. This cannot be undone.'), errBox2,
        h('div', {class: 'form-actions'}, h('button', {type: 'button', class: 'btn', onclick: close}, 'Cancel'),
          h('button', {type: 'submit', class: 'btn btn-danger solid'}, 'Delete group')));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        try {
          await del(base);
          close();
          toast(`Group ${group} deleted.`);
          location.hash = href(['groups']);
        } catch (err) {
          replace(errBox2, alert('error', describeError(err)));
        }
      });
      return form;
    });
  };

  const stop = poller(load, SAMPLE_MS);
  return () => { stop(); chart.destroy(); };
}

const toMs = (v) => (typeof v === 'string' ? Date.parse(v) : v);
const committed = (v) => (v === null || v === undefined || v < 0 ? '—' : num(v));

// seed fills the chart with total lag at past commits: at each commit time,
// the sum over partitions of the lag at their latest commit by then (only
// from the time every partition had committed once).
function seed(samples, lag, now) {
  const parts = (lag.partitions || []).filter((p) => p.window && p.window.length);
  if (!parts.length) return;
  const from = Math.max(...parts.map((p) => toMs(p.window[0].timestamp)));
  const times = [...new Set(parts.flatMap((p) => p.window.map((w) => toMs(w.timestamp))))].filter((t) => t >= from).sort((a, b) => a - b);
  for (const t of times) {
    if (t / 1000 >= now || t / 1000 < now - KEEP_SECONDS) continue;
    let sum = 0;
    for (const p of parts) {
      const last = p.window.filter((w) => toMs(w.timestamp) <= t).pop();
      sum += last ? last.lag : 0;
    }
    samples[0].push(t / 1000);
    samples[1].push(sum);
  }
}

function renderMembers(box, d) {
  const rows = (d.members || []).map((m) => {
    const byTopic = new Map();
    for (const a of m.assignments || []) byTopic.set(a.topic, [...(byTopic.get(a.topic) || []), a.partition]);
    const assigned = [...byTopic].map(([t, ps]) => `${t} [${ps.sort((a, b) => a - b).join(', ')}]`).join('; ');
    return [h('span', {class: 'mono'}, m.member_id), assigned || h('span', {class: 'muted'}, 'none yet'),
      h('span', {title: time(toMs(m.last_seen))}, ago(toMs(m.last_seen)))];
  });
  replace(box, table([{label: 'Member'}, {label: 'Assignments'}, {label: 'Last seen'}], rows,
    {label: 'Members', id: 'members-table', empty: 'No members: the group is empty.'}));
}

function renderPartitions(box, d, lag) {
  const owner = new Map();
  for (const m of d.members || []) for (const a of m.assignments || []) owner.set(`${a.topic}/${a.partition}`, m.member_id);
  const byKey = new Map();
  for (const o of d.offsets || []) byKey.set(`${o.topic}/${o.partition}`, {...o});
  for (const p of lag?.partitions || []) byKey.set(`${p.topic}/${p.partition}`, {...byKey.get(`${p.topic}/${p.partition}`), ...p});
  const rows = [...byKey.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition).map((p) => {
    const lastCommit = p.window?.length ? toMs(p.window[p.window.length - 1].timestamp) : null;
    return [
      h('a', {href: href(['topics', p.topic])}, p.topic), String(p.partition), num(p.lag),
      p.status ? statusBadge(p.status) : '—',
      committed(p.committed_offset), num(p.high_watermark),
      owner.has(`${p.topic}/${p.partition}`) ? h('span', {class: 'mono'}, owner.get(`${p.topic}/${p.partition}`)) : h('span', {class: 'muted'}, '—'),
      lastCommit ? h('span', {title: time(lastCommit)}, ago(lastCommit)) : '—',
    ];
  });
  replace(box, table([{label: 'Topic'}, {label: 'Partition', class: 'num'}, {label: 'Lag', class: 'num'}, {label: 'Status'},
    {label: 'Committed', class: 'num'}, {label: 'High watermark', class: 'num'}, {label: 'Owner', class: 'hide-sm'},
    {label: 'Last commit', class: 'hide-sm'}], rows,
  {label: 'Partition offsets and lag', id: 'group-partitions-table', empty: 'No committed offsets yet.'}));
}

// resetForm builds the offset-reset form; update() refreshes its choices
// and whether it is enabled (only an empty group's offsets can be reset).
function resetForm(group, base, onDone) {
  const topicSel = select({name: 'topic'}, [], '');
  const toSel = select({name: 'to'}, [['earliest', 'Earliest'], ['latest', 'Latest'], ['timestamp', 'Timestamp'], ['offset', 'Specific offset']], 'earliest');
  const tsIn = h('input', {type: 'datetime-local', step: '1'});
  const partIn = h('input', {type: 'number', min: '0', step: '1', value: '0', inputmode: 'numeric'});
  const offIn = h('input', {type: 'number', min: '0', step: '1', value: '0', inputmode: 'numeric'});
  const tsField = field('Timestamp (local time)', tsIn);
  const offRow = h('div', {class: 'field-row'}, field('Partition', partIn), field('Offset', offIn));
  const note = h('p', {class: 'hint', id: 'reset-note'});
  const result = h('div', {'aria-live': 'polite'});
  const fs = h('fieldset', null, h('legend', {class: 'visually-hidden'}, 'Reset target'),
    h('div', {class: 'field-row'}, field('Topic', topicSel), field('Reset to', toSel)), tsField, offRow,
    h('div', {class: 'form-actions'}, h('button', {type: 'submit', class: 'btn btn-primary'}, 'Reset offsets')));
  const el = h('form', {novalidate: true, id: 'reset-form'}, note, fs, result);
  const sync = () => { tsField.hidden = toSel.value !== 'timestamp'; offRow.hidden = toSel.value !== 'offset'; };
  toSel.addEventListener('change', sync);
  sync();
  let topics = [];
  let allTopics = null;
  get('/topics').then((r) => { allTopics = r.topics.filter((t) => !t.internal).map((t) => t.name); fill(); }).catch(() => {});
  const fill = () => {
    const names = [...new Set([...topics, ...(allTopics || [])])].sort();
    const cur = topicSel.value;
    if (names.join('\n') === [...topicSel.options].map((o) => o.value).join('\n')) return;
    topicSel.replaceChildren(...names.map((n) => h('option', {value: n, selected: n === cur}, n)));
  };
  el.addEventListener('submit', (e) => {
    e.preventDefault();
    const topic = topicSel.value;
    if (!topic) { replace(result, alert('error', 'Choose a topic.')); return; }
    let body; let what;
    switch (toSel.value) {
      case 'timestamp': {
        const t = new Date(tsIn.value).getTime();
        if (!Number.isFinite(t)) { replace(result, alert('error', 'Choose a timestamp.')); return; }
        body = {topic, to: {timestamp: t}}; what = `the first offset at or after ${time(t)}`;
        break;
      }
      case 'offset':
        body = {offsets: [{topic, partition: Number(partIn.value), offset: Number(offIn.value)}]};
        what = `offset ${offIn.value} on partition ${partIn.value}`;
        break;
      default: body = {topic, to: toSel.value}; what = `the ${toSel.value} offsets`;
    }
    dialog('reset-title', (close) => {
      const errBox = h('div');
      const form = h('form', {novalidate: true},
        h('h2', {id: 'reset-title'}, 'Reset offsets?'),
        h('p', null, `Group ${group} will resume ${topic} from ${what}.`), errBox,
        h('div', {class: 'form-actions'}, h('button', {type: 'button', class: 'btn', onclick: close}, 'Cancel'),
          h('button', {type: 'submit', class: 'btn btn-primary'}, 'Reset')));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        try {
          await put(`${base}/offsets`, body);
          close();
          replace(result, alert('ok', `Offsets of ${topic} reset.`));
          onDone();
        } catch (err) {
          replace(errBox, alert('error', describeError(err)));
        }
      });
      return form;
    });
  });
  return {
    el,
    update(d, lag) {
      topics = [...new Set([...(d.offsets || []), ...(lag?.partitions || [])].map((o) => o.topic))];
      fill();
      const empty = d.state === 'empty';
      fs.disabled = !empty;
      note.textContent = empty ? 'The group has no members: its committed offsets can be changed.' :
        'Offsets can be reset only while the group has no members (state empty). Stop its consumers first.';
    },
  };
}
