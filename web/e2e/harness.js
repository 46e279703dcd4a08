// Test harness: builds the fjord binary, starts real brokers on 127.0.0.1
// with free ports and temporary data directories (killed by PID at the end),
// and drives Debian's Chromium through playwright-core. Every page records
// console errors and uncaught exceptions so each test can assert there were
// none.

import {spawn, execFileSync} from 'node:child_process';
import {mkdtempSync, mkdirSync, rmSync, writeFileSync} from 'node:fs';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import assert from 'node:assert/strict';
import {chromium} from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const screenshotDir = join(here, 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let binary = null;

/** buildBinary compiles ./cmd/fjord once into a temporary directory (FJORD_BIN overrides). */
export function buildBinary() {
  if (binary) return binary;
  if (process.env.FJORD_BIN) return (binary = process.env.FJORD_BIN);
  const dir = mkdtempSync(join(tmpdir(), 'fjord-e2e-bin-'));
  const out = join(dir, 'fjord');
  execFileSync('go', ['build', '-o', out, './cmd/fjord'], {cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit']});
  process.on('exit', () => rmSync(dir, {recursive: true, force: true}));
  return (binary = out);
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const {port} = srv.address();
      srv.close(() => res(port));
    });
  });
}

/**
 * startBroker runs one broker and waits until /readyz answers 200. Returns
 * {id, url, pid, logs(), stop()}; stop kills it by PID and removes its data.
 * Options: args (extra flags), id (default 1), httpPort and gossipPort
 * (default: free ports), and ready: false to return without waiting.
 */
export async function startBroker({args = [], id = 1, httpPort, gossipPort, ready = true} = {}) {
  const bin = buildBinary();
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-e2e-data-'));
  const addr = `127.0.0.1:${httpPort || await freePort()}`;
  const child = spawn(bin, ['serve', '--id', String(id), '--http-addr', addr, '--data-dir', dataDir,
    '--gossip-addr', `127.0.0.1:${gossipPort || await freePort()}`, ...args], {stdio: ['ignore', 'pipe', 'pipe']});
  let logs = '';
  child.stdout.on('data', (d) => { logs += d; });
  child.stderr.on('data', (d) => { logs += d; });
  const kill = () => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ } };
  process.on('exit', kill);
  const url = `http://${addr}`;
  const broker = {
    id,
    url,
    pid: child.pid,
    logs: () => logs,
    async waitReady() {
      const deadline = Date.now() + 20000;
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`broker ${id} exited (${child.exitCode ?? child.signalCode}):\n${logs}`);
        try {
          const r = await fetch(`${url}/readyz`);
          if (r.ok) return;
        } catch { /* not listening yet */ }
        if (Date.now() > deadline) { kill(); throw new Error(`broker ${id} not ready in 20 s:\n${logs}`); }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    /** kill stops the process with SIGKILL (its data stays until stop). */
    async kill() {
      kill();
      // A process ended by a signal has a signalCode and no exitCode.
      if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    },
    async stop() {
      await this.kill();
      rmSync(dataDir, {recursive: true, force: true});
    },
  };
  if (ready) await broker.waitReady();
  return broker;
}

/**
 * startCluster runs brokers 1..n on 127.0.0.1, each joining the others'
 * gossip addresses (local gossip profile, a shared cluster secret), and
 * waits until every broker's /cluster shows all n alive. Returns
 * {brokers, stop()}.
 */
