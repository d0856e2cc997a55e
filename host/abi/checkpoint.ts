// The incremental rollback copy of persistent memory: a shadow copy kept in step with the pages
// the module marked dirty, so a swap copies and a rollback restores only what changed.
import { ARENA_OFFSET, DIRTY_PAGE_SHIFT, INBOX_OFFSET, MEMORY_BASE } from './abi.js';
import { DirtyMap } from './dirty-map.js';
import type { PersistentMemory } from './memory.js';
import { ShadowCapture } from './shadow-capture.js';

const PAGE = 1 << DIRTY_PAGE_SHIFT;
const PAGES = MEMORY_BASE >>> DIRTY_PAGE_SHIFT;
/** Pages of the inbox and of the map itself: written by the host or by the marking code, never restored. */
const FIRST_UNTRACKED = INBOX_OFFSET >>> DIRTY_PAGE_SHIFT;
const FIRST_TRACKED_AFTER = ARENA_OFFSET >>> DIRTY_PAGE_SHIFT;

/**
 * Where the bytes of pages restored from a crash checkpoint can be read back (its files) until
 * the shadow holds its own copy of them (`DirtyPageCheckpoint.adoptRestored`).
 */
export interface RestoredPageSource {
  /** Copies the restored bytes of `page` (one whole page) into `into` at `at`. */
  read(page: number, into: Uint8Array, at: number): void;
  /** Nothing more is read for now: close what reading opened (a later read may open it again). */
  release(): void;
}

/** Pages restored but not copied into the shadow yet: their shadow bytes are the source's. */
interface Restored {
  source: RestoredPageSource;
  /** One byte per page, 1 while the page's shadow bytes are still only in the source. */
  pending: Uint8Array;
  count: number;
  /** No pending page lies below this one (pages only ever leave `pending`). */
  cursor: number;
}

/**
 * An incremental rollback copy of persistent memory, kept page by page.
 *
 * Modules run instrumented (host/modules/dirty-pages.ts): every write to a page below MEMORY_BASE
 * sets that page's byte in the dirty map. `sync()` copies the marked pages into a shadow copy and
 * clears their marks, so the shadow equals persistent memory right after it. A swap calls
 * `sync()` first, which costs only the pages written since the previous sync, and that is
 * usually done already because the component syncs when it is idle. If the swap fails,
 * `rollback()` copies back exactly the pages written since then.
 *
 * This replaces the full snapshot (PersistentMemory.snapshot), whose cost grows with the data
 * (docs/SAFETY.md). The shadow is also what a crash checkpoint writes to disk: `sync()` also
 * remembers which shadow pages changed since the last disk capture, and `captureForDisk()` freezes
 * them for a writer that copies them out over many event-loop turns (docs/CHECKPOINTS.md).
 */
export class DirtyPageCheckpoint {
  /** Shadow of persistent memory: the whole region once first needed (#ensureShadow); a page never synced is zeros. */
  #shadow: Buffer = Buffer.alloc(0);
  /** Pages below the high-water mark at the last sync: what the shadow covers for sure. */
  #syncedLimit = 0;
  /** One past the highest page ever copied into the shadow: what a full disk capture covers. */
  #highestSynced = 0;
  /** Pages whose shadow bytes changed since the last disk capture, one byte per page. */
  readonly #sinceDisk = new Uint8Array(PAGES);
  /** The disk capture still being written, whose frozen pages a sync must not lose. */
  #capture: ShadowCapture | null = null;
  /** Pages a crash checkpoint restored whose shadow copy is still only in its files (null: none). */
  #restored: Restored | null = null;
  /** The dirty map and the memory's views, cached: taking them on every sync was part of the swap's pause. */
  readonly #dirty: DirtyMap;

  constructor(memory: PersistentMemory) {
    this.#dirty = new DirtyMap(memory);
  }

  /** Marks a page the host wrote itself (the header's generation counter). */
  markHostWrite(offset: number): void {
    this.#dirty.views().map[offset >>> DIRTY_PAGE_SHIFT] = 1;
  }

  /** Number of pages currently marked dirty. */
  dirtyPages(): number {
    let n = 0;
    this.#dirty.forEach(PAGES, () => ++n > 0);
    return n;
  }

