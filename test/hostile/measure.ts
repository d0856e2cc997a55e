/**
 * Measures what the safety machinery costs (numbers quoted in docs/SAFETY.md; not a test):
 *   npx tsx test/hostile/measure.ts
 * fuel metering per event and per fuel unit, prepare time, snapshot/restore of 1 MB and 100 MB,
 * and the pause of a swap that is rolled back.
 */
import { MEMORY_BASE } from '../../host/abi/abi.js';
import { PersistentMemory } from '../../host/abi/memory.js';
import { Component } from '../../host/component/component.js';
import { ModuleFactory } from '../../host/component/module-factory.js';
import type { ModulePolicy } from '../../host/modules/check.js';
import { DEFAULT_FUEL, type FuelBudgets } from '../../host/modules/fuel-budgets.js';
import { bundled, hostile, TEST_FUEL } from './corpus.js';

const factory = new ModuleFactory(); // prepares modules outside an engine

const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1]!;
const base: ModulePolicy = { memoryBase: MEMORY_BASE, maxPages: (MEMORY_BASE >> 16) + 1024, maxModuleBytes: 1 << 20, allowWasi: false };

async function perEvent(fuel: FuelBudgets | null): Promise<{ get: number; set: number; prepareMs: number }> {
  const policy = { ...base, fuel };
  const c = new Component({ name: 'kv', policy });
  const m = await factory.prepare(bundled('kv', '2.0.0'), { name: 'kv', version: '2.0.0' }, policy);
  await c.load(m);
  const N = 100_000;
  const run = async (line: (i: number) => string): Promise<number> => {
    const samples: number[] = [];
    for (let round = 0; round < 5; round++) {
      let left = N;
      const t = performance.now();
      await new Promise<void>((done) => {
        for (let i = 0; i < N; i++) {
          c.enqueue({
            kind: 'message',
            channel: 0,
            peer: 'm',
            payload: Buffer.from(line(i)),
            replyTo: {
              reply: () => {
                if (--left === 0) done();
                return 0;
              },
            },
          });
        }
      });
      samples.push(((performance.now() - t) * 1e6) / N);
    }
    return median(samples);
  };
  const set = await run((i) => `SET key${i} value${i}`);
  const get = await run((i) => `GET key${i}`);
  c.stop();
  return { get, set, prepareMs: m.prepareMs };
}

const unmetered = await perEvent(null);
const metered = await perEvent(DEFAULT_FUEL);
console.log(`kv 2.0.0 per event through the queue (ns, median of 5 x 100k):`);
console.log(`  unmetered: GET ${unmetered.get.toFixed(0)}  SET ${unmetered.set.toFixed(0)}  prepare ${unmetered.prepareMs.toFixed(1)} ms`);
console.log(`  metered:   GET ${metered.get.toFixed(0)}  SET ${metered.set.toFixed(0)}  prepare ${metered.prepareMs.toFixed(1)} ms`);

{
  // How long a runaway handler runs before its budget traps it.
  const policy = { ...base, fuel: TEST_FUEL };
  const c = new Component({ name: 'kv', policy });
  await c.load(await factory.prepare(bundled('kv', '2.0.0'), { name: 'kv' }, policy));
  await c.upgrade(await factory.prepare(hostile('loop-message'), { name: 'kv' }, policy));
  const samples: number[] = [];
  c.on({ onFault: () => {} });
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await new Promise<void>((done) => {
      c.enqueue({ kind: 'message', channel: 0, peer: 'm', payload: Buffer.from('SPIN') });
      c.enqueue({
        kind: 'message',
        channel: 0,
        peer: 'm',
        payload: Buffer.from('COUNT'),
        replyTo: {
          reply: () => {
            done();
            return 0;
          },
        },
      });
    });
    samples.push(performance.now() - t);
  }
  console.log(
    `runaway on_message, budget ${TEST_FUEL.message} units: trapped and re-instantiated in ${median(samples).toFixed(1)} ms (median of 5)`,
  );
  c.stop();
}

for (const mb of [1, 100]) {
  // snapshot and restore of the persistent bytes in use
  const mem = new PersistentMemory({ maxBytes: MEMORY_BASE + (1 << 20) });
  // Real bytes (untouched pages would be the kernel's shared zero page, and copy unrealistically fast).
  const bytes = new Uint8Array(mem.memory.buffer, 0, mb * 1024 * 1024);
  for (let i = 0; i < bytes.length; i += 4096) bytes.fill(i & 0xff, i, i + 4096);
  const v = new Uint32Array(mem.memory.buffer);
  v[(256 + 20) >>> 2] = mb * 1024 * 1024; // heapTop: the high-water mark the snapshot copies up to
  const snap: number[] = [];
  const restore: number[] = [];
  for (let i = 0; i < 7; i++) {
    let t = performance.now();
    const s = mem.snapshot();
    snap.push(performance.now() - t);
    t = performance.now();
    mem.restore(s);
    restore.push(performance.now() - t);
  }
  console.log(`snapshot ${mb} MB: ${median(snap).toFixed(2)} ms, restore ${median(restore).toFixed(2)} ms (median of 7)`);
}

{
  // Pause of a rolled-back swap (scribble + trap in restart) over 100k keys, by snapshot size.
  const policy = { ...base, fuel: TEST_FUEL };
  const c = new Component({ name: 'kv', policy });
  await c.load(await factory.prepare(bundled('kv', '2.0.0'), { name: 'kv' }, policy));
  await new Promise<void>((done) => {
    let left = 100_000;
    for (let i = 0; i < 100_000; i++) {
      c.enqueue({
        kind: 'message',
        channel: 0,
        peer: 'm',
        payload: Buffer.from(`SET key${i} value${i}`),
        replyTo: {
          reply: () => {
            if (--left === 0) done();
            return 0;
          },
        },
      });
    }
  });
  const bad = await factory.prepare(hostile('restart-writes-then-traps'), { name: 'kv' }, policy);
  const ok = await factory.prepare(bundled('kv', '2.0.0'), { name: 'kv' }, policy);
  const pauses: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 5; i++) {
    const r = await c.upgrade(bad);
    pauses.push(r.pauseUs / 1000);
    bytes = r.snapshotBytes;
  }
  const good: number[] = [];
  const snapUs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await c.upgrade(ok);
    good.push(r.pauseUs / 1000);
    snapUs.push((r.phasesUs.snapshot ?? 0) / 1000);
  }
  console.log(
    `rolled-back swap with ${(bytes / 1e6).toFixed(1)} MB in use (100k keys): pause ${median(pauses).toFixed(2)} ms; ` +
      `successful swap with the same snapshot: ${median(good).toFixed(2)} ms, of which snapshot ${median(snapUs).toFixed(2)} ms (medians of 5)`,
  );
  c.stop();
}
