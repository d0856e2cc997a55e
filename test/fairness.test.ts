// The bounded queue and the round-robin of slices (docs/ARCHITECTURE.md, docs/SAFETY.md "Bounded
// queues and fair dispatch"): real Components running kv 1.0.0 on one DispatchScheduler, a real
// TCP source for back-pressure. A deep queue does not starve a neighbour; a full queue refuses
// and counts; an upgrade always gets in; a timer is queued once; a TCP peer loses no line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HostResult } from '../host/abi/abi.js';
import { Component, DEFAULT_DISPATCH, DispatchScheduler } from '../host/component/component.js';
import type { ReplyTarget } from '../host/component/events.js';
import { TcpSource } from '../host/sources/tcp.js';
import { bundled } from './hostile/corpus.js';
import { TcpLineClient } from './support/clients.js';
import { prepareForTest, testPolicy } from './support/prepare.js';
import { RecordingQueue } from './support/recording-queue.js';
import { waitFor } from './support/wait-for.js';

const kv = await prepareForTest(bundled('kv', '1.0.0'), 'kv', '1.0.0');
const kv2 = await prepareForTest(bundled('kv', '2.0.0'), 'kv', '2.0.0');

async function kvComponent(name: string, options: { scheduler?: DispatchScheduler; queueEvents?: number } = {}): Promise<Component> {
  const component = new Component({ name, policy: testPolicy(), ...options });
  await component.load(kv);
  return component;
}

const message = (line: string, replyTo?: ReplyTarget) =>
  ({ kind: 'message', channel: 0, peer: 'test', payload: Buffer.from(line), ...(replyTo ? { replyTo } : {}) }) as const;

test('a component with 100,000 queued events does not delay its neighbour past the first slice round', async () => {
  const scheduler = new DispatchScheduler(DEFAULT_DISPATCH);
  const deep = await kvComponent('deep', { scheduler, queueEvents: 200_000 });
  const light = await kvComponent('light', { scheduler });
  const sink: ReplyTarget = { reply: () => HostResult.ok };
  for (let i = 0; i < 100_000; i++) assert.ok(deep.enqueue(message(`SET k${i % 1000} v${i}`, sink)));
  let deepHandledAtReply = -1;
  let reply = '';
  light.enqueue(
    message('SET answer 42', {
      reply: (bytes) => {
        deepHandledAtReply = deep.status().handled.message;
        reply = bytes.toString();
        return HostResult.ok;
      },
    }),
  );
  await waitFor(() => reply !== '', { what: 'the light component to answer' });
  assert.is(reply, 'OK');
  // Round one: one slice of `deep` (at most sliceEvents), then `light`'s single event.
  assert.ok(
    deepHandledAtReply >= 1 && deepHandledAtReply <= DEFAULT_DISPATCH.sliceEvents,
    `the deep queue had ${deepHandledAtReply} events handled when the light one answered`,
  );
  await waitFor(() => deep.queueDepth === 0, { what: 'the deep queue to drain', timeoutMs: 30_000 });
  assert.is(deep.status().handled.message, 100_000, 'every queued event was still handled, in order');
  deep.stop();
  light.stop();
});

test('a component that becomes ready while another works through a backlog goes before its next slice', async () => {
  const scheduler = new DispatchScheduler(DEFAULT_DISPATCH);
  const deep = await kvComponent('deep2', { scheduler, queueEvents: 200_000 });
  const light = await kvComponent('light2', { scheduler });
  const sink: ReplyTarget = { reply: () => HostResult.ok };
  for (let i = 0; i < 20_000; i++) assert.ok(deep.enqueue(message(`SET k${i % 1000} v${i}`, sink)));
  // This immediate runs after the scheduler's first turn (queued before it) and before its
  // second (queued by the first turn, so it runs in the event loop's next iteration): as a
  // request that arrives between two slices of the backlog does.
  await new Promise((resolve) => setImmediate(resolve));
  const afterFirstSlice = deep.status().handled.message;
  assert.ok(afterFirstSlice >= 1 && deep.queueDepth > 0, `the backlog had its first slice (${afterFirstSlice} handled)`);
  let deepHandledAtReply = -1;
  light.enqueue(
    message('SET answer 42', {
      reply: () => {
        deepHandledAtReply = deep.status().handled.message;
        return HostResult.ok;
      },
    }),
  );
  await waitFor(() => deepHandledAtReply >= 0, { what: 'the light component to answer' });
  assert.is(deepHandledAtReply, afterFirstSlice, "the newly ready component ran before the backlog's next slice");
  await waitFor(() => deep.queueDepth === 0, { what: 'the deep queue to drain', timeoutMs: 30_000 });
  assert.is(deep.status().handled.message, 20_000, 'every queued event was still handled');
  deep.stop();
  light.stop();
});

