// Crash checkpoints on real files: a base and increments restore kv's data exactly, the capture
// is copy-on-write against the component running on, a torn newest file falls back to the one
// before, and a flipped byte anywhere stops the load with the file and the offset.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DirtyPageCheckpoint } from '../host/abi/checkpoint.js';
import { PersistentMemory } from '../host/abi/memory.js';
import { CheckpointCorruptError, CheckpointWriter, loadCheckpoint } from '../host/durability/checkpoint/index.js';
import { Logger } from '../host/log.js';
import { KvOnMemory, persistentHash, trackedKvModule } from './support/kv-memory.js';

const kvModule = trackedKvModule();
const newMemory = (): PersistentMemory => new PersistentMemory({ maxBytes: 300 << 20 });

/** A kv component without an engine: memory, its dirty-page checkpoint, a writer into a temp dir. */
function component(opts: { slicePages?: number; fsync?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hotswap-ckpt-'));
  const memory = newMemory();
  const pages = new DirtyPageCheckpoint(memory);
  const kv = new KvOnMemory(kvModule, memory, 'init');
  const writer = new CheckpointWriter({
    dir,
    component: 'kv',
    memory,
    pages,
    fsync: opts.fsync ?? false,
    slicePages: opts.slicePages ?? 64,
  });
  return { dir, memory, pages, kv, writer, files: () => readdirSync(writer.dir).sort() };
}

function logLines(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: new Logger('test', 'debug', { write: (l) => lines.push(l) }, 'json'), lines };
}

function restore(dir: string, log?: Logger): { memory: PersistentMemory; kv: KvOnMemory; journalSeq: number; state: unknown } {
  const loaded = loadCheckpoint(dir, 'kv', log);
  if (!loaded) throw new Error('no checkpoint');
  const memory = newMemory();
  loaded.restoreInto(memory);
  return { memory, kv: new KvOnMemory(kvModule, memory, 'restart'), journalSeq: loaded.meta.journalSeq, state: loaded.meta.state };
}

const dirHash = (dir: string): string => {
  const h = createHash('sha256');
  for (const name of readdirSync(dir).sort()) h.update(name).update(readFileSync(join(dir, name)));
  return h.digest('hex');
};

test('a base and increments restore the persistent bytes exactly, with the meta', async () => {
  const c = component();
  for (let i = 0; i < 5_000; i++) c.kv.send(`SET key${i} value${i}`);
  const first = await c.writer.request({ journalSeq: 5_000, state: { version: '2.0.0' } });
  assert.is(first.kind, 'base');
  for (let i = 0; i < 3_000; i++) c.kv.send(i % 3 === 0 ? `DEL key${i}` : `SET key${i} changed${i}`);
  const second = await c.writer.request({ journalSeq: 8_000, state: { version: '2.0.0', timers: [[1, 16000]] } });
  assert.is(second.kind, 'increment');
  assert.ok(second.pages < first.pages, `the increment has ${second.pages} pages, the base ${first.pages}`);
  assert.equal(c.files(), ['0000000001.ckpt', '0000000002.ckpt']);
  const back = restore(c.dir);
  assert.is(back.journalSeq, 8_000);
  assert.equal(back.state, { version: '2.0.0', timers: [[1, 16000]] });
  assert.is(persistentHash(back.memory), persistentHash(c.memory));
  assert.is(back.kv.send('GET key4999'), 'VALUE value4999');
  assert.is(back.kv.send('GET key3'), 'NOT_FOUND');
  assert.is(back.kv.send('GET key4'), 'VALUE changed4');
  assert.is(back.kv.send('COUNT'), String(5_000 - 1_000));
  await c.writer.close();
  rmSync(c.dir, { recursive: true });
});

