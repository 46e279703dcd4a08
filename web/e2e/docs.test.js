// End-to-end tests of what the documentation promises, in headless Chromium
// against a real broker: Swagger UI at /docs lists every operation and its
// "Try it out" really calls the broker, and the README's three-line
// WebSocket snippet tails a topic past its first 1000 credits.

import {describe, it, before, after, afterEach} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {startBroker, launch, openPage, closePage, shot, api, repoRoot} from './harness.js';

const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** readmeSnippet returns the ```js block of the README's "## WebSocket" section, verbatim. */
function readmeSnippet() {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('WebSocket\n'));
  assert.ok(section, 'README.md has a "## WebSocket" section');
  const block = section.match(/^```js\n([\s\S]*?)^```$/m);
  assert.ok(block, 'the WebSocket section has a ```js block');
  return block[1];
}

describe('fjord documentation', () => {
  let broker;
  let chrome;
  let page;

  before(async () => {
    broker = await startBroker();
    chrome = await launch();
  });
  after(async () => {
    if (chrome) await chrome.close();
    if (broker) await broker.stop();
  });
  afterEach(async (t) => {
    if (!page) return;
    const p = page;
    page = null;
    await closePage(t, p);
  });

  it('serves Swagger UI at /docs, offline, with working "Try it out"', async () => {
    const doc = (await api(broker.url, 'GET', '/openapi.json')).json;
    const operations = [];
    const tags = new Set((doc.tags || []).map((t) => t.name));
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const m of methods) {
        if (!item[m]) continue;
        operations.push(`${m.toUpperCase()} ${path}`);
        for (const t of item[m].tags || []) tags.add(t);
      }
    }
    for (const op of ['POST /topics', 'GET /topics', 'GET /topics/{topic}/partitions/{partition}/records',
      'POST /groups/{group}/members']) {
      assert.ok(operations.includes(op), `the OpenAPI document has ${op}`);
    }

    page = await openPage(chrome.browser);
    const requests = [];
    page.on('request', (req) => requests.push(req.url()));
    await page.goto(`${broker.url}/docs`);
    await page.locator('.opblock').first().waitFor();
    assert.equal(page.url(), `${broker.url}/docs/index.html`);

    const shownTags = await page.locator('h3.opblock-tag').evaluateAll((hs) => hs.map((h) => h.dataset.tag));
    assert.deepEqual([...shownTags].sort(), [...tags].sort(), 'every tag is listed');
    const shownOps = await page.locator('.opblock-summary').evaluateAll((els) => els.map((el) =>
      `${el.querySelector('.opblock-summary-method').textContent} ${el.querySelector('.opblock-summary-path').dataset.path}`));
    assert.deepEqual([...shownOps].sort(), [...operations].sort(), 'every operation is listed');

    const operation = (method, path) => page.locator(`.opblock-${method}`, {
      has: page.locator(`.opblock-summary-path[data-path="${path}"]`),
    });
    const tryOut = async (op) => {
      await op.locator('.opblock-summary').click();
      await op.getByRole('button', {name: 'Try it out'}).click();
    };
    const execute = async (op) => {
      await op.getByRole('button', {name: 'Execute'}).click();
      const status = op.locator('.live-responses-table tr.response .response-col_status');
      await status.waitFor();
      return (await status.textContent()).trim();
    };

    const create = operation('post', '/topics');
    await tryOut(create);
    await create.locator('textarea.body-param__text').fill('{"name":"docs-demo","partitions":2}');
    assert.equal(await execute(create), '201');
    await shot(page, 'docs-try-it-out');
    const desc = await api(broker.url, 'GET', '/topics/docs-demo');
    assert.equal(desc.status, 200);
    assert.equal(desc.json.partitions.length, 2);

    const list = operation('get', '/topics');
    await tryOut(list);
    assert.equal(await execute(list), '200');
    assert.match(await list.locator('.live-responses-table tr.response .response-col_description').textContent(), /docs-demo/);

    const foreign = requests.filter((u) => !u.startsWith(`${broker.url}/`));
    assert.deepEqual(foreign, [], 'every request goes to the broker');
    assert.ok(requests.includes(`${broker.url}/openapi.json`), 'Swagger UI loads /openapi.json');
    assert.ok(requests.includes(`${broker.url}/topics`), '"Try it out" calls the broker');
  });

  it("tails a topic with the README's WebSocket snippet past the first 1000 credits", async () => {
    const snippet = readmeSnippet();
    assert.equal(snippet.trimEnd().split('\n').length, 3, 'the snippet is three lines');
    const partitions = 3;
    const total = 1500;
    assert.equal((await api(broker.url, 'POST', '/topics', {name: 'orders', partitions})).status, 201);

    page = await openPage(chrome.browser);
    const logged = [];
    page.on('console', (msg) => {
      if (msg.type() === 'log') logged.push(msg.text());
    });
    let subscribed;
    const subscribedFrame = new Promise((res) => { subscribed = res; });
    page.on('websocket', (ws) => ws.on('framereceived', ({payload}) => {
      if (String(payload).includes('"subscribed"')) subscribed(JSON.parse(payload));
    }));
    await page.goto(`${broker.url}/`);

    // Evaluated as DevTools evaluates what is pasted into its console.
    const cdp = await page.context().newCDPSession(page);
    const res = await cdp.send('Runtime.evaluate', {expression: snippet, replMode: true});
    assert.equal(res.exceptionDetails, undefined, 'the snippet runs');
    // ws is the snippet's global binding, as it is for the DevTools console.
    await page.waitForFunction(() => ws.readyState === WebSocket.OPEN);
    // The broker resolves offset=latest before it answers subscribed.
    assert.equal((await subscribedFrame).id, 'default');

    const batch = 500;
    for (let i = 0; i < total; i += batch) {
      const records = Array.from({length: batch}, (_, j) => ({partition: (i + j) % partitions, value: i + j}));
      assert.equal((await api(broker.url, 'POST', '/topics/orders/records', {records})).status, 200);
    }

    const deadline = Date.now() + 15000;
    const lines = () => logged.filter((l) => /^\d+ \d+ \d+$/.test(l));
    while (lines().length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const got = lines().map((l) => l.split(' ').map(Number));
    assert.equal(got.length, total, 'every record is logged');
    const next = new Array(partitions).fill(0);
    for (const [p, offset, value] of got) {
      assert.equal(offset, next[p], `partition ${p} in offset order`);
      assert.equal(value % partitions, p, `record ${value} on its partition`);
      next[p]++;
    }
    assert.deepEqual(new Set(got.map(([, , v]) => v)).size, total, 'no record twice');
    assert.equal(await page.evaluate(() => ws.readyState), 1, 'the socket is still open');
  });
});
