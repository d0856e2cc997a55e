// The activation rewrite (host/modules/activation.ts) and what it is for: a swap instantiates
// the new module while the old one still serves. Instantiating a rewritten module writes no
// memory (its data segments wait for hs_activate, which then writes exactly what instantiation
// wrote); kv 2.0.0 created ahead leaves kv 1.0.0's answers and the persistent data untouched
// while 1.0.0 serves a few thousand requests, and only its activation runs in the pause; a
// module whose top-level code traps there is rolled back, named with its phase; the reserved
// export name is refused.
import { createHash } from 'node:crypto';
import binaryen from 'binaryen';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ACTIVATE_EXPORT, HEADER_MAGIC, HEADER_OFFSET, HeaderField, MEMORY_BASE } from '../host/abi/abi.js';
import { Component } from '../host/component/component.js';
import { ModuleFactory } from '../host/component/module-factory.js';
import { deferActivation } from '../host/modules/activation.js';
import { ModuleRejected } from '../host/modules/errors.js';
import type { PreparedModule } from '../host/modules/prepared.js';
import { bundled, mutate } from './hostile/corpus.js';
import { persistentDigest } from './support/persistent-digest.js';
import { KV_TEST_POLICY, requestThrough } from './support/request.js';

const factory = new ModuleFactory();
const prepare = (bytes: Uint8Array, version: string): Promise<PreparedModule> =>
  factory.prepare(bytes, { name: 'kv', version }, KV_TEST_POLICY);

/** Bytes [MEMORY_BASE, MEMORY_BASE + 64 KiB) of `buffer`: the module's static data and the start of its heap. */
const transient = (buffer: ArrayBuffer): Uint8Array => new Uint8Array(buffer, MEMORY_BASE, 65536);
const digest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Imports that answer anything with 0, over `memory`: enough to instantiate kv and run its start code. */
function stubImports(memory: WebAssembly.Memory): WebAssembly.Imports {
  const any = new Proxy({}, { get: () => () => 0 });
  const env = new Proxy({ memory } as Record<string, unknown>, { get: (o, k) => (typeof k === 'string' && k in o ? o[k] : () => 0) });
  return { env: env as WebAssembly.ModuleImports, hs: any };
}

test('instantiating the rewritten module writes nothing; activating it writes what instantiation wrote', () => {
  for (const version of ['1.0.0', '2.0.0']) {
    const bytes = new Uint8Array(bundled('kv', version));
    const pages = MEMORY_BASE / 65536 + 2;
    const plain = new WebAssembly.Memory({ initial: pages });
    new WebAssembly.Instance(new WebAssembly.Module(bytes), stubImports(plain));
    const ahead = new WebAssembly.Memory({ initial: pages });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(deferActivation(bytes, null))), stubImports(ahead));
    assert.ok(
      transient(ahead.buffer).every((b) => b === 0),
      `kv ${version}: instantiation wrote no byte`,
    );
    assert.ok(
      transient(plain.buffer).some((b) => b !== 0),
      `kv ${version}: the plain instantiation did write`,
    );
    (instance.exports[ACTIVATE_EXPORT] as () => void)();
    assert.is(digest(transient(ahead.buffer)), digest(transient(plain.buffer)), `kv ${version}: activation wrote the same bytes`);
    assert.throws(
      () => (instance.exports[ACTIVATE_EXPORT] as () => void)(),
      /out of bounds/,
      'a second activation traps (segments dropped)',
    );
  }
});

