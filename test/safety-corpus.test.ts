// The hostile corpus under steady traffic (docs/SAFETY.md): a real UDP client keeps
// SETting fresh keys on a kv 2.0.0 component while each hostile module is tried. Every case
// proves the right rejection, rollback or fault; that 2.0.0 still answers afterwards; and that
// every request sent during the case got its OK and its key reads back.
import binaryen from 'binaryen';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FaultRecord } from '../host/component/component.js';
import type { EventTap } from '../host/component/events.js';
import type { SwapReport } from '../host/component/swap.js';
import type { Engine } from '../host/engine.js';
import { ModuleRejected } from '../host/modules/errors.js';
import { bundled, hostile, mutate, SteadyTraffic, startKvEngine, stubModule, TEST_FUEL, UdpProbe, udpPort } from './hostile/corpus.js';
import { persistentDigest } from './support/persistent-digest.js';
import { waitFor } from './support/wait-for.js';

let engine: Engine;
let probe: UdpProbe;
const faults: FaultRecord[] = [];
const swaps: SwapReport[] = [];

// Digests of the persistent data, taken right before the swap and right after it (before any
// later event can touch them): the transaction must put them back exactly.
const persistentHash = (): string => persistentDigest(engine.component('kv').memory);
let around: { before?: string; after?: string } | null = null;
const tap: EventTap = {
  beforeDispatch: (_name, event) => {
    if (!around) return;
    if (event.kind === 'upgrade') around.before = persistentHash();
    else if (around.before !== undefined && around.after === undefined) around.after = persistentHash();
  },
};

test.before(async () => {
  engine = await startKvEngine({ wasi: true }, { tap });
  engine.onFault((f) => faults.push(f));
  engine.onSwap((r) => {
    swaps.push(r);
    if (around?.before !== undefined && around.after === undefined) around.after = persistentHash();
  });
  probe = new UdpProbe(udpPort(engine));
  for (let i = 0; i < 300; i++) assert.is(await probe.request(`SET base${i} value${i}`), 'OK');
});
test.after(async () => {
  probe?.close();
  await engine?.stop();
});

let caseNo = 0;
/** Runs one case under steady traffic, then checks nothing was lost and 2.0.0 still serves. */
async function underTraffic(body: () => Promise<void>): Promise<void> {
  const prefix = `c${++caseNo}-`;
  const traffic = new SteadyTraffic(udpPort(engine), prefix).start(3000, 8000);
  await waitFor(() => traffic.replies.length > 0, { what: 'the first reply of the steady traffic' });
  try {
    await body();
  } finally {
    // Traffic still flows after the case: one more request answered, unless it already sent
    // everything it was allowed to (it is bounded in count).
    const answered = traffic.replies.length;
    await waitFor(() => traffic.replies.length > answered || traffic.finished, { what: 'a reply after the case' });
    const { sent, replies } = await traffic.stop();
    assert.ok(sent > 0, 'traffic flowed during the case');
    assert.is(replies.length, sent, 'one reply per request');
    assert.ok(
      replies.every((r) => r === 'OK'),
      `every SET answered OK: ${replies.filter((r) => r !== 'OK').slice(0, 3)}`,
    );
    for (const i of [0, sent >> 1, sent - 1]) assert.is(await probe.request(`GET ${prefix}${i}`), `VALUE v${i}`);
  }
  assert.is(await probe.request('VERSION'), '2.0.0', 'the old version still answers');
  assert.is(await probe.request('GET base299'), 'VALUE value299');
}

async function rejected(bytes: Uint8Array, version: string, ...expected: RegExp[]): Promise<ModuleRejected> {
  let error: unknown;
  await underTraffic(async () => {
    try {
      await engine.upgrade('kv', { bytes, version });
    } catch (e) {
      error = e;
    }
  });
  assert.instance(error, ModuleRejected, `expected a rejection, got ${String(error)}`);
  const r = error as ModuleRejected;
  assert.ok(r.message.includes(`kv@${version}`), `names module and version: ${r.message}`);
  for (const e of expected) assert.match(r.message, e);
  return r;
}

const kv2 = (): Uint8Array => bundled('kv', '2.0.0');

test('bytes that are not Wasm are rejected', async () => {
  await rejected(Buffer.from('#!/bin/sh\nrm -rf /\n'), '9.0.0', /not a WebAssembly module/);
});

