// Takes the console screenshots shown in the README (docs/console-*.png):
// starts a broker, produces a little traffic and consumes it with a lagging
// group, then captures the overview, a topic's live tail and the groups.
// Run: cd web/e2e && node docs-screenshots.mjs  (or `make web-screenshots`)

import {join} from 'node:path';
import {startBroker, launch, openPage, api, repoRoot} from './harness.js';

const docs = join(repoRoot, 'docs');
const viewport = {width: 1200, height: 720};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const broker = await startBroker();
const chrome = await launch();
let producing = true;
try {
  await api(broker.url, 'POST', '/topics', {name: 'orders', partitions: 3});
  await api(broker.url, 'POST', '/topics', {name: 'payments', partitions: 2});
  await api(broker.url, 'POST', '/topics', {name: 'audit.log'});
  let n = 0;
  const batch = () => Array.from({length: 4}, () => {
    n++;
    return {key: `customer-${100 + (n * 7) % 23}`, headers: {source: 'web'},
      value: {order_id: 10000 + n, amount: Math.round((n * 37) % 500 + 9.99) / 1, currency: 'EUR', items: 1 + (n % 4)}};
  });
  // Bounded background traffic: stops when the script ends (at most 400 requests).
  const producer = (async () => {
    for (let i = 0; producing && i < 400; i++) {
      await api(broker.url, 'POST', '/topics/orders/records', {records: batch()});
      if (i % 3 === 0) await api(broker.url, 'POST', '/topics/payments/records', {records: [{key: `p-${i}`, value: {ok: true, i}}]});
      await sleep(150);
    }
  })();

  const groups = (await api(broker.url, 'GET', '/groups')).status !== 404;
  let member = null;
  if (groups) {
    const join = await api(broker.url, 'POST', '/groups/billing/members', {topics: ['orders'], auto_offset_reset: 'earliest'});
    member = join.json?.member_id;
  }
  let readAt = 0;
  const consume = async () => {
    if (!member) {
      // No groups on this broker: read by offset so the overview shows records out.
      const r = await api(broker.url, 'GET', `/topics/orders/partitions/1/records?offset=${readAt}&max_records=12`);
      readAt = r.json?.next_offset ?? readAt;
      return;
    }
    await api(broker.url, 'GET', `/groups/billing/members/${member}/records?max_records=12&timeout_ms=0`);
    await api(broker.url, 'POST', `/groups/billing/members/${member}/commit`);
  };

  const page = await openPage(chrome.browser, {viewport});
  await page.goto(`${broker.url}/#/`);
  for (let i = 0; i < 24; i++) { await consume(); await sleep(1000); }
  await page.screenshot({path: join(docs, 'console-overview.png')});

  await page.goto(`${broker.url}/#/topics/orders/live`);
  await page.locator('#tab-panel[data-subscribed="true"]').waitFor();
  await sleep(3000);
  await page.getByRole('button', {name: 'Pause'}).click();
  await page.locator('#live-table tbody tr:not(.detail)').nth(1).getByRole('button').click();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({path: join(docs, 'console-topic-live.png')});

  if (groups && member) {
    for (let i = 0; i < 6; i++) { await consume(); await sleep(1100); }
    await page.goto(`${broker.url}/#/groups/billing`);
    await page.locator('#group-partitions-table').waitFor();
    for (let i = 0; i < 4; i++) { await consume(); await sleep(3100); }
    await page.screenshot({path: join(docs, 'console-groups.png')});
  } else {
    console.log('the broker has no /groups yet: skipped console-groups.png');
  }
  const dark = await openPage(chrome.browser, {viewport: {width: 390, height: 780}, colorScheme: 'dark'});
  await dark.goto(`${broker.url}/#/topics/orders/messages`);
  await dark.locator('#records-table').waitFor();
  await dark.screenshot({path: join(docs, 'console-phone-dark.png')});
  producing = false;
  await producer;
  const errors = [...page.errors, ...dark.errors];
  if (errors.length) console.log('page errors:', errors);
} finally {
  producing = false;
  await chrome.close();
  await broker.stop();
}
