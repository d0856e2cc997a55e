// Damage found while recovering, with each checkpoint byte read once (docs/DURABILITY.md
// "Recovery time"): a flipped byte in a page block is found as the pages are read into memory,
// naming the file and offset; and when the journal's last record is torn, the checkpoint's pages
// are checked before the tail is cut, so a damaged checkpoint still leaves every file as it was.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DirtyPageCheckpoint } from '../host/abi/checkpoint.js';
import { PersistentMemory } from '../host/abi/memory.js';
import { CheckpointCorruptError, CheckpointWriter, openCheckpoint } from '../host/durability/checkpoint/index.js';
import { DurableComponent } from '../host/durability/durable-component.js';
import { listSegments } from '../host/durability/journal/reader.js';
import { RecordKind } from '../host/durability/journal/record.js';
import { JournalWriter } from '../host/durability/journal/writer.js';
import { Logger } from '../host/log.js';
import { KvOnMemory, trackedKvModule } from './support/kv-memory.js';

const kvModule = trackedKvModule();
const newMemory = (): PersistentMemory => new PersistentMemory({ maxBytes: 300 << 20 });

/** `<root>/durable` with kv's checkpoint chain (a base and an increment), on real files. */
async function checkpointed(): Promise<{ root: string; durable: string; ckptDir: string }> {
  const root = mkdtempSync(join(tmpdir(), 'hotswap-recovery-damage-'));
  const durable = join(root, 'durable');
  const memory = newMemory();
  const pages = new DirtyPageCheckpoint(memory);
  const kv = new KvOnMemory(kvModule, memory, 'init');
  const writer = new CheckpointWriter({ dir: durable, component: 'kv', memory, pages, fsync: false, slicePages: 64 });
  for (let i = 0; i < 6_000; i++) kv.send(`SET key${i} ${'v'.repeat(300)}${i}`);
  await writer.request({ journalSeq: 1, state: null });
  for (let i = 0; i < 6_000; i += 7) kv.send(`SET key${i} second${i}`);
  await writer.request({ journalSeq: 2, state: null });
  await writer.close();
  return { root, durable, ckptDir: writer.dir };
}

const dirHash = (dir: string): string => {
  const h = createHash('sha256');
  for (const name of readdirSync(dir).sort()) h.update(name).update(readFileSync(join(dir, name)));
  return h.digest('hex');
};

test('a flipped page byte is found while restoring, naming the file and offset; nothing on disk changes', async () => {
  const { root, durable, ckptDir } = await checkpointed();
  for (const name of readdirSync(ckptDir).sort()) {
    const path = join(ckptDir, name);
    const whole = readFileSync(path);
    for (const at of [200, 5000, Math.floor(whole.length / 2)]) {
      const flipped = Buffer.from(whole);
      flipped[at] = flipped[at]! ^ 0x04;
      writeFileSync(path, flipped);
      const before = dirHash(ckptDir);
      const memory = newMemory();
      try {
        // The structure may already be wrong (a page number); else the pages' CRC says so.
        openCheckpoint(durable, 'kv')!.restoreInto(memory, new DirtyPageCheckpoint(memory));
        assert.unreachable(`${name}: a flipped byte at ${at} was not noticed`);
      } catch (e) {
        assert.instance(e, CheckpointCorruptError, `${name} at ${at}: ${(e as Error).message}`);
        const err = e as CheckpointCorruptError;
        assert.is(err.file, path);
        assert.ok(err.offset <= at, `${name}: reported offset ${err.offset} is at or before the flipped byte ${at}`);
      }
      assert.is(dirHash(ckptDir), before, 'nothing on disk changed');
      writeFileSync(path, whole);
    }
  }
  rmSync(root, { recursive: true });
});

test('with a torn journal tail, a damaged checkpoint stops the open before the tail is cut', async () => {
  const { root, durable, ckptDir } = await checkpointed();
  const journalDir = join(durable, 'kv', 'journal');
  const journal = new JournalWriter({ dir: journalDir, mode: 'os', nextSeq: 3, log: new Logger('test', 'error'), onDurable: () => {} });
  for (let i = 0; i < 10; i++) {
    const body = {
      kind: RecordKind.message,
      channel: 0,
      iface: -1,
      peer: '127.0.0.1:1',
      payload: Buffer.from(`SET j${i} x`),
      repliable: true,
    } as const;
    journal.append({ wallMs: Date.now(), monoMs: i, component: 'kv', body, tape: Buffer.alloc(0) });
  }
  await journal.close();
  const segment = join(journalDir, listSegments(journalDir)[0]!);
  truncateSync(segment, statSync(segment).size - 5); // the last record cut short
  const torn = readFileSync(segment);
  const base = join(ckptDir, readdirSync(ckptDir).sort()[0]!);
  const whole = readFileSync(base);
  const flipped = Buffer.from(whole);
  const at = Math.floor(whole.length / 2); // inside a page block's pages
  flipped[at] = flipped[at]! ^ 0x10;
  writeFileSync(base, flipped);
  const before = dirHash(ckptDir);
  const log = new Logger('test', 'error');
  assert.throws(
    () => new DurableComponent({ dir: join(durable, 'kv'), component: 'kv', mode: 'os', log }),
    (e: Error) => e instanceof CheckpointCorruptError && e.file === base,
  );
  assert.ok(readFileSync(segment).equals(torn), 'the torn tail is still there');
  assert.is(dirHash(ckptDir), before, 'the checkpoint files are as they were');

  // Repaired, the same open cuts the tail and goes on.
  writeFileSync(base, whole);
  const opened = new DurableComponent({ dir: join(durable, 'kv'), component: 'kv', mode: 'os', log });
  assert.is(opened.recordsToReplay, 9, 'every record but the torn one');
  assert.ok(statSync(segment).size < torn.length, 'the torn tail was cut');
  await opened.close();
  rmSync(root, { recursive: true });
});

test.run();
