// The dirty-page checkpoint's scan of the dirty map, on a bare memory: every non-zero mark is a
// dirty page, the 1s the instrumentation writes and any other byte a module wrote over the map
// itself, for a small store (the byte loop) and a large one (indexOf, then memcmp and a byte loop).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ARENA_OFFSET, DIRTY_MAP_OFFSET, DIRTY_PAGE_SHIFT, HEADER_OFFSET, HeaderField, MEMORY_BASE } from '../host/abi/abi.js';
import { DirtyPageCheckpoint } from '../host/abi/checkpoint.js';
import { PersistentMemory } from '../host/abi/memory.js';

const PAGE = 1 << DIRTY_PAGE_SHIFT;
const FIRST_ARENA_PAGE = ARENA_OFFSET >>> DIRTY_PAGE_SHIFT;

/** A memory whose arena is in use up to `arenaPages` pages, its checkpoint synced once. */
function setup(arenaPages: number): { memory: PersistentMemory; checkpoint: DirtyPageCheckpoint; map: Uint8Array; bytes: Uint8Array } {
  const memory = new PersistentMemory({ maxBytes: 300 << 20 });
  const words = new Uint32Array(memory.memory.buffer);
  words[(HEADER_OFFSET + HeaderField.heapTop) >>> 2] = ARENA_OFFSET + arenaPages * PAGE;
  const checkpoint = new DirtyPageCheckpoint(memory);
  checkpoint.sync();
  return {
    memory,
    checkpoint,
    map: new Uint8Array(memory.memory.buffer, DIRTY_MAP_OFFSET, MEMORY_BASE >>> DIRTY_PAGE_SHIFT),
    bytes: new Uint8Array(memory.memory.buffer),
  };
}

for (const [what, arenaPages] of [
  ['a small store', 100],
  ['a large store', 20_000],
] as const) {
  test(`every non-zero mark is synced and rolled back, 1 or not (${what})`, () => {
    const { checkpoint, map, bytes } = setup(arenaPages);
    // Marks as the instrumentation writes them (1) and as a module scribbling over the map leaves
    // them (0xab; 0x80 alone in the last byte of an 8-byte group; 2), spread over the arena.
    const pages = [FIRST_ARENA_PAGE + 3, FIRST_ARENA_PAGE + 7, FIRST_ARENA_PAGE + 15, FIRST_ARENA_PAGE + arenaPages - 2];
    const marks = [1, 0xab, 0x80, 2];
    for (const page of pages) bytes.fill(0x11, page * PAGE, (page + 1) * PAGE);
    pages.forEach((page, i) => {
      map[page] = marks[i]!;
    });
    assert.is(checkpoint.dirtyPages(), 4, 'each non-zero mark counts');
    assert.is(checkpoint.sync(), 4, 'the sync copies each marked page');
    assert.is(checkpoint.dirtyPages(), 0, 'and clears its mark');

    for (const page of pages) bytes.fill(0x22, page * PAGE, (page + 1) * PAGE);
    pages.forEach((page, i) => {
      map[page] = marks[(i + 1) % marks.length]!;
    });
    assert.is(checkpoint.rollback(), 4, 'the rollback restores each marked page');
    for (const page of pages)
      assert.ok(
        bytes.subarray(page * PAGE, (page + 1) * PAGE).every((b) => b === 0x11),
        `page ${page} restored`,
      );
    assert.is(checkpoint.dirtyPages(), 0);
  });
}

test.run();
