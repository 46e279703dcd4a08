// End-to-end tests of the web console: a real broker (built from this tree)
// and headless Debian Chromium. Run with `node --test` in this directory
// after setup.sh; screenshots of every view land in screenshots/.

import {describe, it, before, after, afterEach} from 'node:test';
import assert from 'node:assert/strict';
import {startBroker, startCluster, launch, openPage, closePage, shot, api} from './harness.js';

const phone = {width: 390, height: 844};

describe('fjord console', () => {
  let broker;
  let chrome;
  let page;
  // allowed lists console errors a test provokes on purpose (the browser
  // logs every 4xx answer as "Failed to load resource").
  let allowed = [];

  before(async () => {
    broker = await startBroker();
    chrome = await launch();
  });
  after(async () => {
    if (chrome) await chrome.close();
    if (broker) await broker.stop();
  });

  const open = async (hash, opts) => {
    page = await openPage(chrome.browser, opts);
    await page.goto(`${broker.url}/${hash}`);
    return page;
  };
  afterEach(async (t) => {
    if (!page) return;
    const [p, a] = [page, allowed];
    page = null;
    allowed = [];
    await closePage(t, p, a);
  });

  it('serves the console with embedded assets and sane headers', async () => {
    const res = await fetch(`${broker.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const html = await res.text();
    const js = html.match(/src="(\/ui\/[0-9a-f]+\/js\/app\.js)"/);
    assert.ok(js, 'index links the app module under /ui/{version}/');
    const asset = await fetch(broker.url + js[1]);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type'), /^text\/javascript/);
    assert.match(asset.headers.get('cache-control'), /immutable/);
    assert.doesNotMatch(html, /https?:\/\/(?!127\.0\.0\.1)/, 'no external URLs (works offline)');
  });

  it('shows brokers, the controller and totals on the overview', async () => {
    await api(broker.url, 'POST', '/topics', {name: 'overview-t', partitions: 2});
    await open('#/');
    const row = page.locator('#brokers-table tbody tr').first();
    await row.getByText('alive').waitFor();
    await row.getByText('controller').waitFor();
    await page.waitForFunction(() => document.querySelector('#st-partitions')?.textContent !== '—');
    assert.equal(await page.locator('#st-controller').textContent(), '#1');
    // records/s comes from two /metrics samples 2 s apart
    await api(broker.url, 'POST', '/topics/overview-t/records', {records: [{value: 1}, {value: 2}]});
    await page.waitForFunction(() => /\d/.test(document.querySelector('#st-in')?.textContent || ''), null, {timeout: 8000});
    await shot(page, 'overview-light');
    await page.getByRole('button', {name: 'Switch to dark theme'}).click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await shot(page, 'overview-dark');
  });

  it('creates a topic from the form and lists it', async () => {
    await open('#/topics');
    await page.getByRole('button', {name: 'Create topic'}).click();
    const dlg = page.getByRole('dialog', {name: 'Create topic'});
    await dlg.getByLabel('Name').fill('orders');
    await dlg.getByLabel('Partitions').fill('3');
    await dlg.getByLabel('Retention', {exact: true}).fill('2');
    await dlg.getByLabel('Unit').selectOption({label: 'days'});
    await shot(page, 'topics-create');
    await dlg.getByRole('button', {name: 'Create'}).click();
    // The topic view opens on its message browser, which soon records its
    // position in the hash (#/topics/orders/messages?p=0&...), so the bare
    // #/topics/orders may be gone before it is observed.
    await page.waitForURL(/#\/topics\/orders(\/messages)?(\?|$)/);
    await page.getByRole('heading', {name: 'orders', level: 1}).waitFor();
    const desc = (await api(broker.url, 'GET', '/topics/orders')).json;
    assert.equal(desc.partitions.length, 3);
    assert.equal(desc.config['retention.ms'], 2 * 86400000);
    await page.goto(`${broker.url}/#/topics`);
    const row = page.locator('#topics-table tbody tr', {hasText: 'orders'});
    // The row shows placeholders until the partition offsets arrive.
    await page.locator('#topics-table tbody tr', {hasText: /orders\s*3\s*1\s*0/}).waitFor();
    assert.match(await row.textContent(), /orders\s*3\s*1\s*0/);
    await shot(page, 'topics');
  });

  it('shows the API validation error inline for a bad topic name', async () => {
    allowed = [/Failed to load resource: the server responded with a status of 400/];
    await open('#/topics?create');
    const dlg = page.getByRole('dialog', {name: 'Create topic'});
    await dlg.getByLabel('Name').fill('bad name!');
    await dlg.getByRole('button', {name: 'Create'}).click();
    const err = dlg.getByRole('alert');
    await err.waitFor();
    assert.match(await err.textContent(), /invalid_topic_name/);
    assert.equal(await dlg.getByLabel('Name').getAttribute('aria-invalid'), 'true');
    await shot(page, 'topics-create-error');
    assert.equal((await api(broker.url, 'GET', '/topics')).json.topics.some((t) => t.name === 'bad name!'), false);
  });

  it('produces from the form and shows the record in the browser', async () => {
    await api(broker.url, 'POST', '/topics', {name: 'produce-t', partitions: 2});
    await open('#/topics/produce-t/produce');
    const form = page.locator('#produce-form');
    await form.getByLabel('Partition').selectOption('1');
    await form.getByLabel('Key').fill('user-7');
    await form.getByLabel('Value', {exact: true}).fill('{"amount": 12.50, "id": 12345678901234567890}');
    await form.getByRole('button', {name: '+ Add header'}).click();
    await form.getByLabel('Header 1 name').fill('trace');
    await form.getByLabel('Header 1 value').fill('abc');
    await form.getByRole('button', {name: 'Produce'}).click();
    await form.getByText('Produced to partition 1 at offset 0').waitFor();
    await shot(page, 'topic-produce');
    // a text value goes as raw UTF-8 bytes
    await form.getByLabel('Text (UTF-8 bytes)').check();
    await form.getByLabel('Value', {exact: true}).fill('plain text ✓');
    await form.getByRole('button', {name: 'Produce'}).click();
    await form.getByText('Produced to partition 1 at offset 1').waitFor();

    const read = (await api(broker.url, 'GET', '/topics/produce-t/partitions/1/records')).text;
    assert.match(read, /"value":\{"amount": 12.50, "id": 12345678901234567890\}/, 'JSON value kept byte for byte');
    assert.match(read, /"value_base64":"cGxhaW4gdGV4dCDinJM="/, 'text value sent as UTF-8 bytes');

    await form.getByRole('link', {name: 'View it'}).click();
    await page.waitForURL(/messages\?p=1&from=offset&offset=1/);
    const rows = page.locator('#records-table tbody tr:not(.detail)');
    await rows.first().waitFor();
    await page.getByRole('button', {name: 'Newest'}).first().click();
    await page.locator('#records-table').getByText('plain text ✓').waitFor();
    await page.getByRole('button', {name: 'Show record at offset 0'}).click();
    const detail = page.locator('#records-table tr.detail:not([hidden])');
    await detail.getByText('12345678901234567890').waitFor();
    assert.match(await detail.textContent(), /"amount": 12.50/);
    assert.match(await detail.textContent(), /trace/);
    await shot(page, 'topic-messages');
  });

  it('browses by timestamp and pages with next_offset', async () => {
    // Fixed timestamps lie in the past: unlimited retention keeps them.
    await api(broker.url, 'POST', '/topics', {name: 'paging-t', config: {'retention.ms': -1}});
    const t0 = 1767225600000;
    const records = Array.from({length: 45}, (_, i) => ({key: `k${i}`, value: {i}, timestamp: t0 + i * 1000}));
    assert.equal((await api(broker.url, 'POST', '/topics/paging-t/records', {records})).status, 200);
    await open(`#/topics/paging-t/messages?p=0&from=timestamp&ts=${t0 + 10000}&n=20`);
    const first = page.locator('#records-table tbody tr:not(.detail)').first();
    await first.getByText('▸ 10').waitFor();
    await page.getByText('offsets 10–29').first().waitFor();
    await page.getByRole('button', {name: 'Newer →'}).first().click();
    await page.getByText('offsets 30–44').first().waitFor();
    assert.match(page.url(), /from=offset&offset=30/);
    await page.getByRole('button', {name: 'Newer →'}).first().isDisabled();
    await page.getByRole('button', {name: '← Older'}).first().click();
    await page.getByText('offsets 10–29').first().waitFor();
  });

  it('tails new records live over the WebSocket, with pause and resume', async () => {
    await api(broker.url, 'POST', '/topics', {name: 'live-t', partitions: 2});
    await api(broker.url, 'POST', '/topics/live-t/records', {records: [{value: 'before'}]});
    await open('#/topics/live-t/live');
    await page.locator('#tab-panel[data-subscribed="true"]').waitFor();
    await api(broker.url, 'POST', '/topics/live-t/records', {records: [{key: 'k1', value: {live: 1}}, {key: 'k2', value: {live: 2}}]});
    const table = page.locator('#live-table');
    await table.getByText('{"live":1}').waitFor();
    await table.getByText('{"live":2}').waitFor();
    assert.equal(await table.getByText('"before"').count(), 0, 'offset=latest skips older records');
    await shot(page, 'topic-live');

    await page.getByRole('button', {name: 'Pause'}).click();
    await api(broker.url, 'POST', '/topics/live-t/records', {records: [{value: {live: 3}}]});
    await page.getByText('1 waiting').waitFor();
    assert.equal(await table.getByText('{"live":3}').count(), 0, 'paused: nothing drawn');
    await page.getByRole('button', {name: 'Resume'}).click();
    await table.getByText('{"live":3}').waitFor();

    // past the first 1000 credits: the tail keeps granting more; rows are capped
    const many = Array.from({length: 1500}, (_, i) => ({value: {bulk: i}}));
    assert.equal((await api(broker.url, 'POST', '/topics/live-t/records', {records: many})).status, 200);
    await page.locator('#live-count', {hasText: '1,503 received'}).waitFor();
    await page.locator('#live-count', {hasText: '500 shown'}).waitFor();
    await table.getByText('{"bulk":1499}').waitFor();
  });

  it('opens a consumer group and shows its lag', async () => {
    await api(broker.url, 'POST', '/topics', {name: 'billing-t', partitions: 2});
    const recs = Array.from({length: 10}, (_, i) => ({value: {i}, partition: i % 2}));
    await api(broker.url, 'POST', '/topics/billing-t/records', {records: recs});
    const join = await api(broker.url, 'POST', '/groups/billing/members', {topics: ['billing-t'], auto_offset_reset: 'earliest'});
    assert.equal(join.status, 201, join.text);
    const m = join.json.member_id;
    await api(broker.url, 'POST', `/groups/billing/members/${m}/commit`,
      {offsets: [{topic: 'billing-t', partition: 0, offset: 2}, {topic: 'billing-t', partition: 1, offset: 5}]});

    await open('#/groups');
    const row = page.locator('#groups-table tbody tr', {hasText: 'billing'});
    await row.waitFor();
    assert.match(await row.textContent(), /stable/);
    await shot(page, 'groups');
    await row.getByRole('link', {name: 'billing'}).click();
    await page.waitForURL(/#\/groups\/billing$/);
    await page.locator('#g-lag').getByText('3').waitFor(); // (5-2) + (5-5)
    const parts = page.locator('#group-partitions-table');
    await parts.locator('tr', {hasText: 'billing-t'}).first().waitFor();
    assert.match(await page.locator('#members-table').textContent(), new RegExp(m));
    assert.ok(await page.getByRole('button', {name: 'Reset offsets'}).isDisabled(), 'reset is off while the group has members');
    await shot(page, 'group-detail');

    await api(broker.url, 'DELETE', `/groups/billing/members/${m}`);
    await page.locator('#g-state').getByText('empty').waitFor({timeout: 8000});
    await page.locator('#reset-form').getByLabel('Topic').selectOption('billing-t');
    await page.locator('#reset-form').getByLabel('Reset to').selectOption('latest');
    await page.getByRole('button', {name: 'Reset offsets'}).click();
    await page.getByRole('dialog', {name: 'Reset offsets?'}).getByRole('button', {name: 'Reset'}).click();
    await page.locator('#g-lag').getByText(/^0$/).waitFor({timeout: 8000});
  });

  it('follows deep links and keeps working at phone width in the dark theme', async () => {
    await api(broker.url, 'POST', '/topics', {name: 'deep-t'});
    await api(broker.url, 'POST', '/topics/deep-t/records', {records: [{key: 'a', value: {n: 1}}, {key: 'b', value_base64: 'AAECAw=='}]});
    await open('#/topics/deep-t/messages?p=0&from=offset&offset=1', {viewport: phone, colorScheme: 'dark'});
    await page.locator('#records-table').getByText('0x00010203').waitFor();
    assert.equal(await page.locator('#records-table tbody tr:not(.detail)').count(), 1);
    await page.getByRole('button', {name: 'Show record at offset 1'}).click();
    await page.locator('tr.detail pre.hex').getByText('00 01 02 03').waitFor();
    await shot(page, 'phone-dark-messages', {fullPage: true});
    await page.goto(`${broker.url}/#/topics/deep-t/partitions`);
    await page.locator('#partitions-table').waitFor();
    await shot(page, 'phone-dark-partitions', {fullPage: true});
    await page.goto(`${broker.url}/#/`);
    await page.locator('#brokers-table').waitFor();
    await shot(page, 'phone-dark-overview', {fullPage: true});
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px at phone width`);
  });

  it('is usable from the keyboard', async () => {
    await open('#/no-such-page');
    await page.getByText('There is no such page.').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Topics');
    await page.keyboard.press('Enter');
    // after a route change focus goes to the page heading
    await page.waitForFunction(() => document.activeElement.tagName === 'H1');
    const reached = [];
    for (let i = 0; i < 6 && reached.at(-1) !== 'Create topic'; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate(() => document.activeElement.textContent));
    }
    assert.equal(reached.at(-1), 'Create topic', `tab order: ${reached.join(' | ')}`);
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', {name: 'Create topic'}).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('name')), 'name');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({state: 'detached'});
  });

  it('adds partitions and deletes a topic with confirmation', async () => {
    await api(broker.url, 'POST', '/topics', {name: 'doomed-t'});
    await open('#/topics/doomed-t/partitions');
    await page.locator('#partitions-table').waitFor();
    await page.getByRole('button', {name: 'Add partitions'}).click();
    const add = page.getByRole('dialog');
    await add.getByLabel('New partition count').fill('4');
    await add.getByRole('button', {name: 'Update'}).click();
    await page.locator('#partitions-table tbody tr').nth(3).waitFor();
    // A broker of its own leads every partition: one replica, the leader, in sync.
    const only = page.locator('#partitions-table tbody tr').first().locator('ul.replica-states li');
    assert.equal(await only.count(), 1);
    assert.match(await only.textContent(), /^1\s*leader\s*in sync\s*log end 0$/);
    await shot(page, 'topic-partitions');
    await page.getByRole('link', {name: 'Configuration'}).click();
    await page.getByLabel('retention.ms').fill('3600000');
    await page.getByRole('button', {name: 'Save changes'}).click();
    await page.locator('#config-form').getByText('1 h').waitFor();
    assert.equal((await api(broker.url, 'GET', '/topics/doomed-t')).json.config['retention.ms'], 3600000);
    await shot(page, 'topic-config');
    await page.getByRole('button', {name: 'Delete topic'}).click();
    const dlg = page.getByRole('dialog', {name: 'Delete topic doomed-t?'});
    const confirm = dlg.getByRole('button', {name: 'Delete topic'});
    assert.ok(await confirm.isDisabled());
    await dlg.getByLabel('Type the topic name to confirm').fill('doomed-t');
    await confirm.click();
    await page.waitForURL(/#\/topics$/);
    assert.equal((await api(broker.url, 'GET', '/topics/doomed-t')).status, 404);
  });
});

describe('fjord console with auth', () => {
  let broker;
  let chrome;
  before(async () => {
    const {writeTemp} = await import('./harness.js');
    const tokens = writeTemp('tokens.json', JSON.stringify([{token: 'admin-secret', acls: [
      {resource: 'topic', pattern: '*', ops: ['read', 'write', 'admin']},
      {resource: 'group', pattern: '*', ops: ['read']},
      {resource: 'cluster', pattern: '*', ops: ['read', 'admin']}]}]));
    broker = await startBroker({args: ['--auth-tokens', tokens]});
    chrome = await launch();
  });
  after(async () => {
    if (chrome) await chrome.close();
    if (broker) await broker.stop();
  });

  it('asks for a token on 401, keeps it and sends it', async () => {
    const auth = {Authorization: 'Bearer admin-secret'};
    await api(broker.url, 'POST', '/topics', {name: 'secret-t'}, auth);
    const page = await openPage(chrome.browser);
    try {
      await page.goto(`${broker.url}/#/topics`);
      const dlg = page.getByRole('dialog', {name: 'Access token required'});
      await dlg.waitFor();
      await shot(page, 'auth-dialog');
      await dlg.getByLabel('Token').fill('admin-secret');
      await dlg.getByRole('button', {name: 'Use token'}).click();
      await page.locator('#topics-table').getByText('secret-t').waitFor();
      assert.equal(await page.evaluate(() => localStorage.getItem('fjord.token')), 'admin-secret');
      // the WebSocket carries it as ?token=
      await api(broker.url, 'POST', '/topics/secret-t/records', {records: [{value: 0}]}, auth);
      await page.goto(`${broker.url}/#/topics/secret-t/live`);
      await page.locator('#tab-panel[data-subscribed="true"]').waitFor();
      await api(broker.url, 'POST', '/topics/secret-t/records', {records: [{value: {secret: 1}}]}, auth);
      await page.locator('#live-table').getByText('{"secret":1}').waitFor();
      await page.getByRole('button', {name: 'Forget token'}).click();
      await page.getByRole('dialog', {name: 'Access token required'}).waitFor();
      const errors = page.errors.filter((e) => !/status of 401/.test(e));
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
});

describe('fjord console with three brokers', () => {
  let cluster;
  let chrome;
  let page;
  let allowed = [];

  before(async () => {
    cluster = await startCluster(3);
    chrome = await launch();
  });
  after(async () => {
    if (chrome) await chrome.close();
    if (cluster) await cluster.stop();
  });
  afterEach(async (t) => {
    if (!page) return;
    const [p, a] = [page, allowed];
    page = null;
    allowed = [];
    await closePage(t, p, a);
  });

  const broker = (id) => cluster.brokers[id - 1];
  const partition = async (id) => (await api(broker(id).url, 'GET', '/topics/replicated-t')).json.partitions[0];
  const waitFor = async (what, cond) => {
    const deadline = Date.now() + 30000;
    for (;;) {
      const last = await cond();
      if (last === true) return;
      if (Date.now() > deadline) throw new Error(`waiting for ${what}: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('adds replicas: each partition keeps its leader and the added brokers join the ISR', async () => {
    allowed = [/Failed to load resource: the server responded with a status of 400/];
    const created = await api(broker(1).url, 'POST', '/topics', {name: 'grown-t', partitions: 2, replication_factor: 1});
    assert.equal(created.status, 201, created.text);
    const leaders = created.json.partitions.map((p) => p.leader);
    page = await openPage(chrome.browser);
    await page.goto(`${broker(2).url}/#/topics/grown-t/partitions`);
    await page.locator('#partitions-table').waitFor();
    await page.getByRole('button', {name: 'Add replicas'}).click();
    const dlg = page.getByRole('dialog', {name: 'Add replicas to grown-t'});
    await dlg.getByLabel('New replication factor').fill('4');
    await dlg.getByRole('button', {name: 'Update'}).click();
    const err = dlg.getByRole('alert');
    await err.waitFor();
    assert.match(await err.textContent(), /at most the 3 live broker\(s\) \(invalid_request\)/);
    await dlg.getByLabel('New replication factor').fill('3');
    await dlg.getByRole('button', {name: 'Update'}).click();
    await dlg.waitFor({state: 'detached'});
    await page.getByText('replication factor 3').first().waitFor();
    let d;
    await waitFor('the added replicas in every ISR', async () => {
      d = (await api(broker(2).url, 'GET', '/topics/grown-t')).json;
      return d.partitions.every((p) => p.replicas.length === 3 && p.isr.length === 3) || d.partitions;
    });
    assert.deepEqual(d.partitions.map((p) => p.leader), leaders);
    await page.getByRole('button', {name: 'Refresh'}).click();
    for (const row of [0, 1]) {
      const states = page.locator('#partitions-table tbody tr').nth(row).locator('ul.replica-states li');
      await states.nth(2).waitFor();
    }
    assert.equal(await page.locator('#partitions-table').getByText('(under-replicated)').count(), 0);
  });

  it('shows each replica\'s state: leader, in sync, lag, and a follower\'s partial view', async () => {
    const created = await api(broker(1).url, 'POST', '/topics', {name: 'replicated-t', partitions: 1, replication_factor: 3,
      config: {'replica.lag.time.max.ms': 1000}});
    assert.equal(created.status, 201, created.text);
    let p;
    await waitFor('a leader and a full ISR', async () => {
      p = await partition(1);
      return (p.leader > 0 && p.isr.length === 3) || p;
    });
    const leader = p.leader;
    const [follower, victim] = p.replicas.filter((id) => id !== leader);
    const produced = await api(broker(leader).url, 'POST', '/topics/replicated-t/records?acks=all',
      {records: [1, 2, 3, 4, 5].map((n) => ({value: n}))});
    assert.equal(produced.status, 200, produced.text);
    await waitFor('every replica caught up', async () => {
      p = await partition(leader);
      return p.replica_states.every((r) => r.log_end_offset === 5 && r.lag_ms === 0) || p.replica_states;
    });

    page = await openPage(chrome.browser);
    await page.goto(`${broker(leader).url}/#/topics/replicated-t/partitions`);
    const states = page.locator('#partitions-table tbody tr').first().locator('ul.replica-states li');
    await states.nth(2).waitFor();
    for (const id of p.replicas) {
      const text = await page.locator(`#partitions-table ul.replica-states li[data-broker="${id}"]`).textContent();
      assert.match(text, id === leader ? /leader\s*in sync\s*log end 5$/ : /in sync\s*log end 5\s*caught up$/, `broker ${id}: ${text}`);
    }
    assert.equal(await page.getByText('known to each partition\'s leader').count(), 0);

    // A killed follower falls behind by the records produced since, then out of the ISR.
    await broker(victim).kill();
    const more = await api(broker(leader).url, 'POST', '/topics/replicated-t/records?acks=1', {records: [{value: 6}, {value: 7}]});
    assert.equal(more.status, 200, more.text);
    await waitFor(`broker ${victim} out of the ISR`, async () => {
      p = await partition(leader);
      return !p.isr.includes(victim) || p;
    });
    await page.getByRole('button', {name: 'Refresh'}).click();
    const dead = page.locator(`#partitions-table ul.replica-states li[data-broker="${victim}"]`);
    await dead.getByText('out of sync').waitFor();
    assert.match(await dead.textContent(), /out of sync\s*log end 5\s*2 records behind for \d/);
    await page.locator('#partitions-table').getByText('(under-replicated)').waitFor();
    await shot(page, 'topic-replicas-leader');

    // A follower's console knows its own log end and who leads, not the lag.
    await page.goto(`${broker(follower).url}/#/topics/replicated-t/partitions`);
    await page.getByText('known to each partition\'s leader').waitFor();
    const own = page.locator(`ul.replica-states li[data-broker="${follower}"]`);
    await own.getByText('lag unknown here').waitFor();
    assert.match(await own.textContent(), /log end \d/);
    assert.doesNotMatch(await page.locator(`ul.replica-states li[data-broker="${leader}"]`).textContent(), /log end/);
    await shot(page, 'topic-replicas-follower');
  });
});
