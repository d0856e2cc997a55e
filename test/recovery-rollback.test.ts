// Recovery from a crash checkpoint with the shadow copy deferred (docs/DURABILITY.md "Recovery
// time"): on real checkpoint files, a rollback right after the restore puts back exactly the
// restored bytes (read back from the files), before and after the shadow caught up in steps; and
// in an embedded durable engine, a swap that fails right after recovery is rolled back exactly,
// the first checkpoint after it copies the restored pages, and a third start has every key.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fillKeys, keyOf, request, valueAt } from '../bench/lib/kv-engine.js';
import { DirtyPageCheckpoint } from '../host/abi/checkpoint.js';
import { PersistentMemory } from '../host/abi/memory.js';
import type { EngineConfig } from '../host/config.js';
import { CheckpointWriter, openCheckpoint } from '../host/durability/checkpoint/index.js';
import { Engine } from '../host/engine.js';
import { Logger } from '../host/log.js';
import { hostile, TEST_MEMORY_BYTES } from './hostile/corpus.js';
import { KvOnMemory, persistentHash, trackedKvModule } from './support/kv-memory.js';
import { persistentDigest } from './support/persistent-digest.js';
import { waitFor } from './support/wait-for.js';

// The engine's crash checkpoints every 0.2 s once records came in (docs/DURABILITY.md).
process.env.HOTSWAP_CHECKPOINT_MS = '200';
const kvModule = trackedKvModule();
const newMemory = (): PersistentMemory => new PersistentMemory({ maxBytes: 300 << 20 });

/** A kv store on real checkpoint files: a base and an increment under a temp dir. */
async function checkpointed(): Promise<{ dir: string; expected: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'hotswap-recovery-'));
  const memory = newMemory();
  const pages = new DirtyPageCheckpoint(memory);
  const kv = new KvOnMemory(kvModule, memory, 'init');
  const writer = new CheckpointWriter({ dir, component: 'kv', memory, pages, fsync: false, slicePages: 64 });
  for (let i = 0; i < 6_000; i++) kv.send(`SET key${i} ${'v'.repeat(300)}${i}`);
  await writer.request({ journalSeq: 1, state: null });
  for (let i = 0; i < 6_000; i += 7) kv.send(`SET key${i} second${i}`);
  await writer.request({ journalSeq: 2, state: null });
  await writer.close();
  return { dir, expected: persistentHash(memory) };
}

test('restored pages are adopted lazily: rollbacks read them back from the files until the steps copied them', async () => {
  const { dir, expected } = await checkpointed();
  const memory = newMemory();
  const pages = new DirtyPageCheckpoint(memory);
  openCheckpoint(dir, 'kv')!.restoreInto(memory, pages);
  assert.is(persistentHash(memory), expected);
  const restored = pages.restoredPending();
  assert.ok(restored > 100, `${restored} restored pages wait for the shadow`);
  assert.is(pages.dirtyPages(), 0, 'restored pages are not dirty: the sync a swap starts with has nothing to copy');
  assert.is(pages.sync(), 0);

  // A module scribbles over much of the restored state, then fails: the rollback reads the
  // pages it wrote back from the checkpoint's files.
  const kv = new KvOnMemory(kvModule, memory, 'restart');
  for (let i = 0; i < 6_000; i += 3) kv.send(`SET key${i} scribbled${'s'.repeat(i % 500)}`);
  assert.is.not(persistentHash(memory), expected);
  assert.ok(pages.rollback() > 0);
  assert.is(persistentHash(memory), expected, 'the rollback restored the checkpoint exactly');
  assert.is(pages.restoredPending(), restored, 'a rollback copies nothing into the shadow');

  // Steps of the presync: writes between them, some synced, some still dirty at each step.
  let steps = 0;
  while (pages.restoredPending() > 0) {
    kv.send(`SET key${steps * 11} step${steps}`);
    if (steps % 2 === 0) pages.sync();
    pages.syncSome(64);
    steps++;
  }
  assert.ok(steps > 2, `${steps} steps`);
  pages.sync();
  const synced = persistentHash(memory);
  for (let i = 0; i < 6_000; i += 5) kv.send(`SET key${i} later${i}`);
  pages.rollback();
  assert.is(persistentHash(memory), synced, 'after the steps the shadow alone rolls back exactly');
  rmSync(dir, { recursive: true });
});

