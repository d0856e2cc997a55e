// wasm-hotswap/testing's TestComponent, the harness a module author's tests use: the bundled
// modules and the hostile corpus run in process, over a fresh memory, on a virtual clock.
// Messages and replies, timers fired by advancing the clock, signals, an upgrade that keeps the
// state, a fault (fuel) and quota hits, and a build the engine's checks refuse.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ModuleRejected } from '../host/modules/errors.js';
import { ModuleChecks, TestComponent } from '../host/testing/index.js';
import { repoRoot } from './support/engine-process.js';

const modules = join(repoRoot, 'build', 'modules');
const hostile = join(repoRoot, 'build', 'hostile');
/** One checker for the file: its worker thread (binaryen) starts once. */
const checks = new ModuleChecks();

test('messages get their replies; an upgrade keeps the data and brings the new commands', async () => {
  const c = await TestComponent.start(join(modules, 'kv', '1.0.0.wasm'), { checks, name: 'kv', version: '1.0.0' });
  try {
    assert.equal(await c.send('SET greeting hello world'), ['OK']);
    assert.equal(await c.send('GET greeting'), ['VALUE hello world']);
    assert.equal(await c.send('DEL greeting'), ['ERROR unknown command']);
    const report = await c.upgrade(join(modules, 'kv', '2.0.0.wasm'), '2.0.0');
    assert.is(report.result, 'ok', report.cause ?? '');
    assert.is(c.version, '2.0.0');
    assert.equal(await c.send('GET greeting'), ['VALUE hello world']);
    assert.equal(await c.send('DEL greeting'), ['DELETED']);
    assert.equal(await c.send('COUNT'), ['0']);
    assert.is(c.status().handled.message, 6);
    assert.is(c.faults.length, 0);
  } finally {
    await c.close();
  }
});

test('timers fire on the virtual clock, at their due times, and a timer set by one version fires in the next', async () => {
  const c = await TestComponent.start(join(modules, 'beacon', '1.0.0.wasm'), { checks, name: 'beacon' });
  try {
    assert.equal(await c.send('TICKS'), ['0']);
    await c.advance(99);
    assert.equal(await c.send('TICKS'), ['0'], 'the 100 ms tick is not due at 99 ms');
    await c.advance(1);
    assert.equal(await c.send('TICKS'), ['1']);
    await c.advance(1000);
    assert.equal(await c.send('TICKS'), ['11']);
    assert.equal(await c.send('DUE'), ['14900'], 'the 16 s timer, 1.1 s later');
    assert.is((await c.upgrade(join(modules, 'beacon', '1.1.0.wasm'))).result, 'ok');
    await c.advance(14900);
    assert.equal(await c.send('DUE'), ['-1'], 'the one-shot fired in 1.1.0');
    assert.equal(await c.send('TICKS'), ['160']);
    assert.is(c.clock.elapsedMs, 16000);
  } finally {
    await c.close();
  }
});

test('signals reach the module', async () => {
  const c = await TestComponent.start(join(modules, 'beacon', '1.0.0.wasm'), { checks, name: 'beacon' });
  try {
    await c.signal('SIGHUP');
    await c.signal('SIGUSR2');
    await c.signal('SIGUSR2');
    assert.equal(await c.send('SIGNALS'), ['hup=1 usr1=0 usr2=2']);
    assert.ok(c.logs.some((l) => l.includes('signal 1 handled by 1.0.0')));
  } finally {
    await c.close();
  }
});

test('a handler that runs out of fuel is a fault: recorded, and the data survives', async () => {
  const c = await TestComponent.start(join(hostile, 'loop-message.wasm'), { checks, name: 'kv' });
  try {
    await c.send('SET a 1');
    assert.equal(await c.send('SPIN'), []);
    assert.is(c.faults.length, 1);
    assert.is(c.faults[0]!.kind, 'fuel');
    assert.is(c.faults[0]!.callback, 'on_message');
    assert.equal(await c.send('GET a'), ['VALUE 1']);
  } finally {
    await c.close();
  }
});

test('quota hits are counted: a reply flood is cut at the quota', async () => {
  const c = await TestComponent.start(join(hostile, 'attack-reply-flood.wasm'), { checks, name: 'kv', quotas: { sendsPerCallback: 10 } });
  try {
    const replies = await c.send('ATTACK');
    assert.ok(replies.length <= 10, `${replies.length} replies got out`);
    assert.ok((c.quotaHits.sends ?? 0) > 0, JSON.stringify(c.quotaHits));
  } finally {
    await c.close();
  }
});

test('a module the engine would refuse is refused here too, with the same words', async () => {
  const kv = readFileSync(join(modules, 'kv', '1.0.0.wasm'));
  const err = await TestComponent.start(kv, { checks, version: '9.9.9' }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.instance(err, ModuleRejected);
  assert.match((err as Error).message, /module reports "1\.0\.0" but was stored as 9\.9\.9/);
});

test.after(() => checks.close());

test.run();