test('a full queue refuses and counts; an upgrade still gets in; a timer waiting is not queued twice', async () => {
  const component = await kvComponent('small', { queueEvents: 64 });
  let accepted = 0;
  for (let i = 0; i < 100; i++) if (component.enqueue(message(`SET k${i} v`))) accepted++;
  assert.is(accepted, 64);
  assert.is(component.status().dropped, 36);
  assert.ok(component.enqueue({ kind: 'timer', id: 7 }), 'a timer is accepted over the bound');
  assert.ok(component.enqueue({ kind: 'timer', id: 7 }), 'and coalesced with the one waiting');
  assert.is(component.queueDepth, 65, 'the second firing of timer 7 was not queued');
  const upgraded = component.upgrade(kv2); // queued behind the full queue: the bound does not apply
  assert.is(component.queueDepth, 66);
  const report = await upgraded;
  assert.is(report.result, 'ok');
  assert.is(component.module?.version, '2.0.0');
  assert.is(component.status().handled.message, 64);
  assert.is(component.status().dropped, 36);
  component.stop();
});

test('a TCP peer faster than the component is paused, not dropped: every line is answered, in order', async () => {
  const component = await kvComponent('tcp', { queueEvents: 32 });
  const source = await TcpSource.listen(component, 0, { host: '127.0.0.1', port: 0 });
  const client = await TcpLineClient.connect(source.address.port);
  const lines = Array.from({ length: 5000 }, (_, i) => [`SET key${i} value${i}`, `GET key${i}`]).flat();
  const replies = await client.pipeline(lines); // all written at once
  const expected = Array.from({ length: 5000 }, (_, i) => ['OK', `VALUE value${i}`]).flat();
  const first = replies.findIndex((r, i) => r !== expected[i]);
  assert.is(first, -1, `reply ${first} is "${replies[first]}", expected "${expected[first]}"`);
  assert.is(component.status().dropped, 0, 'TCP applies back-pressure; nothing was refused');
  assert.is(await client.request('GET key4999'), 'VALUE value4999');
  client.close();
  await source.close();
  component.stop();
});

test('a backlog alone gets long slices; while another component had work within the last second, short ones', async () => {
  const { sliceMs, sharedSliceMs } = DEFAULT_DISPATCH;
  assert.ok(sharedSliceMs < sliceMs);
  const scheduler = new DispatchScheduler(DEFAULT_DISPATCH);
  const order: string[] = [];
  const backlog = new RecordingQueue('backlog', 3, order);
  scheduler.ready(backlog);
  await waitFor(() => backlog.slices === 0, { what: 'three slices of the backlog' });
  // Alone: the long slice (less the few µs between the scheduler's clock read and the queue's).
  for (const b of backlog.budgets) assert.ok(b > sharedSliceMs, `a slice of ${b.toFixed(3)} ms while alone`);

  backlog.slices = 1_000_000;
  backlog.budgets.length = 0;
  scheduler.ready(backlog);
  await waitFor(() => backlog.budgets.length >= 2, { what: 'the backlog to run again' });
  const light = new RecordingQueue('light', 1, order);
  scheduler.ready(light);
  await waitFor(() => light.slices === 0, { what: 'the light queue to have its slice' });
  const from = backlog.budgets.length;
  await waitFor(() => backlog.budgets.length >= from + 5, { what: 'five more slices of the backlog' });
  // The light queue is done, but it had work less than a second ago: the backlog's slices stay short.
  for (const b of backlog.budgets.slice(from)) assert.ok(b <= sharedSliceMs, `a slice of ${b.toFixed(3)} ms next to a neighbour`);
  backlog.slices = 1; // its next slice is its last
  await waitFor(() => backlog.slices === 0, { what: 'the backlog to finish' });
});

test("a newly ready component's microtasks (its journal's group commit) run before the backlog's next slice", async () => {
  const scheduler = new DispatchScheduler(DEFAULT_DISPATCH);
  const order: string[] = [];
  const backlog = new RecordingQueue('backlog', 1_000_000, order);
  scheduler.ready(backlog);
  await waitFor(() => backlog.budgets.length >= 2, { what: 'the backlog to run' });
  const light = new RecordingQueue('light', 1, order);
  scheduler.ready(light);
  await waitFor(() => light.slices === 0 && order.at(-1) !== 'light slice', { what: 'the light queue to have its slice' });
  backlog.slices = 1;
  await waitFor(() => backlog.slices === 0, { what: 'the backlog to finish' });
  const at = order.indexOf('light slice');
  assert.equal(order.slice(at, at + 3), ['light slice', 'light microtask', 'backlog slice']);
});

test.run();
