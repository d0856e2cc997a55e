// Batched dispatch (docs/ABI.md "Batched messages", docs/PERFORMANCE.md "Dispatch"): real
// Components running real modules, whose SDK exports on_messages. Replies keep their order, an
// upgrade is a barrier no batch crosses, a trap in the middle of a batch names its message and
// the rest of the batch is still delivered, fuel is a budget per message, the slice's clock
// still ends a batch, and a module without on_messages is served one message at a time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HostResult } from '../host/abi/abi.js';
import { Component, DispatchScheduler } from '../host/component/component.js';
import type { ComponentEvent, EventTap, ReplyTarget } from '../host/component/events.js';
import type { FaultRecord } from '../host/component/fault-recovery.js';
import { ModuleFactory } from '../host/component/module-factory.js';
import { bundled, hostile, mutate } from './hostile/corpus.js';
import { prepareForTest, testPolicy } from './support/prepare.js';
import { waitFor } from './support/wait-for.js';

const kv1 = await prepareForTest(bundled('kv', '1.0.0'), 'kv', '1.0.0');
const kv2 = await prepareForTest(bundled('kv', '2.0.0'), 'kv', '2.0.0');
// kv 2.0.0 plus SPIN, an endless loop in on_message: it runs out of fuel.
const spinning = await prepareForTest(hostile('loop-message'), 'kv', '6.6.6-loop-message');

/** Collects replies in arrival order. */
class Replies implements ReplyTarget {
  readonly lines: string[] = [];
  reply(bytes: Buffer): number {
    this.lines.push(bytes.toString());
    return HostResult.ok;
  }
}

const message = (line: string, replyTo: ReplyTarget): ComponentEvent => ({
  kind: 'message',
  channel: 0,
  peer: `10.0.0.${line.length % 3}:4000`,
  payload: Buffer.from(line),
  replyTo,
});

async function component(name: string, options: { tap?: EventTap; scheduler?: DispatchScheduler } = {}): Promise<Component> {
  const c = new Component({ name, policy: testPolicy(), queueEvents: 100_000, ...options });
  await c.load(kv1);
  return c;
}

test('replies keep their order through batches, and the module got batches', async () => {
  const c = await component('order');
  const replies = new Replies();
  const expected: string[] = [];
  for (let i = 0; i < 2000; i++) {
    c.enqueue(message(`SET k${i % 300} v${i}`, replies));
    expected.push('OK');
    c.enqueue(message(`GET k${i % 300}`, replies));
    expected.push(`VALUE v${i}`);
  }
  await waitFor(() => replies.lines.length === expected.length, { what: 'every reply' });
  assert.equal(replies.lines, expected);
  assert.ok(c.batches > 0 && c.batches < 4000 / 2, `messages went in batches (${c.batches} batches for 4000 messages)`);
  assert.is(c.status().handled.message, 4000);
  c.stop();
});

test('an upgrade is a barrier: no batch crosses it, and every event passes the tap once, in order', async () => {
  const seen: ComponentEvent[] = [];
  const c = await component('barrier', { tap: { beforeDispatch: (_name, event) => void seen.push(event) } });
  seen.length = 0; // the load's own upgrade event
  const replies = new Replies();
  const events: ComponentEvent[] = [];
  for (let i = 0; i < 300; i++) events.push(message('VERSION', replies));
  for (const e of events) c.enqueue(e);
  const upgraded = c.upgrade(kv2);
  const after: ComponentEvent[] = [];
  for (let i = 0; i < 300; i++) after.push(message('VERSION', replies));
  for (const e of after) c.enqueue(e);
  const report = await upgraded;
  assert.is(report.queued, 300, 'the 300 messages behind the upgrade waited for it');
  await waitFor(() => replies.lines.length === 600, { what: 'every reply' });
  assert.equal(replies.lines, [...Array(300).fill('1.0.0'), ...Array(300).fill('2.0.0')]);
  assert.is(seen.length, 601);
  assert.equal(seen.slice(0, 300), events);
  assert.is(seen[300]!.kind, 'upgrade');
  assert.equal(seen.slice(301), after);
  assert.ok(c.batches >= 2, `both sides of the upgrade went in batches (${c.batches})`);
  c.stop();
});