test('a base written right after a restore (no presync) holds every restored page', async () => {
  const { dir, expected } = await checkpointed();
  const memory = newMemory();
  const pages = new DirtyPageCheckpoint(memory);
  openCheckpoint(dir, 'kv')!.restoreInto(memory, pages);
  const writer = new CheckpointWriter({ dir, component: 'kv', memory, pages, fsync: false });
  const base = await writer.request({ journalSeq: 3, state: null });
  assert.is(base.kind, 'base');
  assert.is(pages.restoredPending(), 0, 'the capture copied the rest first');
  await writer.close();
  const again = newMemory();
  openCheckpoint(dir, 'kv')!.restoreInto(again);
  assert.is(persistentHash(again), expected);
  rmSync(dir, { recursive: true });
});

function engineConfig(dataDir: string): EngineConfig {
  return {
    dataDir,
    logLevel: 'error',
    control: { host: '127.0.0.1', port: 0 },
    components: [
      {
        name: 'kv',
        module: 'kv',
        version: '2.0.0',
        listen: [],
        signals: [],
        limits: { memoryBytes: TEST_MEMORY_BYTES, moduleBytes: 1 << 20 },
        snapshot: 'incremental',
        durability: 'os',
        wasi: false,
      },
    ],
  };
}

const KEYS = 20_000;
const checkpoints = (dataDir: string): string[] => {
  try {
    return readdirSync(join(dataDir, 'durable', 'kv', 'checkpoint')).filter((n) => n.endsWith('.ckpt'));
  } catch {
    return [];
  }
};

test('in an engine, a swap that fails right after recovery is rolled back exactly; the next start has every key', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hotswap-recovery-engine-'));
  const logger = new Logger('engine', 'error');
  let engine = await Engine.start(engineConfig(dataDir), { durable: true, logger });
  try {
    await fillKeys(engine.component('kv'), 0, KEYS);
    await waitFor(() => checkpoints(dataDir).length > 0, { what: 'a crash checkpoint of the filled store', timeoutMs: 30_000 });
    // That checkpoint may have been captured while the fill was still running (a slow machine),
    // and then the restart replays the rest, which leaves those pages dirty, not pending. One
    // more record after it makes the engine take another, captured after every record.
    const committed = new Set(checkpoints(dataDir));
    assert.is(await request(engine.component('kv'), 'SET marker m'), 'OK');
    await waitFor(() => checkpoints(dataDir).some((n) => !committed.has(n)), {
      what: 'a crash checkpoint captured after the last record',
      timeoutMs: 30_000,
    });
    await engine.stop();

    engine = await Engine.start(engineConfig(dataDir), { durable: true, logger });
    const kv = engine.component('kv');
    const pending = kv.pageCheckpoint!.restoredPending();
    assert.ok(pending > 100, `${pending} restored pages are still only in the checkpoint's files`);
    const before = persistentDigest(kv.memory);
    const report = await engine.upgrade('kv', { bytes: hostile('restart-writes-then-traps'), version: '6.6.6-scribble' });
    assert.is(report.result, 'rolled_back', report.cause);
    assert.is(persistentDigest(kv.memory), before, 'the persistent bytes are exactly those before the swap');
    assert.is(await request(kv, 'VERSION'), '2.0.0');
    assert.is(await request(kv, `GET ${keyOf(KEYS - 1)}`), `VALUE ${valueAt(KEYS - 1)}`);

    // A new record, so a checkpoint comes: its presync copies the restored pages into the shadow.
    assert.is(await request(kv, 'SET after restart'), 'OK');
    await waitFor(() => kv.pageCheckpoint!.restoredPending() === 0, {
      what: 'the restored pages copied by the presync',
      timeoutMs: 30_000,
    });
    await engine.stop();

    engine = await Engine.start(engineConfig(dataDir), { durable: true, logger });
    const third = engine.component('kv');
    assert.is(await request(third, 'COUNT'), String(KEYS + 2)); // the keys, the marker and 'after'
    for (const i of [0, 1, KEYS / 2, KEYS - 1]) assert.is(await request(third, `GET ${keyOf(i)}`), `VALUE ${valueAt(i)}`);
    assert.is(await request(third, 'GET after'), 'VALUE restart');
  } finally {
    await engine.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
