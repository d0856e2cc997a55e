// The swap procedure on its own (host/component/swap.ts), driven through a small SwapTarget over
// a real PersistentMemory and real prepared modules: a first load and an upgrade succeed with
// their phases recorded; a restart or migrate that trap are rolled back with the persistent
// bytes restored exactly; a rollback that cannot restart the old version reports 'failed'.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MEMORY_BASE } from '../host/abi/abi.js';
import { DirtyPageCheckpoint } from '../host/abi/checkpoint.js';
import { buildImports, type HostServices } from '../host/abi/imports.js';
import { inertHost } from '../host/abi/inert-host.js';
import { PersistentMemory } from '../host/abi/memory.js';
import { ModuleInstance } from '../host/component/instance.js';
import { type SnapshotPolicy, type SwapTarget, swapModule } from '../host/component/swap.js';
import type { PreparedModule } from '../host/modules/prepared.js';
import { bundled, hostile, TEST_MEMORY_BYTES } from './hostile/corpus.js';
import { persistentDigest } from './support/persistent-digest.js';
import { prepareForTest } from './support/prepare.js';

/**
 * A component reduced to what the swap needs: one memory, the live instance, and host services
 * that collect the module's replies. `request` delivers one message the way a component does.
 */
class TestTarget implements SwapTarget {
  readonly name = 'kv';
  readonly memory = new PersistentMemory({ memoryBase: MEMORY_BASE, maxBytes: TEST_MEMORY_BYTES });
  readonly checkpoint: DirtyPageCheckpoint | null;
  /** Every version instantiated, in order (the rollback instantiates the old one again). */
  readonly instantiated: string[] = [];
  #current: ModuleInstance | null = null;
  #replies: string[] = [];
  readonly #services: HostServices = inertHost(this.memory, {
    reply: (bytes) => {
      this.#replies.push(bytes.toString());
      return 0;
    },
    send: () => -1,
  });

  constructor(readonly snapshotPolicy: SnapshotPolicy) {
    this.checkpoint = snapshotPolicy === 'incremental' ? new DirtyPageCheckpoint(this.memory) : null;
  }

  current(): ModuleInstance | null {
    return this.#current;
  }

  instantiate(module: PreparedModule): ModuleInstance {
    this.instantiated.push(module.version);
    return new ModuleInstance(module, buildImports(this.#services), { memory: this.memory });
  }

  bind(instance: ModuleInstance | null): void {
    this.#current = instance;
  }

  request(line: string): string {
    const instance = this.#current;
    if (!instance) throw new Error(`no live instance to handle "${line}"`);
    const payload = Buffer.from(line);
    this.memory.writeInbox(0, payload, '127.0.0.1:1', undefined);
    this.#replies = [];
    instance.onMessage(0, payload.byteLength);
    return this.#replies.join('\n');
  }
}

const modules = new Map<string, Promise<PreparedModule>>();
/** Each module prepared once per file: preparing is the slow part and not under test here. */
function prepared(kind: 'kv' | 'hostile', name: string, version: string, trackDirtyPages = true): Promise<PreparedModule> {
  const key = `${kind}/${name}/${version}/${trackDirtyPages}`;
  let module = modules.get(key);
  if (!module) {
    const bytes = kind === 'kv' ? bundled('kv', name) : hostile(name);
    module = prepareForTest(bytes, 'kv', version, { trackDirtyPages });
    modules.set(key, module);
  }
  return module;
}
const kv = (version: string): Promise<PreparedModule> => prepared('kv', version, version);

/** A target running kv 1.0.0 with 200 keys. */
async function loadedTarget(policy: SnapshotPolicy): Promise<TestTarget> {
  const target = new TestTarget(policy);
  const first = swapModule(target, await kv('1.0.0'), 'upgrade');
  assert.is(first.result, 'ok', first.cause);
  for (let i = 0; i < 200; i++) assert.is(target.request(`SET key${i} value${i}`), 'OK');
  return target;
}

test('the first load runs init: instantiate, bind, restart recorded, no snapshot', async () => {
  const target = new TestTarget('incremental');
  const report = swapModule(target, await kv('1.0.0'), 'upgrade');
  assert.is(report.result, 'ok', report.cause);
  assert.is(report.from, null);
  assert.is(report.to, '1.0.0');
  assert.equal(Object.keys(report.phasesUs), ['instantiate', 'bind', 'restart']);
  assert.equal(report.layout, { from: null, to: 1 });
  assert.is(report.snapshotBytes, 0);
  assert.ok(target.memory.header().initialised, 'init initialised the persistent header');
  assert.is(target.request('VERSION'), '1.0.0');
});

for (const policy of ['incremental', 'always'] as const) {
  test(`an upgrade keeps the data; every phase is recorded (snapshot policy ${policy})`, async () => {
    const target = await loadedTarget(policy);
    const generation = target.memory.header().generation;
    const report = swapModule(target, await kv('2.0.0'), 'upgrade');
    assert.is(report.result, 'ok', report.cause);
    assert.equal([report.from, report.to, report.reason], ['1.0.0', '2.0.0', 'upgrade']);
    assert.equal(Object.keys(report.phasesUs), ['snapshot', 'term', 'hold', 'instantiate', 'bind', 'restart']);
    assert.ok(report.snapshotBytes > 0, 'a rollback copy was taken');
    assert.ok(report.pauseUs >= 0);
    assert.is(target.memory.header().generation, generation + 1, 'a successful swap bumps the generation');
    assert.is(target.request('VERSION'), '2.0.0');
    assert.is(target.request('GET key123'), 'VALUE value123');
    assert.is(target.request('COUNT'), '200');
  });

  test(`a restart that scribbles and traps is rolled back byte for byte (snapshot policy ${policy})`, async () => {
    const target = await loadedTarget(policy);
    const before = persistentDigest(target.memory);
    const report = swapModule(target, await prepared('hostile', 'restart-writes-then-traps', '6.6.6-scribble'), 'upgrade');
    assert.is(report.result, 'rolled_back');
    assert.is(report.failedPhase, 'restart');
    assert.is(report.trap, 'trap');
    assert.match(report.cause ?? '', /restart of kv@6\.6\.6-scribble/);
    assert.is(persistentDigest(target.memory), before, 'persistent bytes restored exactly');
    assert.equal(target.instantiated, ['1.0.0', '6.6.6-scribble', '1.0.0'], 'the old version was instantiated again');
    assert.is(target.request('VERSION'), '1.0.0');
    assert.is(target.request('GET key7'), 'VALUE value7');
  });

  test(`a migrate that corrupts half the values and traps is rolled back (snapshot policy ${policy})`, async () => {
    const target = await loadedTarget(policy);
    const before = persistentDigest(target.memory);
    const report = swapModule(target, await prepared('hostile', 'migrate-traps-halfway', '6.6.6-half-migrate'), 'upgrade');
    assert.is(report.result, 'rolled_back');
    assert.is(report.failedPhase, 'migrate');
    assert.equal(report.layout, { from: 1, to: 2 });
    assert.is(persistentDigest(target.memory), before, 'persistent bytes restored exactly');
    assert.is(target.memory.header().layoutVersion, 1);
    for (let i = 0; i < 200; i += 9) assert.is(target.request(`GET key${i}`), `VALUE value${i}`);
  });
}

test('with snapshot policy never there is no rollback copy: the scribbled bytes stay (the digest tells)', async () => {
  const target = await loadedTarget('never');
  const before = persistentDigest(target.memory);
  const report = swapModule(target, await prepared('hostile', 'restart-writes-then-traps', '6.6.6-scribble'), 'upgrade');
  assert.is(report.snapshotBytes, 0);
  assert.ok(report.phasesUs.snapshot === undefined);
  assert.is.not(report.result, 'ok');
  assert.is.not(persistentDigest(target.memory), before, 'nothing put the bytes back');
});

test('a layout change up and back down migrates the data both ways', async () => {
  const target = await loadedTarget('incremental');
  const up = swapModule(target, await kv('3.0.0'), 'upgrade');
  assert.is(up.result, 'ok', up.cause);
  assert.ok(up.phasesUs.migrate !== undefined, 'migrate ran');
  assert.is(target.memory.header().layoutVersion, 2);
  const down = swapModule(target, await kv('2.0.0'), 'rollback');
  assert.is(down.result, 'ok', down.cause);
  assert.is(down.reason, 'rollback');
  assert.ok(down.phasesUs.migrate_down !== undefined, 'the outgoing 3.0.0 migrated its data down');
  assert.is(target.memory.header().layoutVersion, 1);
  assert.is(target.request('GET key42'), 'VALUE value42');
});

test('when the old version cannot restart after a rollback, the swap reports failed', async () => {
  // The scribbler loads fine (init works) but traps in every restart, so the rollback to it fails.
  const target = new TestTarget('incremental');
  const first = swapModule(target, await prepared('hostile', 'restart-writes-then-traps', '6.6.6-scribble'), 'upgrade');
  assert.is(first.result, 'ok', first.cause);
  const report = swapModule(target, await prepared('hostile', 'migrate-traps-halfway', '6.6.6-half-migrate'), 'upgrade');
  assert.is(report.result, 'failed');
  assert.is(report.failedPhase, 'migrate');
  assert.match(report.rollbackError ?? '', /^rollback to 6\.6\.6-scribble failed: restart of kv@6\.6\.6-scribble/);
  assert.is(target.current(), null, 'nothing is left bound');
});

test('a module prepared without dirty-page tracking is refused before anything runs', async () => {
  const target = await loadedTarget('incremental');
  const before = persistentDigest(target.memory);
  const report = swapModule(target, await prepared('kv', '2.0.0', '2.0.0', false), 'upgrade');
  assert.is(report.result, 'rolled_back');
  assert.match(report.cause ?? '', 'kv@2.0.0 was prepared without dirty-page tracking');
  assert.equal(report.phasesUs, {});
  assert.equal(target.instantiated, ['1.0.0'], 'nothing was instantiated');
  assert.is(persistentDigest(target.memory), before);
  assert.is(target.request('VERSION'), '1.0.0');
});

test.run();
