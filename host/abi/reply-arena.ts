/**
 * Copies of module bytes that outlive the call (hs.reply's replies), cut from slabs of their
 * own: a UDP send or a TCP write may complete after the module's memory changed, so a reply
 * target gets its own bytes, never a view of linear memory.
 *
 * Each copy is a plain Node Buffer over its own range of a slab, as `Buffer.allocUnsafe` hands
 * out over Node's pool: a slab is never written again once its range is handed out, and a new
 * one (zeroed) is taken when the current one is full, so a copy stays valid for as long as
 * anyone holds it. Made here rather than by `Buffer.allocUnsafe`, whose size check (a wrapped
 * validator) and pool bookkeeping are a quarter of a short reply's copy: 2- and 15-byte replies
 * 58 → 44 ns each in a micro-run (docs/PERFORMANCE.md).
 */

/** Slab size: Node's own Buffer.poolSize, so a kept reply holds at most as much memory alive as a pooled Buffer does. */
const SLAB_BYTES = 8 * 1024;
/** Longer copies get a Buffer of their own (as Node's pool does above half its size). */
const SLAB_MAX_COPY = SLAB_BYTES >>> 1;
/**
 * Copies up to this length are a loop: `set(subarray(…))` makes a view first, itself an
 * allocation (2 bytes: 40 vs 91 ns, 13 bytes: 56 vs 88 ns, 64 bytes: 121 vs 97 ns; Buffer#copy's
 * native call was slower than both; docs/PERFORMANCE.md).
 */
const SHORT_COPY = 32;

/**
 * Node's Buffer class for the views it makes itself (`Buffer.prototype.subarray` creates them
 * through this species): a Buffer over a given ArrayBuffer range, indistinguishable from one of
 * `Buffer.allocUnsafe` (same prototype, same methods, accepted by dgram and net alike).
 */
const NodeBuffer = (
  Buffer as unknown as { readonly [Symbol.species]: new (buffer: ArrayBuffer, byteOffset: number, length: number) => Buffer }
)[Symbol.species];

/** Copies `len` bytes of `src` from `ptr` into `out` at `at`. */
export function copyBytes(out: Uint8Array, at: number, src: Uint8Array, ptr: number, len: number): void {
  if (len <= SHORT_COPY) {
    for (let i = 0; i < len; i++) out[at + i] = src[ptr + i]!;
  } else {
    out.set(src.subarray(ptr, ptr + len), at);
  }
}

export class ReplyArena {
  #slab = new ArrayBuffer(SLAB_BYTES);
  #bytes = new Uint8Array(this.#slab);
  #used = 0;

  /** A Buffer of its own holding `len` bytes of `src` from `ptr` (the caller checked the range). */
  copy(src: Uint8Array, ptr: number, len: number): Buffer {
    if (len > SLAB_MAX_COPY) {
      const out = Buffer.allocUnsafe(len);
      copyBytes(out, 0, src, ptr, len);
      return out;
    }
    let at = this.#used;
    if (at + len > SLAB_BYTES) {
      this.#slab = new ArrayBuffer(SLAB_BYTES);
      this.#bytes = new Uint8Array(this.#slab);
      at = 0;
    }
    copyBytes(this.#bytes, at, src, ptr, len);
    // 8-byte aligned, like Node's pool: a reader may take wider views of its own range.
    this.#used = (at + len + 7) & ~7;
    return new NodeBuffer(this.#slab, at, len);
  }
}
