// Unit tests of the `net` capability's output pacing (host/capabilities/pacing.ts) on real
// timers: a burst leaves at once, the rest one per gap and in order, a full queue refuses and
// reports, and per-interface overrides apply. No namespaces, no root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type NetCapabilityConfig, pacingOf } from '../host/capabilities/config.js';
import { InterfacePacer, type PacedDatagram } from '../host/capabilities/pacing.js';
import { waitFor } from './support/wait-for.js';

const datagram = (n: number): PacedDatagram => ({ bytes: Buffer.from([n]), port: 520, host: '224.0.0.9' });

test('a burst leaves at once, the rest one per gap, in order', async () => {
  const sent: { n: number; at: number }[] = [];
  const pacer = new InterfacePacer(
    { burst: 4, gapMs: 10, queue: 100 },
    { send: (d) => sent.push({ n: d.bytes[0]!, at: performance.now() }), dropped: () => assert.unreachable('nothing dropped') },
  );
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) pacer.push(datagram(i));
  assert.is(sent.length, 4, 'the burst left synchronously');
  assert.is(pacer.waiting, 16);
  await waitFor(() => sent.length === 20, { what: 'all 20 datagrams to leave', timeoutMs: 10_000 });
  assert.equal(
    sent.map((s) => s.n),
    [...Array(20).keys()],
    'in order',
  );
  // 16 after the burst, one per 10 ms: at least 150 ms in all (timers never fire early).
  assert.ok(sent.at(-1)!.at - t0 >= 150, `spread over ${(sent.at(-1)!.at - t0).toFixed(0)} ms`);
});

test('a full queue refuses and reports each datagram; clear() reports what waited', () => {
  const dropped: number[] = [];
  const pacer = new InterfacePacer({ burst: 1, gapMs: 1000, queue: 3 }, { send: () => {}, dropped: (d) => dropped.push(d.bytes[0]!) });
  for (let i = 0; i < 6; i++) pacer.push(datagram(i));
  assert.equal(dropped, [4, 5], 'one left, three wait, two refused');
  pacer.clear();
  assert.equal(dropped, [4, 5, 1, 2, 3]);
  assert.is(pacer.waiting, 0);
});

test('pacingOf: the section with the interface overrides', () => {
  const net: NetCapabilityConfig = {
    port: 520,
    group: '224.0.0.9',
    receiveBuffer: 1 << 20,
    pacing: { burst: 16, gapMs: 5, queue: 4096, interfaces: { eth1: { gapMs: 20 } } },
  };
  assert.equal(pacingOf(net, 'eth0'), { burst: 16, gapMs: 5, queue: 4096 });
  assert.equal(pacingOf(net, 'eth1'), { burst: 16, gapMs: 20, queue: 4096 });
});

test.run();
