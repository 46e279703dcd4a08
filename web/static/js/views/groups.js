// Consumer group list: GET /groups (state, members) joined with GET /lag
// (status, total lag, worst partition), refreshed every 5 s.

import {h, replace, table, num, pageHead, alert, statusBadge, poller, href} from '../dom.js';
import {get, describeError} from '../api.js';

export function render(main, params, query) {
  const filter = h('input', {type: 'search', class: 'search', placeholder: 'Filter by name', value: query.q || '', 'aria-label': 'Filter groups by name'});
  const listBox = h('div', null, h('p', {class: 'loading'}, 'Loading consumer groups…'));
  main.append(
    pageHead({title: 'Consumer groups', subtitle: 'State, members and lag status (Burrow rules); refreshed every 5 s'}),
    h('div', {class: 'toolbar'}, filter),
    listBox);

  let groups = [];
  let lag = new Map();
  let lagError = null;

  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const rows = groups.filter((g) => !q || g.group.toLowerCase().includes(q)).map((g) => {
      const l = lag.get(g.group);
      return [
        h('a', {href: href(['groups', g.group])}, g.group),
        statusBadge(g.state),
        num(g.members),
        l ? statusBadge(l.status) : h('span', {class: 'muted'}, '—'),
        l ? num(l.total_lag) : '—',
        l?.max_lag && l.max_lag.lag > 0 ? h('span', {class: 'mono'}, `${l.max_lag.topic}/${l.max_lag.partition}: ${num(l.max_lag.lag)}`) : '—',
      ];
    });
    replace(listBox,
      lagError ? alert('error', `Lag is unavailable: ${describeError(lagError)}`) : null,
      table([{label: 'Group'}, {label: 'State'}, {label: 'Members', class: 'num'}, {label: 'Status'},
        {label: 'Total lag', class: 'num'}, {label: 'Max lag partition', class: 'hide-sm'}], rows,
      {label: 'Consumer groups', id: 'groups-table',
        empty: groups.length ? 'No group matches the filter.' : 'No consumer groups yet. A group appears when its first member joins (POST /groups/{g}/members or a WebSocket group subscription).'}));
  };

  const load = async () => {
    try {
      const [g, l] = await Promise.all([get('/groups'), get('/lag').catch((err) => err)]);
      groups = (g.groups || []).sort((a, b) => a.group.localeCompare(b.group));
      lagError = l instanceof Error ? l : null;
      lag = new Map(lagError ? [] : (l.groups || []).map((x) => [x.group, x]));
      draw();
    } catch (err) {
      replace(listBox, alert('error', describeError(err)));
    }
  };

  filter.addEventListener('input', () => {
    draw();
    const q = filter.value.trim();
    history.replaceState(null, '', q ? `#/groups?q=${encodeURIComponent(q)}` : '#/groups');
  });
  const stop = poller(load, 5000);
  return {cleanup: stop, onQuery: () => {}};
}
