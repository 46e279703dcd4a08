// Produce form: POST /topics/{t}/records (or .../partitions/{p}/records).
// A JSON value is sent as the exact text typed (after checking it parses), so
// consumers get those bytes; a text value is sent as value_base64 of its
// UTF-8 bytes, i.e. raw bytes as a Kafka client would write a string; a key
// is a JSON string (its UTF-8 bytes are the key).

import {h, replace, alert, field, select, href} from '../dom.js';
import {post, enc, describeError} from '../api.js';
import {encodeBase64} from '../records.js';

export function renderProduce(box, {topic, desc, refresh}) {
  const partitionSel = select({name: 'partition'}, [['', 'Automatic (by key, else sticky)'],
    ...desc.partitions.map((p) => [String(p.partition), `Partition ${p.partition}`])], '');
  const acksSel = select({name: 'acks'}, [['all', 'all (every in-sync replica)'], ['1', '1 (leader)'], ['0', '0 (no wait)']], 'all');
  const keyIn = h('input', {name: 'key', autocomplete: 'off', spellcheck: 'false', placeholder: 'no key'});
  const valueIn = h('textarea', {name: 'value', spellcheck: 'false', rows: '8', placeholder: '{"hello": "world"}'});
  const fmt = (v, label, checked) => h('label', {class: 'inline-choice'},
    h('input', {type: 'radio', name: 'format', value: v, checked}), label);
  const formatSet = h('fieldset', null, h('legend', null, 'Value format'),
    fmt('json', 'JSON', true), fmt('text', 'Text (UTF-8 bytes)', false), fmt('null', 'Null (tombstone)', false),
    h('div', {class: 'hint', id: 'format-hint'}));
  const headersBox = h('div', {id: 'headers-box'});
  const addHeader = (k = '', v = '') => {
    const n = headersBox.children.length + 1;
    const row = h('div', {class: 'header-row'},
      h('input', {placeholder: 'name', 'aria-label': `Header ${n} name`, value: k, class: 'h-name', autocomplete: 'off'}),
      h('input', {placeholder: 'value', 'aria-label': `Header ${n} value`, value: v, class: 'h-value', autocomplete: 'off'}),
      h('button', {type: 'button', class: 'btn btn-ghost', 'aria-label': `Remove header ${n}`, onclick: () => row.remove()}, '✕'));
    headersBox.append(row);
    row.querySelector('input').focus();
  };
  const result = h('div', {id: 'produce-result', 'aria-live': 'polite'});
  const submit = h('button', {type: 'submit', class: 'btn btn-primary'}, 'Produce');
  const form = h('form', {novalidate: true, class: 'card', id: 'produce-form', 'aria-label': `Produce a record to ${topic}`},
    h('div', {class: 'field-row'}, field('Partition', partitionSel), field('Acks', acksSel)),
    field('Key', keyIn, 'Sent as a JSON string: its UTF-8 bytes are the key. Empty: no key.'),
    formatSet,
    field('Value', valueIn),
    h('fieldset', null, h('legend', null, 'Headers'), headersBox,
      h('button', {type: 'button', class: 'btn btn-small', onclick: () => addHeader()}, '+ Add header')),
    result,
    h('div', {class: 'form-actions'}, submit));
  box.append(form);

  const hints = {
    json: 'Sent byte for byte as typed; it must be one JSON value.',
    text: 'Sent as raw bytes (value_base64 of the UTF-8 text); consumers read the text\'s bytes, not a JSON string.',
    null: 'A null value: a tombstone for its key.',
  };
  const format = () => form.querySelector('input[name="format"]:checked').value;
  const syncFormat = () => {
    form.querySelector('#format-hint').textContent = hints[format()];
    valueIn.disabled = format() === 'null';
  };
  formatSet.addEventListener('change', syncFormat);
  syncFormat();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    valueIn.removeAttribute('aria-invalid');
    const parts = [];
    if (keyIn.value !== '') parts.push(`"key":${JSON.stringify(keyIn.value)}`);
    const f = format();
    if (f === 'json') {
      const text = valueIn.value.trim();
      try {
        JSON.parse(text);
      } catch (err) {
        valueIn.setAttribute('aria-invalid', 'true');
        replace(result, alert('error', `The value is not valid JSON: ${err.message}. Choose "Text" to send it as plain text.`));
        valueIn.focus();
        return;
      }
      parts.push(`"value":${text}`);
    } else if (f === 'text') {
      parts.push(`"value_base64":${JSON.stringify(encodeBase64(new TextEncoder().encode(valueIn.value)))}`);
    }
    const headers = {};
    for (const row of headersBox.children) {
      const k = row.querySelector('.h-name').value;
      if (k !== '') headers[k] = row.querySelector('.h-value').value;
    }
    if (Object.keys(headers).length) parts.push(`"headers":${JSON.stringify(headers)}`);
    const p = partitionSel.value;
    const path = p === '' ? `/topics/${enc(topic)}/records` : `/topics/${enc(topic)}/partitions/${p}/records`;
    submit.disabled = true;
    try {
      const res = await post(`${path}?acks=${acksSel.value}`, `{"records":[{${parts.join(',')}}]}`);
      const o = res.offsets?.[0];
      if (res.accepted !== undefined) replace(result, alert('ok', 'Accepted (acks=0: not waiting for the write).'));
      else if (o?.error) replace(result, alert('error', `${o.error.message} (${o.error.code})`));
      else {
        replace(result, alert('ok', `Produced to partition ${o.partition} at offset ${o.offset}. `,
          h('a', {href: href(['topics', topic, 'messages'], {p: o.partition, from: 'offset', offset: o.offset})}, 'View it')));
        refresh().catch(() => {});
      }
    } catch (err) {
      replace(result, alert('error', describeError(err)));
    } finally {
      submit.disabled = false;
    }
  });
}
