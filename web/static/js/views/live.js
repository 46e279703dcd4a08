// Live tail over the WebSocket: GET /ws?topic=…&offset=latest subscribes at
// connect as id "default". Flow control: a subscription starts with 1000
// credits; the tail grants more as it renders records. Pausing stops the
// grants, so the broker stops sending once the outstanding credits are used
// (those records wait in a bounded buffer and show on resume). At most `cap`
// rows are kept, newest first.

import {h, replace, num, rate, alert, field, select} from '../dom.js';
import {wsURL, get, enc, describeError} from '../api.js';
import {recordRows, recordColumns} from '../records.js';

const INITIAL_CREDITS = 1000;
const GRANT_EVERY = 250;
const caps = ['100', '500', '1000', '5000'];

export function renderLive(box, {topic, desc}, query) {
  const partitionSel = select({name: 'partition'}, [['', 'All partitions'], ...desc.partitions.map((p) => [String(p.partition), `Partition ${p.partition}`])],
    query.p ?? '');
  const fromSel = select({name: 'offset'}, [['latest', 'New records only'], ['earliest', 'From the oldest record']], query.from === 'earliest' ? 'earliest' : 'latest');
  const capSel = select({name: 'cap'}, caps.map((c) => [c, `${c} rows`]), caps.includes(query.cap) ? query.cap : '500');
  const startBtn = h('button', {type: 'button', class: 'btn btn-primary', id: 'live-start'}, 'Start');
  const pauseBtn = h('button', {type: 'button', class: 'btn', id: 'live-pause', disabled: true, 'aria-pressed': 'false'}, 'Pause');
  const clearBtn = h('button', {type: 'button', class: 'btn', id: 'live-clear'}, 'Clear');
  const dot = h('span', {class: 'live-dot', 'aria-hidden': 'true'});
  const statusText = h('span', {id: 'live-status', role: 'status'}, 'Stopped');
  const counter = h('span', {class: 'muted', id: 'live-count'});
  const errBox = h('div');
  const tbody = h('tbody');
  const emptyRow = h('tr', null, h('td', {colspan: 6, class: 'empty'}, 'Waiting for records…'));
  tbody.append(emptyRow);
  box.append(
    h('div', {class: 'toolbar'}, field('Partition', partitionSel), field('Start', fromSel), field('Keep at most', capSel),
      startBtn, pauseBtn, clearBtn),
    h('p', {class: 'pager'}, dot, statusText, h('span', {class: 'spacer'}), counter),
    errBox,
    h('div', {class: 'table-wrap'}, h('table', {id: 'live-table', 'aria-label': `Live records of ${topic}`},
      h('thead', null, h('tr', null, recordColumns(true).map((c) => h('th', {scope: 'col', class: c.class || null}, c.label)))),
      tbody)));

  let ws = null;
  let paused = false;
  let buffer = []; // records received while paused or not yet drawn
  let ungranted = 0; // records received since the last credit grant
  let total = 0;
  let frame = 0;
  let rateWindow = []; // [time, count] of recent batches for the rate shown

  const setStatus = (text, state) => {
    statusText.textContent = text;
    dot.className = 'live-dot' + (state ? ' ' + state : '');
  };
  const showCount = () => {
    const now = Date.now();
    rateWindow = rateWindow.filter(([t]) => now - t < 10000);
    const n = rateWindow.reduce((s, [, c]) => s + c, 0);
    const span = rateWindow.length ? Math.max(1, (now - rateWindow[0][0]) / 1000) : 1;
    counter.textContent = `${num(total)} received · ${rate(n / span)}/s · ${num(rowCount())} shown` +
      (paused && buffer.length ? ` · ${num(buffer.length)} waiting` : '');
  };
  const rowCount = () => tbody.querySelectorAll('tr:not(.detail)').length - (emptyRow.isConnected ? 1 : 0);

  const grant = () => {
    if (ws && ws.readyState === WebSocket.OPEN && ungranted > 0) {
      ws.send(JSON.stringify({op: 'credit', id: 'default', records: ungranted}));
      ungranted = 0;
    }
  };

  const draw = () => {
    frame = 0;
    if (paused || !buffer.length) { showCount(); return; }
    const cap = Number(capSel.value);
    const recs = buffer.length > cap ? buffer.slice(buffer.length - cap) : buffer;
    buffer = [];
    if (emptyRow.isConnected) emptyRow.remove();
    const frag = document.createDocumentFragment();
    for (let i = recs.length - 1; i >= 0; i--) frag.append(...recordRows(recs[i], {withPartition: true, fresh: true}));
    tbody.prepend(frag);
    trim(cap);
    grant();
    showCount();
  };
  const trim = (cap) => {
    const rows = tbody.querySelectorAll('tr:not(.detail)');
    for (let i = cap; i < rows.length; i++) {
      rows[i].nextElementSibling?.remove();
      rows[i].remove();
    }
  };
  const schedule = () => { if (!frame) frame = requestAnimationFrame(draw); };

  const stop = (text = 'Stopped') => {
    if (ws) {
      const s = ws;
      ws = null;
      s.onclose = s.onerror = s.onmessage = null;
      if (s.readyState === WebSocket.OPEN || s.readyState === WebSocket.CONNECTING) s.close(1000, 'bye');
    }
    setStatus(text, '');
    startBtn.textContent = 'Start';
    pauseBtn.disabled = true;
  };

  const start = () => {
    stop();
    replace(errBox);
    paused = false;
    pauseBtn.textContent = 'Pause';
    pauseBtn.setAttribute('aria-pressed', 'false');
    buffer = [];
    ungranted = 0;
    const params = {topic, offset: fromSel.value};
    if (partitionSel.value !== '') params.partition = partitionSel.value;
    const sock = new WebSocket(wsURL(params));
    ws = sock;
    setStatus('Connecting…', '');
    startBtn.textContent = 'Stop';
    sock.onopen = () => { if (ws === sock) setStatus('Live', 'on'); pauseBtn.disabled = false; };
    sock.onmessage = (ev) => {
      if (ws !== sock) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === 'records' && msg.id === 'default') {
        total += msg.records.length;
        ungranted += msg.records.length;
        rateWindow.push([Date.now(), msg.records.length]);
        buffer.push(...msg.records);
        // Bound what waits while paused: the broker sends no more than the credits granted.
        if (buffer.length > INITIAL_CREDITS * 2) buffer.splice(0, buffer.length - INITIAL_CREDITS * 2);
        if (!paused && ungranted >= GRANT_EVERY) grant();
        schedule();
      } else if (msg.type === 'subscribed') {
        setStatus(paused ? 'Paused' : 'Live', paused ? 'paused' : 'on');
        box.dataset.subscribed = 'true';
      } else if (msg.type === 'error') {
        replace(errBox, alert('error', `${msg.message || 'Subscription failed'}${msg.code ? ` (${msg.code})` : ''}`));
        stop('Stopped after an error');
      }
    };
    let opened = false;
    sock.addEventListener('open', () => { opened = true; });
    sock.onclose = async (ev) => {
      if (ws !== sock) return;
      ws = null;
      stop('Disconnected');
      if (ev.code === 1000) return;
      let why = `The connection closed (code ${ev.code}${ev.reason ? ': ' + ev.reason : ''}).`;
      if (!opened) {
        // A refused handshake shows no status to scripts: ask the REST API
        // the same question, which also prompts for a token on 401.
        try {
          await get(`/topics/${enc(topic)}`);
          why = 'Could not open the WebSocket.';
        } catch (err) {
          why = `Could not subscribe: ${describeError(err)}.`;
        }
      }
      replace(errBox, alert('error', `${why} Press Start to try again.`));
    };
  };

  startBtn.addEventListener('click', () => (ws ? stop() : start()));
  pauseBtn.addEventListener('click', () => {
    paused = !paused;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    pauseBtn.setAttribute('aria-pressed', String(paused));
    setStatus(paused ? 'Paused' : 'Live', paused ? 'paused' : 'on');
    if (!paused) { schedule(); grant(); } else showCount();
  });
  clearBtn.addEventListener('click', () => {
    tbody.replaceChildren(emptyRow);
    total = 0;
    showCount();
  });
  capSel.addEventListener('change', () => trim(Number(capSel.value)));
  const tick = setInterval(showCount, 1000);
  start();

  return () => {
    clearInterval(tick);
    if (frame) cancelAnimationFrame(frame);
    stop();
  };
}
