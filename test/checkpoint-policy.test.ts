// The checkpoint policy on real files: a checkpoint after so many journal records, taken between
// events with the meta of that moment, the journal cut behind it only once it is durable, and a
// failed checkpoint leaving the journal whole.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DirtyPageCheckpoint } from '../host/abi/checkpoint.js';
import { PersistentMemory } from '../host/abi/memory.js';
import { CheckpointPolicy, CheckpointWriter, loadCheckpoint } from '../host/durability/checkpoint/index.js';
import { Logger } from '../host/log.js';
import { KvOnMemory, trackedKvModule } from './support/kv-memory.js';
import { waitFor } from './support/wait-for.js';

const kvModule = trackedKvModule();
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A kv whose every SET is one journal record: record seq i stored key<i>. */
function journaled(dir: string) {
  const memory = new PersistentMemory({ maxBytes: 300 << 20 });
  const pages = new DirtyPageCheckpoint(memory);
  const kv = new KvOnMemory(kvModule, memory, 'init');
  const writer = new CheckpointWriter({ dir, component: 'kv', memory, pages, fsync: true });
  let seq = 0;
  return {
    writer,
    get seq() {
      return seq;
    },
    /** One event: dispatched, then recorded (as the journal appends it). */
    event(policy: CheckpointPolicy): void {
      seq++;
      kv.send(`SET key${seq} value${seq}`);
      policy.recorded(seq);
    },
  };
}

test('a checkpoint follows every N records, between events, and the journal is cut behind it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotswap-policy-'));
  const c = journaled(dir);
  const truncated: number[] = [];
  const policy = new CheckpointPolicy({
    writer: c.writer,
    meta: () => ({ journalSeq: c.seq, state: { at: c.seq } }),
    truncate: (seq) => void truncated.push(seq),
    everyRecords: 1_000,
  });
  // Events arrive in bursts of 250, one burst per event-loop turn, like dispatch slices.
  for (let burst = 0; burst < 20; burst++) {
    for (let i = 0; i < 250; i++) c.event(policy);
    await turn();
  }
  await waitFor(() => policy.pendingRecords < 1_000 && truncated.length >= 2, {
    what: 'two checkpoints and the journal cut',
    timeoutMs: 20_000,
  });
  await policy.stop();
  assert.ok(
    truncated.every((s, i) => i === 0 || s > truncated[i - 1]!),
    `truncations ascend: ${truncated.join(' ')}`,
  );
  assert.ok(truncated[0]! >= 1_000, `the first one waited for 1,000 records (${truncated[0]})`);
  // The newest checkpoint is exactly the state after the record it names: key<seq> is there, key<seq+1> is not.
  const loaded = loadCheckpoint(dir, 'kv')!;
  const last = truncated.at(-1)!;
  assert.is(loaded.meta.journalSeq, last);
  assert.equal(loaded.meta.state, { at: last });
  const memory = new PersistentMemory({ maxBytes: 300 << 20 });
  loaded.restoreInto(memory);
  const back = new KvOnMemory(kvModule, memory, 'restart');
  assert.is(back.send(`GET key${last}`), `VALUE value${last}`);
  assert.is(back.send(`GET key${last + 1}`), 'NOT_FOUND');
  assert.is(back.send('COUNT'), String(last));
  assert.is(await policy.checkpointNow(), null, 'a stopped policy takes no checkpoint');
  rmSync(dir, { recursive: true });
});

test('a failed checkpoint is logged and the journal is not cut', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotswap-policy-'));
  writeFileSync(join(dir, 'kv'), 'a file where the component directory should be');
  const c = journaled(dir);
  const lines: string[] = [];
  const truncated: number[] = [];
  const policy = new CheckpointPolicy({
    writer: c.writer,
    meta: () => ({ journalSeq: c.seq, state: null }),
    truncate: (seq) => void truncated.push(seq),
    everyRecords: 100,
    log: new Logger('test', 'debug', { write: (l) => lines.push(l) }, 'json'),
  });
  for (let i = 0; i < 150; i++) c.event(policy);
  assert.is(await policy.checkpointNow(), null);
  assert.ok(
    lines.some((l) => l.includes('checkpoint failed, the journal is kept whole')),
    lines.join('\n'),
  );
  assert.equal(truncated, []);
  assert.is(policy.pendingRecords, 150);
  await policy.stop();
  rmSync(dir, { recursive: true });
});

test.run();