export async function startCluster(n) {
  const ports = [];
  for (let i = 0; i < n; i++) ports.push({http: await freePort(), gossip: await freePort()});
  const brokers = [];
  try {
    for (let i = 0; i < n; i++) {
      const join = ports.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p.gossip}`).join(',');
      brokers.push(await startBroker({id: i + 1, httpPort: ports[i].http, gossipPort: ports[i].gossip, ready: false,
        args: ['--advertise-http', `127.0.0.1:${ports[i].http}`, '--join', join, '--gossip-profile', 'local',
          '--cluster-secret', 'e2e-cluster-secret']}));
    }
    for (const b of brokers) await b.waitReady();
    const deadline = Date.now() + 60000;
    for (const b of brokers) {
      for (;;) {
        const c = (await api(b.url, 'GET', '/cluster')).json;
        if (c && c.brokers.filter((x) => x.status === 'alive').length === n) break;
        if (Date.now() > deadline) throw new Error(`cluster not formed in 60 s: broker ${b.id} sees ${JSON.stringify(c)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    for (const b of brokers) await b.stop();
    throw err;
  }
  return {
    brokers,
    async stop() {
      for (const b of brokers) await b.stop();
    },
  };
}

/** writeTemp writes a file into a fresh temporary directory and returns its path. */
export function writeTemp(name, content) {
  const dir = mkdtempSync(join(tmpdir(), 'fjord-e2e-'));
  const p = join(dir, name);
  writeFileSync(p, content);
  process.on('exit', () => rmSync(dir, {recursive: true, force: true}));
  return p;
}

/**
 * launch starts headless Chromium with no outside network traffic of its own.
 * Playwright gives every launch a fresh temporary profile (user-data-dir).
 */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

/**
 * openPage opens a page in a new context that records console errors and
 * page errors into page.errors. Options: viewport, colorScheme.
 */
export async function openPage(browser, {viewport = {width: 1280, height: 860}, colorScheme = 'light'} = {}) {
  const context = await browser.newContext({viewport, colorScheme, reducedMotion: 'reduce'});
  const page = await context.newPage();
  page.errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') page.errors.push(`console: ${msg.text()} @ ${msg.location()?.url || ''}`);
  });
  page.on('pageerror', (err) => page.errors.push(`pageerror: ${err.message}`));
  // The last API calls, for the report of a failed test.
  page.calls = [];
  const started = new Map();
  page.on('request', (req) => started.set(req, Date.now()));
  const done = (req, outcome) => {
    const t0 = started.get(req);
    started.delete(req);
    page.calls.push(`${new Date(t0).toISOString()} ${req.method()} ${req.url()} -> ${outcome} in ${Date.now() - t0} ms`);
    if (page.calls.length > 40) page.calls.shift();
  };
  page.on('requestfinished', async (req) => done(req, (await req.response())?.status() ?? '?'));
  page.on('requestfailed', (req) => done(req, req.failure()?.errorText || 'failed'));
  page.pending = () => [...started.entries()].map(([req, t0]) => `${req.method()} ${req.url()} pending for ${Date.now() - t0} ms`);
  page.setDefaultTimeout(10000);
  return page;
}

/**
 * closePage ends a test's page: after a failed test it first saves a
 * screenshot (screenshots/failed-*.png) and prints the page's URL, text,
 * last API calls and errors; then it closes the page's context and asserts
 * that the page logged no errors other than those allowed matches.
 */
export async function closePage(t, page, allowed = []) {
  if (!t.passed) {
    const slug = t.name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60);
    await shot(page, `failed-${slug}`).catch(() => {});
    const text = await page.locator('#main').innerText({timeout: 1000}).catch((err) => `(no text: ${err.message})`);
    t.diagnostic(`url: ${page.url()}`);
    t.diagnostic(`main: ${text.slice(0, 2000)}`);
    for (const line of [...page.calls, ...page.pending(), ...page.errors]) t.diagnostic(line);
  }
  const errors = page.errors.filter((e) => !allowed.some((re) => re.test(e)));
  await page.context().close();
  assert.deepEqual(errors, [], 'the page logged errors');
}

/** shot saves a screenshot into the (gitignored) screenshots directory. */
export async function shot(page, name, opts = {}) {
  mkdirSync(screenshotDir, {recursive: true});
  await page.screenshot({path: join(screenshotDir, `${name}.png`), ...opts});
}

/** api calls the broker's REST API from the test (Node's fetch). */
export async function api(base, method, path, body, headers = {}) {
  const init = {method, headers: {...headers}};
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return {status: res.status, json, text};
}
