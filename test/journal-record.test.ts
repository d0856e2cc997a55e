// The journal's record encoding when the batch buffer grows under it: every record written while
// ByteSink reallocates decodes back whole (a write into the buffer being replaced was lost).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteSink } from '../host/durability/journal/byte-sink.js';
import { decodeRecord, encodeRecord, RecordKind } from '../host/durability/journal/record.js';

test('records encoded across many growths of the batch buffer decode back exactly', () => {
  const sink = new ByteSink(16);
  const payloads = Array.from({ length: 2_000 }, (_, i) => Buffer.from(`SET key${i} ${'v'.repeat(i % 97)}`));
  payloads.forEach((payload, i) => {
    const body = { kind: RecordKind.message, channel: 1, iface: -1, peer: '127.0.0.1:4000', payload, repliable: true } as const;
    encodeRecord(sink, { seq: i + 1, wallMs: 1_700_000_000_000 + i, monoMs: i + 0.5, component: 'kv', body, tape: Buffer.from([i & 255]) });
  });
  const bytes = sink.view();
  let at = 0;
  for (let i = 0; i < payloads.length; i++) {
    const result = decodeRecord(bytes, at);
    if (!result.ok) throw new Error(`record ${i + 1} at byte ${at}: ${result.reason}`);
    const { record } = result;
    assert.is(record.seq, i + 1);
    assert.is(record.monoMs, i + 0.5);
    assert.ok(record.body.kind === RecordKind.message && record.body.payload.equals(payloads[i]!), `record ${i + 1}'s payload`);
    assert.equal([...record.tape], [i & 255]);
    at += result.length;
  }
  assert.is(at, bytes.length);
});

test.run();
