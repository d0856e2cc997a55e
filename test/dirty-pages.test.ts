// The incremental rollback copy: instrumented modules mark every page they write, and a
// checkpoint puts back exactly the pages written since its last sync.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ARENA_OFFSET, DIRTY_MAP_OFFSET, HEADER_OFFSET, MEMORY_BASE } from '../host/abi/abi.js';
import { DirtyPageCheckpoint } from '../host/abi/checkpoint.js';
import { buildImports } from '../host/abi/imports.js';
import { inertHost } from '../host/abi/inert-host.js';
import { PersistentMemory } from '../host/abi/memory.js';
import { instrumentDirtyPages } from '../host/modules/dirty-pages.js';
import { repoRoot } from './support/engine-process.js';

function kvInstance(bytes: Uint8Array, memory: PersistentMemory): Record<string, (...a: number[]) => number> {
  const host = inertHost(memory);
  return new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes)), buildImports(host)).exports as never;
}
const send = (ex: Record<string, (...a: number[]) => number>, memory: PersistentMemory, line: string): void => {
  const payload = Buffer.from(line);
  memory.writeInbox(0, payload, 'test', 0);
  ex.on_message!(0, payload.length);
};
/** Hash of the persistent bytes a module owns: header and arena (not the inbox or the map). */
const persistentHash = (memory: PersistentMemory): string => {
  const b = new Uint8Array(memory.memory.buffer);
  return createHash('sha256').update(b.subarray(0, 4096)).update(b.subarray(ARENA_OFFSET, MEMORY_BASE)).digest('hex');
};

const kv = readFileSync(join(repoRoot, 'build/modules/kv/2.0.0.wasm'));
const instrumented = instrumentDirtyPages(kv);

test('every page an instrumented module writes is marked', () => {
  const memory = new PersistentMemory({ maxBytes: 512 << 20 });
  const ex = kvInstance(instrumented, memory);
  assert.is(ex.init!(HEADER_OFFSET), 0);
  for (let i = 0; i < 20_000; i++) send(ex, memory, `SET key${i} ${'v'.repeat(i % 50)}`);
  const map = new Uint8Array(memory.memory.buffer, DIRTY_MAP_OFFSET, MEMORY_BASE >>> 12);
  const bytes = new Uint8Array(memory.memory.buffer);
  const top = memory.header().heapTop;
  let unmarked = 0;
  let marked = 0;
  for (let page = ARENA_OFFSET >>> 12; page < Math.ceil(top / 4096); page++) {
    if (map[page]) marked++;
    else if (bytes.subarray(page * 4096, page * 4096 + 4096).some((x) => x !== 0)) unmarked++;
  }
  assert.is(unmarked, 0, 'no written page is left unmarked');
  assert.ok(marked > 100, `${marked} pages marked`);
  assert.is(
    map.subarray(Math.ceil(top / 4096) + 1).reduce((a, x) => a + x, 0),
    0,
    'nothing marked above the high-water mark',
  );
});

test('rollback restores exactly the bytes of the last sync, including growth past the old high-water mark', () => {
  const memory = new PersistentMemory({ maxBytes: 512 << 20 });
  const checkpoint = new DirtyPageCheckpoint(memory);
  const ex = kvInstance(instrumented, memory);
  assert.is(ex.init!(HEADER_OFFSET), 0);
  for (let i = 0; i < 5_000; i++) send(ex, memory, `SET key${i} value${i}`);
  assert.ok(checkpoint.sync() > 10);
  assert.is(checkpoint.dirtyPages(), 0);
  const before = persistentHash(memory);
  // Overwrite, delete and grow: the map resizes and the arena grows past its old top.
  for (let i = 0; i < 20_000; i++) send(ex, memory, i % 3 === 0 ? `DEL key${i}` : `SET key${i} changed${i}`);
  assert.is.not(persistentHash(memory), before);
  const restored = checkpoint.rollback();
  assert.ok(restored > 10, `${restored} pages restored`);
  assert.is(persistentHash(memory), before, 'persistent bytes are back exactly');
  // A fresh instance over the restored memory sees the old data.
  const again = kvInstance(instrumented, memory);
  assert.is(again.restart!(HEADER_OFFSET), 0);
  let reply = '';
  const host2 = inertHost(memory, {
    reply: (b) => {
      reply = b.toString();
      return 0;
    },
  });
  const reader = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(instrumented)), buildImports(host2)).exports as Record<
    string,
    (...a: number[]) => number
  >;
  assert.is(reader.restart!(HEADER_OFFSET), 0);
  send(reader, memory, 'GET key4999');
  assert.is(reply, 'VALUE value4999');
  send(reader, memory, 'COUNT');
  assert.is(reply, '5000');
});

test.run();