test('a truncated module is rejected', async () => {
  const bytes = kv2();
  await rejected(bytes.subarray(0, bytes.length >> 1), '2.0.0', /invalid WebAssembly/);
});

test('forbidden imports are rejected by name: WASI path_open, an unknown env function', async () => {
  const withImport = (module: string, base: string, params: number[], result: number): Uint8Array =>
    mutate(kv2(), (mod) => {
      mod.addFunctionImport('evil', module, base, binaryen.createType(params), result);
      // Call it from a new export, so nothing can drop the import as unused.
      mod.addFunction(
        'evil_caller',
        binaryen.none,
        binaryen.none,
        [],
        mod.drop(
          mod.call(
            'evil',
            params.map(() => mod.i32.const(0)),
            result,
          ),
        ),
      );
      mod.addFunctionExport('evil_caller', 'evil_caller');
    });
  const i32 = binaryen.i32;
  await rejected(
    withImport('wasi_snapshot_preview1', 'path_open', [i32, i32, i32, i32, i32, i32, i32, i32, i32], i32),
    '2.0.0',
    /import wasi_snapshot_preview1\.path_open: WASI function not allowed/,
  );
  await rejected(withImport('env', 'system', [i32], i32), '2.0.0', /import env\.system: not offered by the host/);
});

test('a missing export and a wrong signature are rejected by name', async () => {
  await rejected(
    mutate(kv2(), (mod) => mod.removeExport('on_timer')),
    '2.0.0',
    /export on_timer: missing/,
  );
  const wrong = mutate(kv2(), (mod) => {
    mod.removeExport('on_message');
    mod.addFunction('bad_on_message', binaryen.createType([binaryen.i32]), binaryen.i32, [], mod.i32.const(0));
    mod.addFunctionExport('bad_on_message', 'on_message');
  });
  await rejected(wrong, '2.0.0', /export on_message: signature \(i32\) -> \(i32\), expected \(i32, i32\) -> \(\)/);
});

test('memory: a data segment in persistent memory, a declared maximum, an ABI mismatch', async () => {
  const stub = (options: Parameters<typeof stubModule>[0]): Uint8Array => stubModule(options);
  const segment = await rejected(stub({ segmentAt: 4096 }), '0.0.0', /data segment 0: at offset 4096 .* below memoryBase/);
  assert.is(segment.problems.length, 1, 'the segment is the only problem of the stub');
  await rejected(stub({ maxPages: 8192 }), '0.0.0', /memory: declares a maximum of 8192 pages/);
  await rejected(stub({ abiVersion: 99 }), '', /module reports ABI 99, the host speaks ABI 1/);
});

test('an oversized module is rejected before it is parsed', async () => {
  const big = mutate(kv2(), (mod) => mod.addCustomSection('padding', new Uint8Array(1024 * 1024)));
  await rejected(big, '2.0.0', /module is \d+ bytes, over the limit of 1048576/);
});

test('an endless loop in init is caught by fuel during the warm-up', async () => {
  await rejected(
    hostile('loop-init'),
    '6.6.6-loop-init',
    new RegExp(`init failed during warm-up: .*ran out of fuel \\(budget ${TEST_FUEL.init}`),
  );
});

/** Upgrades to a hostile module that must be rolled back inside the swap. */
async function rolledBack(name: string, version: string): Promise<SwapReport> {
  let report!: SwapReport;
  await underTraffic(async () => {
    report = await engine.upgrade('kv', { bytes: hostile(name), version });
  });
  assert.is(report.result, 'rolled_back', `${name}: ${report.cause}`);
  assert.is(report.module, 'kv');
  assert.is(report.to, version);
  assert.ok(report.cause?.includes(`kv@${version}`), report.cause);
  return report;
}

test('an endless loop in restart is rolled back (out of fuel)', async () => {
  const r = await rolledBack('loop-restart', '6.6.6-loop-restart');
  assert.is(r.failedPhase, 'restart');
  assert.is(r.trap, 'fuel');
});

/** A hostile swap that must roll back with the persistent bytes hashed equal before and after. */
async function rolledBackExactly(name: string, version: string): Promise<SwapReport> {
  around = {};
  const r = await rolledBack(name, version);
  const { before, after } = around;
  around = null;
  assert.ok(before !== undefined && after !== undefined, 'hashes taken around the swap');
  assert.is(after, before, 'persistent bytes restored exactly');
  return r;
}