test('the capture is copy-on-write: writes after request() do not leak into the checkpoint', async () => {
  const c = component({ slicePages: 1, fsync: true });
  for (let i = 0; i < 20_000; i++) c.kv.send(`SET key${i} value${i}`);
  await c.writer.request({ journalSeq: 1, state: null });
  for (let i = 0; i < 20_000; i++) c.kv.send(`SET key${i} second${i}`);
  const expected = persistentHash(c.memory);
  const running = c.writer.request({ journalSeq: 2, state: null });
  assert.is(c.writer.request({ journalSeq: 3, state: null }), running, 'a request while one runs gets the running one');
  // The component runs on and its shadow is synced (as the idle sync and a swap do) while the
  // checkpoint is written page by page.
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 1_000; i++) c.kv.send(`SET key${(round * 1_000 + i) % 20_000} third${round}`);
    c.pages.sync();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const result = await running;
  assert.is(result.journalSeq, 2);
  assert.ok(result.preservedPages > 0, 'some pages changed while they waited and were preserved');
  const back = restore(c.dir);
  assert.is(back.journalSeq, 2);
  assert.is(persistentHash(back.memory), expected);
  assert.is(back.kv.send('GET key19999'), 'VALUE second19999');
  await c.writer.close();
  rmSync(c.dir, { recursive: true });
});

test('presync catches the shadow up in bounded steps, leaving the request little to copy', async () => {
  const c = component();
  for (let i = 0; i < 20_000; i++) c.kv.send(`SET key${i} ${'p'.repeat(200)}`);
  const dirty = c.pages.dirtyPages();
  assert.ok(dirty > 1024, `${dirty} pages dirty, more than one step`);
  assert.is(await c.writer.presync(), dirty);
  assert.is(c.pages.dirtyPages(), 0);
  const result = await c.writer.request({ journalSeq: 1, state: null });
  assert.ok(result.pages >= dirty, `the base holds every page in use (${result.pages} for ${dirty} written)`);
  const back = restore(c.dir);
  assert.is(persistentHash(back.memory), persistentHash(c.memory));
  await c.writer.close();
  rmSync(c.dir, { recursive: true });
});

test('a torn newest checkpoint, cut at any offset, falls back to the one before with a log line', async () => {
  const c = component();
  for (let i = 0; i < 2_000; i++) c.kv.send(`SET key${i} value${i}`);
  await c.writer.request({ journalSeq: 10, state: 'ten' });
  const atTen = persistentHash(c.memory);
  for (let i = 0; i < 200; i++) c.kv.send(`SET key${i} newer${i}`);
  await c.writer.request({ journalSeq: 20, state: 'twenty' });
  const newest = join(c.writer.dir, '0000000002.ckpt');
  const whole = readFileSync(newest);
  // Every cut that removes the commit trailer: each offset of the file's last KiB, then a stride.
  const cuts: number[] = [];
  for (let at = whole.length - 1; at >= 0; at -= at > whole.length - 1024 ? 1 : 997) cuts.push(at);
  for (const at of cuts) {
    truncateSync(newest, at);
    const { log, lines } = logLines();
    const loaded = loadCheckpoint(c.dir, 'kv', log);
    assert.is(loaded?.meta.journalSeq, 10, `cut at ${at}`);
    assert.ok(
      lines.some((l) => l.includes('torn')),
      `cut at ${at}: a log line says the file is torn`,
    );
    writeFileSync(newest, whole);
  }
  truncateSync(newest, 100);
  const back = restore(c.dir);
  assert.is(persistentHash(back.memory), atTen);
  assert.is(back.state, 'ten');
  // A file that was never committed is ignored the same way.
  writeFileSync(join(c.writer.dir, '0000000003.ckpt.partial'), whole.subarray(0, 5000));
  const { log, lines } = logLines();
  assert.is(loadCheckpoint(c.dir, 'kv', log)?.meta.journalSeq, 10);
  assert.ok(lines.some((l) => l.includes('never committed')));
  await c.writer.close();
  rmSync(c.dir, { recursive: true });
});

