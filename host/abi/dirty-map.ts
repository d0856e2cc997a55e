// Finds the pages marked in a persistent memory's dirty map, fast enough for the sync at the
// start of a swap (DirtyPageCheckpoint), with the memory's views cached between calls.
import { ARENA_OFFSET, DIRTY_MAP_OFFSET, DIRTY_PAGE_SHIFT, HEADER_OFFSET, HeaderField, INBOX_OFFSET, MEMORY_BASE } from './abi.js';
import type { PersistentMemory } from './memory.js';

const PAGES = MEMORY_BASE >>> DIRTY_PAGE_SHIFT;
/** Pages of the inbox and of the map itself: written by the host or by the marking code, never restored. */
const FIRST_UNTRACKED = INBOX_OFFSET >>> DIRTY_PAGE_SHIFT;
const FIRST_TRACKED_AFTER = ARENA_OFFSET >>> DIRTY_PAGE_SHIFT;
/** The header's heap top, as an index into a Uint32Array over memory. */
const HEAP_TOP_WORD = (HEADER_OFFSET + HeaderField.heapTop) >>> 2;
/** Up to this many pages a byte loop is faster than indexOf and memcmp (their calls and subarrays). */
const BYTE_SCAN_PAGES = 512;

/** Views of the memory's buffer (a `memory.grow` detaches it); `map` is a Buffer for its memchr `indexOf`. */
export interface MemoryViews {
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
  readonly map: Buffer;
  readonly words: Uint32Array;
}

export class DirtyMap {
  readonly #memory: PersistentMemory;
  #views: MemoryViews | null = null;
  /** Zeros to compare the scanned map with (forEach). */
  readonly #zeros = Buffer.alloc(PAGES);

  constructor(memory: PersistentMemory) {
    this.#memory = memory;
  }

  /** The memory's views, taken again only when a `memory.grow` detached the buffer. */
  views(): MemoryViews {
    const views = this.#views;
    // A detached buffer reads byteLength 0: far cheaper than the `memory.buffer` getter.
    if (views !== null && views.buffer.byteLength !== 0) return views;
    const buffer = this.#memory.memory.buffer;
    const map = Buffer.from(buffer, DIRTY_MAP_OFFSET, PAGES);
    this.#views = { buffer, bytes: new Uint8Array(buffer), map, words: new Uint32Array(buffer, 0, HEAP_TOP_WORD + 1) };
    return this.#views;
  }

  /**
   * PersistentMemory.persistentBytesInUse's bound (header, inbox and the arena up to its
   * high-water mark), read from the cached view rather than through header(), which makes a
   * view and an object per call.
   */
  bytesInUse(): number {
    const top = this.views().words[HEAP_TOP_WORD]!;
    return Math.min(Math.max(top, ARENA_OFFSET), this.#memory.memoryBase);
  }

  /**
   * Visits dirty pages below `limitPages` until `visit` returns false; marks of the inbox and
   * map pages are cleared, not visited. The marks the instrumentation, markHostWrite and a
   * restore write are 1s, found with Buffer#indexOf (memchr): ~1 µs over the ~23,000 pages of 1M
   * keys, where a loop over 32-bit words took ~7 µs. A module can also write over the map itself
   * (a hostile `memory.fill`): one memcmp against zeros finds such other bytes, and a byte loop
   * visits them (sync and rollback have cleared the 1s by then; elsewhere the loop skips them).
   */
  forEach(limitPages: number, visit: (page: number) => boolean): void {
    const map = this.views().map;
    // Whole 4-page groups, as the word scan before it visited: the same pages, exactly.
    const end = Math.min(PAGES, Math.ceil(limitPages / 4) * 4);
    if (end <= BYTE_SCAN_PAGES) {
      for (let page = 0; page < end; page++) if (map[page] !== 0 && !visitMark(map, page, visit)) return;
      return;
    }
    const scan = end === PAGES ? map : map.subarray(0, end);
    for (let page = scan.indexOf(1); page !== -1; page = scan.indexOf(1, page + 1)) {
      if (!visitMark(map, page, visit)) return;
    }
    if (scan.equals(this.#zeros.subarray(0, end))) return;
    for (let page = 0; page < end; page++) {
      if (map[page]! > 1 && !visitMark(map, page, visit)) return;
    }
  }
}

/** Visits a marked page; inbox and map pages are transient, never part of the rollback copy. */
function visitMark(map: Buffer, page: number, visit: (page: number) => boolean): boolean {
  if (page < FIRST_UNTRACKED || page >= FIRST_TRACKED_AFTER) return visit(page) !== false;
  map[page] = 0;
  return true;
}
