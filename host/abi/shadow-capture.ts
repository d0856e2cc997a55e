// The frozen set of shadow pages one disk checkpoint writes: copy-on-write against later syncs,
// so the writer can take the pages out in slices while the component keeps running.

/**
 * The pages of one disk checkpoint, as the shadow held them when it was captured
 * (`DirtyPageCheckpoint.captureForDisk`). The shadow keeps changing while the writer works: before
 * a sync overwrites a page that is still pending here, it calls `preserve`, which keeps a copy of
 * the frozen bytes. `take` hands out a page's frozen bytes and releases it, so the extra copies
 * cost only the pages that change during the write, and only until they are taken.
 */
export class ShadowCapture {
  /** The captured page numbers, ascending. */
  readonly pages: Uint32Array;
  readonly pageSize: number;
  readonly #pending: Uint8Array;
  readonly #preserved = new Map<number, Uint8Array>();
  readonly #shadowPage: (page: number) => Uint8Array;
  readonly #onClose: () => void;
  #closed = false;

  constructor(pages: Uint32Array, pageSize: number, totalPages: number, shadowPage: (page: number) => Uint8Array, onClose: () => void) {
    this.pages = pages;
    this.pageSize = pageSize;
    this.#pending = new Uint8Array(totalPages);
    for (const page of pages) this.#pending[page] = 1;
    this.#shadowPage = shadowPage;
    this.#onClose = onClose;
  }

  /** Pages the component changed while they were pending, copied to keep their frozen bytes. */
  get preservedPages(): number {
    return this.#preserved.size;
  }

  /** The shadow is about to overwrite `page`: keep its frozen bytes if it is still pending. */
  preserve(page: number, shadow: Uint8Array): void {
    if (this.#pending[page] === 0 || this.#preserved.has(page)) return;
    const start = page * this.pageSize;
    // A copy, not `slice`: on a Buffer, `slice` is a view that the sync would then overwrite.
    this.#preserved.set(page, new Uint8Array(shadow.subarray(start, start + this.pageSize)));
  }

  /** Copies the frozen bytes of `page` to `target` at `offset` and releases the page. */
  take(page: number, target: Uint8Array, offset: number): void {
    if (this.#closed) throw new Error(`shadow capture: page ${page} taken after the capture was closed`);
    if (this.#pending[page] === 0) throw new Error(`shadow capture: page ${page} is not pending (not captured, or taken twice)`);
    const kept = this.#preserved.get(page);
    target.set(kept ?? this.#shadowPage(page), offset);
    if (kept) this.#preserved.delete(page);
    this.#pending[page] = 0;
  }

  /** Releases every page still pending; the next capture may begin. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#preserved.clear();
    this.#pending.fill(0);
    this.#onClose();
  }
}