test('a flipped byte in any file of the chain stops the load, naming the file and the offset, and deletes nothing', async () => {
  const c = component();
  for (let i = 0; i < 3_000; i++) c.kv.send(`SET key${i} value${i}`);
  await c.writer.request({ journalSeq: 1, state: null });
  for (let i = 0; i < 300; i++) c.kv.send(`SET key${i} again${i}`);
  await c.writer.request({ journalSeq: 2, state: null });
  for (const name of c.files()) {
    const path = join(c.writer.dir, name);
    const whole = readFileSync(path);
    // The header, the first page block's index and data, the meta block and the trailer.
    for (const at of [3, 12, 100, 200, 5000, whole.length - 60, whole.length - 10]) {
      const flipped = Buffer.from(whole);
      flipped[at] = flipped[at]! ^ 0x20;
      writeFileSync(path, flipped);
      const before = dirHash(c.writer.dir);
      try {
        loadCheckpoint(c.dir, 'kv');
        assert.unreachable(`${name}: a flipped byte at ${at} was not noticed`);
      } catch (e) {
        assert.instance(e, CheckpointCorruptError, `${name} at ${at}: ${(e as Error).message}`);
        const err = e as CheckpointCorruptError;
        assert.is(err.file, path);
        assert.ok(err.offset <= at, `${name}: reported offset ${err.offset} is at or before the flipped byte ${at}`);
        assert.match(err.message, path);
      }
      assert.is(dirHash(c.writer.dir), before, 'nothing on disk changed');
      writeFileSync(path, whole);
    }
  }
  assert.is(loadCheckpoint(c.dir, 'kv')?.meta.journalSeq, 2, 'the repaired chain loads again');
  await c.writer.close();
  rmSync(c.dir, { recursive: true });
});

test('increments are compacted into a new base, so recovery reads a bounded amount', async () => {
  const c = component();
  for (let i = 0; i < 2_000; i++) c.kv.send(`SET key${i} ${'v'.repeat(100)}`);
  const base = await c.writer.request({ journalSeq: 0, state: null });
  let seq = 0;
  const kinds: string[] = [];
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 2_000; i++) c.kv.send(`SET key${i} r${round}${'w'.repeat(100)}`);
    kinds.push((await c.writer.request({ journalSeq: ++seq, state: null })).kind);
  }
  assert.ok(kinds.includes('base'), `a later checkpoint was a base: ${kinds.join(' ')}`);
  const loaded = loadCheckpoint(c.dir, 'kv');
  assert.is(loaded?.meta.journalSeq, seq);
  const state = c.memory.persistentBytesInUse();
  assert.ok(loaded!.bytes < 3 * state + base.bytes, `recovery reads ${loaded!.bytes} bytes for ${state} bytes of state`);
  assert.ok(c.files().length <= 33, `${c.files().length} files on disk`);
  const total = c.files().reduce((n, f) => n + statSync(join(c.writer.dir, f)).size, 0);
  assert.ok(total < 4 * state + base.bytes, `${total} bytes on disk`);
  const back = restore(c.dir);
  assert.is(persistentHash(back.memory), persistentHash(c.memory));
  await c.writer.close();
  rmSync(c.dir, { recursive: true });
});

test('an empty directory has no checkpoint; a file of another component is refused', async () => {
  const c = component();
  assert.is(loadCheckpoint(c.dir, 'kv'), null);
  c.kv.send('SET a b');
  await c.writer.request({ journalSeq: 1, state: null });
  const other = join(c.dir, 'shop', 'checkpoint');
  rmSync(other, { recursive: true, force: true });
  const { mkdirSync, copyFileSync } = await import('node:fs');
  mkdirSync(other, { recursive: true });
  copyFileSync(join(c.writer.dir, '0000000001.ckpt'), join(other, '0000000001.ckpt'));
  assert.throws(
    () => loadCheckpoint(c.dir, 'shop'),
    (e: Error) => e instanceof CheckpointCorruptError && /belongs to component "kv"/.test(e.message),
  );
  await c.writer.close();
  rmSync(c.dir, { recursive: true });
});

test.run();