  /**
   * Copies every dirty page below the high-water mark into the shadow and clears its mark.
   * Returns the pages copied. Pages above the mark hold no data (the arena only grows by its
   * bump pointer), so their marks can wait: the scan stays proportional to the data in use,
   * which keeps the sync at the start of a swap short.
   */
  sync(): number {
    return this.#sync(Number.POSITIVE_INFINITY);
  }

  /**
   * The memory was just restored from a crash checkpoint (no module ran over it yet): the pages
   * marked in `pages` (a byte each) hold what `source` reads back. The shadow takes them lazily:
   * until a page is copied its shadow bytes are the source's, so a rollback reads a page written
   * since back from the source, and a sync copies only pages written since, as usual. `syncSome`
   * (the checkpoint writer's presync) copies them in bounded steps, and a disk capture copies
   * what is left first, so the source is needed only until the first checkpoint after the restore.
   */
  adoptRestored(source: RestoredPageSource, pages: Uint8Array): void {
    if (this.#highestSynced > 0 || this.#restored) throw new Error('dirty-page checkpoint: adoptRestored needs a fresh shadow');
    let count = 0;
    for (let page = 0; page < PAGES; page++) {
      if (pages[page] === 0) continue;
      count++;
      // Restored pages count as synced: a rollback covers them, a full disk capture includes them.
      this.#highestSynced = page + 1;
    }
    if (count > 0) this.#restored = { source, pending: pages, count, cursor: 0 };
    this.#syncedLimit = this.#limit();
  }

  /** Restored pages whose shadow copy is still only in the checkpoint's files. */
  restoredPending(): number {
    return this.#restored?.count ?? 0;
  }

  /**
   * Copies at most `maxPages` dirty pages into the shadow: a step of catching up after a burst of
   * writes, one event-loop turn at a time, so that the full `sync()` that follows is short. Until
   * that full sync the shadow is not a consistent image (a swap's rollback always syncs fully
   * first). With budget left, it also copies restored pages still pending (adoptRestored).
   * Returns the pages copied; fewer than `maxPages` means nothing was left.
   */
  syncSome(maxPages: number): number {
    const copied = this.#sync(maxPages);
    return copied < maxPages ? copied + this.#copyRestored(maxPages - copied) : copied;
  }

  #sync(maxPages: number): number {
    const { bytes, map } = this.#dirty.views();
    const limit = this.#limit();
    this.#ensureShadow();
    let copied = 0;
    this.#dirty.forEach(limit, (page) => {
      if (copied >= maxPages) return false;
      this.#capture?.preserve(page, this.#shadow);
      this.#shadow.set(bytes.subarray(page * PAGE, page * PAGE + PAGE), page * PAGE);
      map[page] = 0;
      this.#sinceDisk[page] = 1;
      if (page >= this.#highestSynced) this.#highestSynced = page + 1;
      this.#settleRestored(page);
      copied++;
      return true;
    });
    if (copied < maxPages) this.#syncedLimit = limit;
    return copied;
  }

  /** `page` now has its own shadow copy: it no longer needs the restored source. */
  #settleRestored(page: number): void {
    const restored = this.#restored;
    if (restored === null || restored.pending[page] === 0) return;
    restored.pending[page] = 0;
    if (--restored.count === 0) {
      restored.source.release();
      this.#restored = null;
    }
  }

  /**
   * Copies up to `maxPages` restored pages still pending into the shadow, lowest first: from
   * memory when the page is clean (unwritten since the restore or the last rollback, so memory
   * holds the restored bytes), from the source when it is dirty. Returns the pages copied.
   */
  #copyRestored(maxPages: number): number {
    const restored = this.#restored;
    if (restored === null || maxPages <= 0) return 0;
    const { bytes, map } = this.#dirty.views();
    this.#ensureShadow();
    const { source, pending } = restored;
    let copied = 0;
    try {
      let page = restored.cursor;
      for (; page < PAGES && copied < maxPages; page++) {
        if (pending[page] === 0) continue;
        const start = page * PAGE;
        this.#capture?.preserve(page, this.#shadow);
        if (map[page] === 0) this.#shadow.set(bytes.subarray(start, start + PAGE), start);
        else source.read(page, this.#shadow, start);
        this.#sinceDisk[page] = 1;
        copied++;
        restored.cursor = page + 1;
        this.#settleRestored(page);
        if (this.#restored === null) return copied; // the last one: the source is released
      }
    } finally {
      this.#restored?.source.release();
    }
    return copied;
  }

  /**
   * Freezes the shadow's pages for a disk checkpoint: those changed since the previous capture,
   * or, when `full`, every page the shadow holds. Call it right after `sync()`, between two events,
   * so the shadow is the state the checkpoint describes. Until the capture releases a page (or is
   * closed), a later sync keeps a copy of that page's frozen bytes before overwriting it, so the
   * writer may take the pages over many event-loop turns. One capture at a time.
   */
  captureForDisk(full: boolean): ShadowCapture {
    if (this.#capture) throw new Error('dirty-page checkpoint: a disk capture is still open; close it before the next one');
    // The writer's presync has normally copied them in steps already; what is left goes now.
    this.#copyRestored(PAGES);
    const pages: number[] = [];
    const since = this.#sinceDisk;
    if (full) {
      for (let page = 0; page < this.#highestSynced; page++) if (page < FIRST_UNTRACKED || page >= FIRST_TRACKED_AFTER) pages.push(page);
      since.fill(0);
    } else {
      const words = new Uint32Array(since.buffer, 0, PAGES >>> 2);
      for (let w = 0; w < words.length; w++) {
        if (words[w] === 0) continue;
        for (let page = w << 2; page < (w << 2) + 4; page++) if (since[page]) pages.push(page);
        words[w] = 0;
      }
    }
    const capture = new ShadowCapture(
      Uint32Array.from(pages),
      PAGE,
      PAGES,
      (page) => this.#shadowPage(page),
      () => {
        this.#capture = null;
      },
    );
    this.#capture = capture;
    return capture;
  }

  /** The shadow's bytes of one page (a view; zeros for a page the shadow never held). */
  #shadowPage(page: number): Uint8Array {
    const start = page * PAGE;
    return start + PAGE <= this.#shadow.length ? this.#shadow.subarray(start, start + PAGE) : new Uint8Array(PAGE);
  }

  /**
   * Puts back every page written since the last sync, exactly, and clears the marks: up to the
   * higher of the high-water marks at the sync and now (a failed module may have moved it).
   * Pages above the old mark were free space then; they get the shadow's bytes or zeros.
   */
  rollback(): number {
    const { bytes, map } = this.#dirty.views();
    const pending = this.#restored?.pending;
    let restored = 0;
    try {
      this.#dirty.forEach(Math.max(this.#syncedLimit, this.#limit()), (page) => {
        const start = page * PAGE;
        // A restored page not copied yet: its rollback copy is in the checkpoint's files.
        if (pending?.[page]) this.#restored!.source.read(page, bytes, start);
        else if (start + PAGE <= this.#shadow.length) bytes.set(this.#shadow.subarray(start, start + PAGE), start);
        else bytes.fill(0, start, start + PAGE); // never synced: it was still zero
        map[page] = 0;
        restored++;
        return true;
      });
    } finally {
      this.#restored?.source.release();
    }
    return restored;
  }

  /** Pages up to the allocator's high-water mark (clamped to the persistent region), plus one. */
  #limit(): number {
    return Math.min(PAGES, Math.ceil(this.#dirty.bytesInUse() / PAGE) + 1);
  }

  /**
   * The shadow is the whole persistent region at once, made on first need. Its zeros are the
   * kernel's: a page costs memory only once a sync writes it, so the size costs address space,
   * not RSS. It used to grow geometrically, copying itself on each growth inside a sync: 2–33 ms
   * between 4 and 128 MiB, and 230–380 ms (one event-loop turn) when the first sync after a
   * recovery of 240 MiB grew it to 256 MiB.
   */
  #ensureShadow(): void {
    if (this.#shadow.length === 0) this.#shadow = Buffer.alloc(MEMORY_BASE);
  }
}