test('a trap in restart after scribbling over persistent memory: the bytes come back exactly', async () => {
  const r = await rolledBackExactly('restart-writes-then-traps', '6.6.6-scribble');
  assert.is(r.failedPhase, 'restart');
  assert.ok(r.phasesUs.snapshot !== undefined, 'a rollback copy was taken before the swap');
});

test('a migrate that corrupts half the values and traps: rolled back, every value intact', async () => {
  const r = await rolledBackExactly('migrate-traps-halfway', '6.6.6-half-migrate');
  assert.is(r.failedPhase, 'migrate');
  for (let i = 0; i < 300; i += 7) assert.is(await probe.request(`GET base${i}`), `VALUE value${i}`);
});

test('an endless loop in on_message: each event fails alone; probation rolls back by itself', async () => {
  await underTraffic(async () => {
    const report = await engine.upgrade('kv', { bytes: hostile('loop-message'), version: '6.6.6-loop-message' });
    assert.is(report.result, 'ok');
    const seen = faults.length;
    const swapsBefore = swaps.length;
    probe.send('SPIN 1');
    await waitFor(() => faults.length > seen, { what: 'the first fault' });
    const fault = faults[seen]!;
    assert.is(fault.module, 'kv');
    assert.is(fault.version, '6.6.6-loop-message');
    assert.is(fault.kind, 'fuel');
    assert.is(fault.callback, 'on_message');
    assert.match(fault.event, /SPIN 1/);
    // The same module was re-instantiated over the same memory and goes on with the next event.
    assert.is(await probe.request('VERSION'), '6.6.6-loop-message');
    probe.send('SPIN 2');
    probe.send('SPIN 3'); // the third fault is more than maxFaults (2): automatic rollback
    await waitFor(() => swaps.slice(swapsBefore).some((s) => s.automatic !== undefined), { what: 'the automatic rollback' });
    const rollback = swaps.slice(swapsBefore).find((s) => s.automatic !== undefined)!;
    assert.is(rollback.reason, 'rollback');
    assert.is(rollback.result, 'ok');
    assert.is(rollback.from, '6.6.6-loop-message');
    assert.is(rollback.to, '2.0.0');
    assert.match(rollback.automatic!, /probation: 3 faults .* 6\.6\.6-loop-message/);
  });
});

test('an endless loop in on_timer: faults every time the timer fires until probation rolls back', async () => {
  await underTraffic(async () => {
    const swapsBefore = swaps.length;
    const seen = faults.length;
    const report = await engine.upgrade('kv', { bytes: hostile('loop-timer'), version: '6.6.6-loop-timer' });
    assert.is(report.result, 'ok');
    await waitFor(() => swaps.slice(swapsBefore).some((s) => s.automatic !== undefined), { what: 'the automatic rollback' });
    const timerFaults = faults.slice(seen).filter((f) => f.version === '6.6.6-loop-timer');
    assert.is(timerFaults.length, 3);
    assert.ok(timerFaults.every((f) => f.kind === 'fuel' && f.callback === 'on_timer' && f.event === 'timer 7'));
  });
});

test('unbounded memory.grow traps at the cap; deep recursion overflows the stack; both recover', async () => {
  const cap = engine.component('kv').memory.maxPages;
  for (const [name, version, command, kind] of [
    ['grow-unbounded', '6.6.6-grow', 'GROW', 'memory'],
    ['deep-recursion', '6.6.6-recurse', 'RECURSE', 'stack'],
  ] as const) {
    await underTraffic(async () => {
      assert.is((await engine.upgrade('kv', { bytes: hostile(name), version })).result, 'ok');
      const seen = faults.length;
      probe.send(command);
      await waitFor(() => faults.length > seen, { what: `the ${command} fault` });
      assert.is(faults[seen]!.kind, kind, faults[seen]!.error);
      assert.is(await probe.request('VERSION'), version, 'same module re-instantiated, still serving');
      const back = await engine.rollback('kv');
      assert.is(back.result, 'ok');
      assert.is(back.to, '2.0.0');
    });
  }
  assert.ok(engine.component('kv').memory.pages <= cap, 'memory never passed the host maximum');
});

test.run();
