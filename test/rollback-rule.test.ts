// The one rollback rule (host/engine/rollback-rule.ts) and the engine that uses it: real kv
// modules from build/modules, a real UpgradeHistory and ModuleStore over a temporary SQLite file.
// An embedded engine (no HTTP layer) records every swap, fault and refusal itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ModuleFactory } from '../host/component/module-factory.js';
import type { SwapReport } from '../host/component/swap.js';
import type { EngineConfig } from '../host/config.js';
import { RollbackRule } from '../host/engine/rollback-rule.js';
import { Engine, NotFound, policyOf, type Rejection } from '../host/engine.js';
import { Logger } from '../host/log.js';
import type { PreparedModule } from '../host/modules/prepared.js';
import { type Db, openDatabase } from '../host/repository/database.js';
import { UpgradeHistory } from '../host/repository/history.js';
import { ModuleStore } from '../host/repository/store.js';
import { TEST_MEMORY_BYTES } from './hostile/corpus.js';
import { kvAs, tempDir } from './support/control-plane.js';

const dataDir = tempDir();
const config: EngineConfig = {
  dataDir,
  logLevel: 'error',
  control: { host: '127.0.0.1', port: 0 },
  components: [
    {
      name: 'kv',
      module: 'kv',
      version: '1.0.0',
      listen: [],
      signals: [],
      limits: { memoryBytes: TEST_MEMORY_BYTES, moduleBytes: 1 << 20 },
      snapshot: 'incremental',
      wasi: false,
    },
  ],
};
const factory = new ModuleFactory();
let db: Db;
let history: UpgradeHistory;
let store: ModuleStore;
const modules = new Map<string, PreparedModule>();

test.before(async () => {
  db = openDatabase(dataDir);
  history = new UpgradeHistory(db);
  store = new ModuleStore(db, dataDir);
  for (const v of ['1.0.0', '1.0.5', '2.0.5']) {
    store.put({ module: 'kv', version: v, bytes: kvAs(v), abiVersion: 1, layoutVersion: 1, uploadedBy: 'test' });
    modules.set(v, await factory.prepare(kvAs(v), { name: 'kv', version: v }, policyOf(config.components[0]!)));
  }
});
test.after(async () => {
  await factory.close();
  db.close();
});

const isNotFound = (e: unknown): boolean => e instanceof NotFound;

/** Awaits `promise` and checks it failed with an error of class `kind` or matching `pattern`. */
async function rejects(promise: Promise<unknown>, expected: (new (...args: never[]) => Error) | RegExp): Promise<void> {
  try {
    await promise;
  } catch (e) {
    if (expected instanceof RegExp) assert.match((e as Error).message, expected);
    else assert.instance(e, expected);
    return;
  }
  assert.unreachable(`expected a rejection (${String(expected)})`);
}

/** A finished swap as the component reports it (only the fields the rule reads matter). */
function swap(
  component: string,
  reason: SwapReport['reason'],
  from: string | null,
  to: string,
  result: SwapReport['result'] = 'ok',
): SwapReport {
  return {
    component,
    module: 'kv',
    from,
    to,
    reason,
    result,
    pauseUs: 1,
    phasesUs: {},
    queued: 0,
    snapshotBytes: 0,
    layout: { from: 1, to: 1 },
    at: new Date().toISOString(),
  };
}