test('a trap in the middle of a batch names its message, and the rest of the batch is still delivered', async () => {
  const c = await component('trap');
  await c.upgrade(spinning);
  const faults: FaultRecord[] = [];
  c.on({ onFault: (f) => void faults.push(f) });
  const replies = new Replies();
  for (let i = 0; i < 10; i++) c.enqueue(message(`SET k${i} v${i}`, replies));
  c.enqueue(message('SPIN now', replies));
  for (let i = 0; i < 10; i++) c.enqueue(message(`GET k${i}`, replies));
  await waitFor(() => replies.lines.length === 20, { what: 'the 20 replies around the trap' });
  assert.equal(replies.lines, [...Array(10).fill('OK'), ...Array.from({ length: 10 }, (_, i) => `VALUE v${i}`)]);
  assert.is(faults.length, 1);
  const fault = faults[0]!;
  assert.is(fault.kind, 'fuel');
  assert.match(fault.event, /"SPIN now"/);
  assert.is(fault.callback, 'on_message', "the trap is the message callback's, batched or not");
  // The batch holds the SPIN and the ten GETs behind it; a slice cut short by its clock (a busy
  // machine) may have sent SETs ahead of it, so only the SPIN's place from the end is fixed.
  const place = /^on_message \(message (\d+) of (\d+) in the batch\) of kv@6\.6\.6-loop-message ran out of fuel/.exec(fault.error);
  assert.ok(place, `the fault names its place in the batch: ${fault.error}`);
  assert.is(Number(place[2]) - Number(place[1]), 10, `the SPIN is followed by the ten GETs in its batch: ${fault.error}`);
  assert.is(c.status().handled.message, 20, 'the trapped message is not counted as handled');
  assert.is(c.state, 'running');
  c.stop();
});

test('fuel is a budget per message: a batch may spend many budgets, one message only one', async () => {
  // A kv SET of 64 bytes spends 80 to 160 units (a budget of 80 traps, 160 does not), so 1,000
  // fits one request several times over, but not 13 of them together.
  const policy = { ...testPolicy(), fuel: { ...testPolicy().fuel!, message: 1000 } };
  const factory = new ModuleFactory();
  try {
    const small = await factory.prepare(bundled('kv', '1.0.0'), { name: 'kv', version: '1.0.0' }, policy);
    const c = new Component({ name: 'fuel', policy });
    await c.load(small);
    const replies = new Replies();
    const n = 100; // one batch, unless the slice's clock cuts it
    for (let i = 0; i < n; i++) c.enqueue(message(`SET key-${i}-${'x'.repeat(40)} ${'v'.repeat(19)}`, replies));
    await waitFor(() => replies.lines.length === n, { what: 'every reply' });
    assert.is(c.status().faults, 0, 'no message ran out of its own budget');
    // Some batch held 13 or more requests, which together spent more than one budget.
    assert.ok(c.batches >= 1 && c.batches < n / 13, `they went in few batches (${c.batches})`);
    const spin = await factory.prepare(hostile('loop-message'), { name: 'kv', version: '6.6.6-loop-message' }, policy);
    const faults: FaultRecord[] = [];
    c.on({ onFault: (f) => void faults.push(f) });
    await c.upgrade(spin);
    for (let i = 0; i < 5; i++) c.enqueue(message(`GET key-${i}-${'x'.repeat(40)}`, replies));
    c.enqueue(message('SPIN', replies));
    await waitFor(() => faults.length === 1 && replies.lines.length === n + 5, { what: 'the trap and the five replies' });
    assert.match(faults[0]!.error, /ran out of fuel \(budget 1000 units for message\)/);
    c.stop();
  } finally {
    await factory.close();
  }
});

test("the slice's clock still ends a batch", async () => {
  const scheduler = new DispatchScheduler({ sliceEvents: 256, sliceMs: 0.01 });
  const c = await component('clock', { scheduler });
  const replies = new Replies();
  for (let i = 0; i < 200; i++) c.enqueue(message(`SET k${i} v`, replies));
  // Runs after the scheduler's first turn (queued before it), before its second.
  await new Promise((resolve) => setImmediate(resolve));
  const first = c.status().handled.message;
  assert.ok(first >= 1 && first < 100, `the first 10 µs slice handled ${first} of 200 messages`);
  await waitFor(() => replies.lines.length === 200, { what: 'every reply' });
  c.stop();
});

test('a module without on_messages (built before it existed) is served one message at a time', async () => {
  const bytes = mutate(bundled('kv', '1.0.0'), (mod) => mod.removeExport('on_messages'));
  const old = await prepareForTest(bytes, 'kv', '1.0.0');
  const c = new Component({ name: 'single', policy: testPolicy() });
  await c.load(old);
  const replies = new Replies();
  for (let i = 0; i < 100; i++) c.enqueue(message(`SET k${i} v${i}`, replies));
  for (let i = 0; i < 100; i++) c.enqueue(message(`GET k${i}`, replies));
  await waitFor(() => replies.lines.length === 200, { what: 'every reply' });
  assert.equal(
    replies.lines.slice(100),
    Array.from({ length: 100 }, (_, i) => `VALUE v${i}`),
  );
  assert.is(c.batches, 0);
  c.stop();
});

test.run();
