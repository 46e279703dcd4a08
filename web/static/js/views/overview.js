// Overview: brokers and controller (GET /cluster), totals (GET /topics),
// produce/consume rates from GET /metrics counters, group health (GET /lag).

import {h, replace, table, statusBadge, badge, num, rate, pageHead, poller, alert, href} from '../dom.js';
import {get, describeError} from '../api.js';
import {sumMetric, RateTracker} from '../metrics.js';
import {timeChart} from '../chart.js';

const IN = 'fjord_records_produced_total';
const OUT = 'fjord_records_read_total';
const KEEP_SECONDS = 300;

export function render(main) {
  const stat = (label, id) => h('div', {class: 'stat'}, h('div', {class: 'label', id: id + '-label'}, label),
    h('div', {class: 'value', id, 'aria-labelledby': id + '-label'}, '—'));
  const stats = h('div', {class: 'stats', role: 'group', 'aria-label': 'Cluster totals'},
    stat('Brokers', 'st-brokers'), stat('Controller', 'st-controller'), stat('Topics', 'st-topics'),
    stat('Partitions', 'st-partitions'), stat('Records in /s', 'st-in'), stat('Records out /s', 'st-out'),
    stat('Consumer groups', 'st-groups'));
  const brokersBox = h('div', null, h('p', {class: 'loading'}, 'Loading brokers…'));
  const factsBox = h('div');
  const chartEl = h('div', {class: 'chart', role: 'img', 'aria-label': 'Records per second in and out over the last five minutes'});
  const errBox = h('div');
  main.append(
    pageHead({title: 'Overview', subtitle: 'Cluster health and throughput'}),
    errBox,
    stats,
    h('div', {class: 'grid'},
      h('section', {class: 'card', 'aria-labelledby': 'brokers-h'}, h('h2', {id: 'brokers-h'}, 'Brokers'), brokersBox, factsBox),
      h('section', {class: 'card', 'aria-labelledby': 'tp-h'}, h('h2', {id: 'tp-h'}, 'Throughput'), chartEl,
        h('p', {class: 'hint'}, 'Records per second, from this broker\'s ', h('a', {href: '/metrics'}, '/metrics'),
          ' counters (', h('code', null, IN), ', ', h('code', null, OUT), '), sampled every 2 s.'))));

  const set = (id, v) => { main.querySelector('#' + id).textContent = v; };
  const chart = timeChart(chartEl, {series: [{label: 'in', color: '--series-1'}, {label: 'out', color: '--series-2'}], yLabel: 'records/s', windowSeconds: 60});
  const samples = [[], [], []];
  const tracker = new RateTracker([IN, OUT]);

  const loadCluster = async () => {
    try {
      const [cluster, topics] = await Promise.all([get('/cluster'), get('/topics')]);
      replace(errBox);
      renderCluster(cluster, brokersBox, factsBox);
      const alive = cluster.brokers.filter((b) => b.status === 'alive').length;
      set('st-brokers', `${alive} / ${cluster.brokers.length}`);
      set('st-controller', cluster.controller_id > 0 ? `#${cluster.controller_id}` : 'none (no majority)');
      const visible = topics.topics.filter((t) => !t.internal);
      set('st-topics', num(visible.length));
      set('st-partitions', num(visible.reduce((n, t) => n + t.partitions, 0)));
    } catch (err) {
      replace(errBox, alert('error', describeError(err)));
    }
    try {
      const lag = await get('/lag');
      const groups = lag.groups || [];
      const bad = groups.filter((g) => g.status !== 'OK').length;
      replace(main.querySelector('#st-groups'), num(groups.length), bad ? h('small', null, ` · ${bad} not OK`) : null);
    } catch {
      set('st-groups', '—');
    }
  };

  const loadMetrics = async () => {
    const text = await get('/metrics', {text: true});
    const now = Date.now();
    const rates = tracker.add(now, {[IN]: sumMetric(text, IN), [OUT]: sumMetric(text, OUT)});
    if (!rates) return;
    set('st-in', rate(rates[IN]));
    set('st-out', rate(rates[OUT]));
    samples[0].push(now / 1000);
    samples[1].push(rates[IN]);
    samples[2].push(rates[OUT]);
    while (samples[0].length && samples[0][0] < now / 1000 - KEEP_SECONDS) samples.forEach((s) => s.shift());
    chart.set(samples.map((s) => s.slice()));
  };

  const stops = [poller(loadCluster, 5000), poller(loadMetrics, 2000)];
  return () => { stops.forEach((s) => s()); chart.destroy(); };
}

function renderCluster(cluster, box, facts) {
  const rows = [...cluster.brokers].sort((a, b) => a.id - b.id).map((b) => [
    String(b.id),
    h('span', {class: 'mono'}, b.http_addr),
    statusBadge(b.status),
    b.id === cluster.controller_id ? badge('controller', 'info') : '',
  ]);
  replace(box, table([{label: 'ID', class: 'num'}, {label: 'Address'}, {label: 'Status'}, {label: 'Role'}], rows,
    {label: 'Brokers', id: 'brokers-table', empty: 'No brokers.'}));
  replace(facts, h('dl', {class: 'facts spaced'},
    h('dt', null, 'Cluster ID'), h('dd', {class: 'mono'}, cluster.cluster_id),
    h('dt', null, 'Metadata version'), h('dd', null, num(cluster.metadata_version)),
    h('dt', null, 'Explore'), h('dd', null, h('a', {href: href(['topics'])}, 'Topics'), ' · ',
      h('a', {href: href(['groups'])}, 'Consumer groups'), ' · ', h('a', {href: '/docs'}, 'API docs'))));
}