test('the rule: named version, else what the last upgrade replaced (in memory), else the history, else NotFound', () => {
  const rule = new RollbackRule(history);
  const m100 = modules.get('1.0.0')!;
  assert.throws(
    () => rule.target('a', '1.0.0'),
    (e: unknown) => e instanceof NotFound && /previous version of a/.test((e as Error).message),
  );
  assert.throws(() => rule.target('a', null), isNotFound, 'nothing runs: nothing to go back to');

  rule.noteSwap(swap('a', 'upgrade', '1.0.0', '1.0.5'), m100);
  const back = rule.target('a', '1.0.5');
  assert.ok('module' in back && back.module === m100, 'the replaced module, still prepared');
  assert.equal(rule.target('a', '1.0.5', '2.0.5'), { version: '2.0.5' }, 'a named version wins');

  // A rollback, or a failed upgrade, does not replace what the last successful upgrade replaced.
  rule.noteSwap(swap('a', 'rollback', '1.0.5', '1.0.0'), modules.get('1.0.5')!);
  rule.noteSwap(swap('a', 'upgrade', '1.0.0', '2.0.5', 'rolled_back'), null);
  assert.throws(() => rule.target('a', '1.0.0'), isNotFound, '1.0.0 replaced nothing in an upgrade this engine saw, nor in the history');

  // Only the history knows (an engine restart happened since): its previousVersion answers.
  history.recordSwap(swap('a', 'upgrade', '0.9.0', '1.0.0'));
  assert.equal(rule.target('a', '1.0.0'), { version: '0.9.0' });
  // In memory first: the history says the same thing, without the repository round trip.
  history.recordSwap(swap('a', 'upgrade', '1.0.0', '1.0.5'));
  const again = rule.target('a', '1.0.5');
  assert.ok('module' in again && again.module === m100);
  rule.forget('a');
  assert.equal(rule.target('a', '1.0.5'), { version: '1.0.0' }, 'forgotten: the history answers');
});

test('an embedded engine rolls back by the rule and records swaps and refusals in its history', async () => {
  const lines: string[] = [];
  const engine = await Engine.start(config, {
    repository: store,
    history,
    logger: new Logger('engine', 'error', { write: (l) => void lines.push(l) }),
  });
  const rejections: Rejection[] = [];
  engine.onRejected((r) => rejections.push(r));
  const steps = (): string[] => history.list('kv', 100).map((e) => `${e.kind} ${e.from}->${e.to} ${e.result}`);
  try {
    assert.equal(steps(), [], 'the first load is not an attempt');
    await rejects(engine.rollback('kv'), NotFound);
    assert.equal(steps(), ['rollback 1.0.0->null rejected']);

    assert.is((await engine.upgrade('kv', { version: '1.0.5' })).result, 'ok');
    assert.is((await engine.upgrade('kv', { version: '2.0.5' })).result, 'ok');
    const back = await engine.rollback('kv');
    assert.equal([back.from, back.to, back.reason], ['2.0.5', '1.0.5', 'rollback']);
    const further = await engine.rollback('kv');
    assert.equal([further.from, further.to], ['1.0.5', '1.0.0'], 'the history walks further back: 3 → 2 → 1');

    await rejects(engine.upgrade('kv', { version: '9.9.9' }), NotFound);
    await rejects(engine.upgrade('kv', { bytes: Buffer.from('not wasm'), version: '9.9.8' }), /rejected: not a WebAssembly module/);
    engine.recordRejected('kv', 'upgrade', '9.9.7', 'module kv@9.9.7: the signature does not match');

    assert.equal(steps(), [
      'upgrade 1.0.0->9.9.7 rejected',
      'upgrade 1.0.0->9.9.8 rejected',
      'upgrade 1.0.0->9.9.9 rejected',
      'rollback 1.0.5->1.0.0 ok',
      'rollback 2.0.5->1.0.5 ok',
      'upgrade 1.0.5->2.0.5 ok',
      'upgrade 1.0.0->1.0.5 ok',
      'rollback 1.0.0->null rejected',
    ]);
    assert.equal(
      rejections.map((r) => `${r.kind} ${r.to}`),
      ['rollback null', 'upgrade 9.9.9', 'upgrade 9.9.8', 'upgrade 9.9.7'],
    );
    assert.match(history.list('kv', 1)[0]!.cause!, /signature does not match/);
  } finally {
    await engine.stop();
  }
});

test('a second upgrade while one is in flight is refused but not recorded as a rejection', async () => {
  const engine = await Engine.start(config, { repository: store, history, logger: new Logger('engine', 'error', { write: () => {} }) });
  try {
    const before = history.list('kv', 1000).length;
    const first = engine.upgrade('kv', { version: '2.0.5' });
    await rejects(engine.upgrade('kv', { version: '1.0.5' }), /already in progress/);
    assert.is((await first).result, 'ok');
    const added = history.list('kv', 1000).slice(0, history.list('kv', 1000).length - before);
    assert.equal(
      added.map((e) => `${e.kind} ${e.to} ${e.result}`),
      ['upgrade 2.0.5 ok'],
    );
  } finally {
    await engine.stop();
  }
});

test.run();