test('kv 2.0.0 created ahead leaves 1.0.0 serving untouched until the swap, which only activates it', async () => {
  const component = new Component({ name: 'kv', policy: KV_TEST_POLICY });
  const v1 = await prepare(bundled('kv', '1.0.0'), '1.0.0');
  const v2 = await prepare(bundled('kv', '2.0.0'), '2.0.0');
  await component.load(v1);
  const request = (line: string): Promise<string> => requestThrough(component, line);
  const KEYS = 500;
  assert.ok((await Promise.all(Array.from({ length: KEYS }, (_, i) => request(`SET key${i} value${i}`)))).every((r) => r === 'OK'));

  // 3,000 requests queued first, the upgrade behind them: kv 2.0.0 is instantiated right here,
  // and 1.0.0 then handles all of them before the swap's turn comes.
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    if (i % 3 === 0) lines.push('VERSION');
    else if (i % 3 === 1) lines.push(`GET key${i % KEYS}`);
    else lines.push(`SET extra${i} x${i}`);
  }
  const replies = lines.map((line) => request(line));
  const memory = component.memory.memory;
  const before = { transient: digest(transient(memory.buffer)), persistent: persistentDigest(component.memory) };
  const upgraded = component.upgrade(v2);
  assert.is(digest(transient(memory.buffer)), before.transient, "creating 2.0.0's instance wrote nothing into 1.0.0's transient region");
  assert.is(persistentDigest(component.memory), before.persistent, 'nor into persistent memory');

  const answers = await Promise.all(replies);
  const wrong = lines.flatMap((line, i) => {
    const want = line === 'VERSION' ? '1.0.0' : line.startsWith('GET') ? `VALUE value${i % KEYS}` : 'OK';
    return answers[i] === want ? [] : [`${line}: ${answers[i]}`];
  });
  assert.is(wrong.length, 0, `1.0.0 answered wrongly after 2.0.0 was created: ${wrong.slice(0, 3).join('; ')}`);

  const report = await upgraded;
  assert.is(report.result, 'ok', report.cause);
  assert.type(report.phasesUs.activate, 'number', 'the swap activated the instance made ahead');
  assert.is(report.phasesUs.instantiate, undefined, 'nothing was instantiated inside the pause');
  assert.is(await request('VERSION'), '2.0.0');
  assert.is(await request('COUNT'), String(KEYS + 1000));
  for (let i = 0; i < KEYS; i += 37) assert.is(await request(`GET key${i}`), `VALUE value${i}`);
  assert.is(await request('GET extra2999'), 'VALUE x2999');
  component.stop();
});

/** kv 2.0.0 whose top-level code traps over a memory some module initialised (not over the warm-up's fresh one). */
function trapsWhenLive(): Uint8Array {
  return mutate(bundled('kv', '2.0.0'), (mod) => {
    const start = binaryen.getFunctionInfo(mod.getStart()).name;
    const magic = mod.i32.load(0, 4, mod.i32.const(HEADER_OFFSET + HeaderField.magic));
    mod.addFunction(
      'trap_when_live',
      binaryen.none,
      binaryen.none,
      [],
      mod.block(null, [mod.if(mod.i32.eq(magic, mod.i32.const(HEADER_MAGIC)), mod.unreachable()), mod.call(start, [], binaryen.none)]),
    );
    mod.setStart(mod.getFunction('trap_when_live'));
  });
}

test('a module whose top-level code traps in the activation is rolled back, named with its phase', async () => {
  const component = new Component({ name: 'kv', policy: KV_TEST_POLICY });
  await component.load(await prepare(bundled('kv', '1.0.0'), '1.0.0'));
  const request = (line: string): Promise<string> => requestThrough(component, line);
  for (let i = 0; i < 50; i++) assert.is(await request(`SET key${i} value${i}`), 'OK');
  const before = persistentDigest(component.memory);
  const faulty = await prepare(trapsWhenLive(), '2.0.0'); // passes the warm-up: its memory is fresh
  const report = await component.upgrade(faulty);
  assert.is(report.result, 'rolled_back');
  assert.is(report.failedPhase, 'activate');
  assert.match(report.cause ?? '', /^activate failed: instantiation \(top-level code\) of kv@2\.0\.0 trapped/);
  assert.is(persistentDigest(component.memory), before, 'the persistent bytes are as they were');
  assert.is(await request('VERSION'), '1.0.0');
  for (let i = 0; i < 50; i += 7) assert.is(await request(`GET key${i}`), `VALUE value${i}`);
  component.stop();
});

test(`a module exporting ${ACTIVATE_EXPORT} itself is refused, with the reason`, async () => {
  const bytes = mutate(bundled('kv', '2.0.0'), (mod) => {
    const target = binaryen.getExportInfo(mod.getExport('hold')).value;
    mod.addFunctionExport(target, ACTIVATE_EXPORT);
  });
  try {
    await prepare(bytes, '2.0.0');
    assert.unreachable('the module was accepted');
  } catch (e) {
    assert.instance(e, ModuleRejected);
    assert.match((e as ModuleRejected).problems.join('\n'), `export ${ACTIVATE_EXPORT}: the name is reserved`);
  }
});

test.after(async () => {
  await factory.close();
});

test.run();
