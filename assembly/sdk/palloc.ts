// The persistent allocator: a segregated-fit allocator over the arena below MEMORY_BASE.
// Its whole state (bump pointer and free-list heads) lives in the persistent header, so every
// module version shares it and the host can read its high-water mark to snapshot only the
// bytes in use. Every mutation ends in ONE u32 store, so a trap can leak a block but never
// corrupt the allocator (the commit order asked for by docs/ABI.md).
// The block header's size and the size classes are part of the ABI (host/abi/abi.ts): every
// module version must read the blocks and free lists the earlier ones wrote.
import {
  HEADER_OFFSET, HDR_HEAP_TOP, HDR_HEAP_LIMIT, HDR_FREE_LISTS, FREE_LIST_CLASSES, ARENA_OFFSET,
  PALLOC_BLOCK_HEADER, PALLOC_MIN_CLASS,
} from "./generated/abi";

const BLOCK_HEADER: usize = PALLOC_BLOCK_HEADER;
const MIN_CLASS: u32 = PALLOC_MIN_CLASS;

// @ts-ignore: decorator
@inline function sizeClass(total: usize): u32 {
  const c = <u32>(32 - clz<u32>(<u32>total - 1));
  return c < MIN_CLASS ? MIN_CLASS : c;
}

/** Prepares an empty arena ending at `limit` (called once, by the SDK on init). */
export function pallocReset(limit: usize): void {
  for (let i: u32 = 0; i < FREE_LIST_CLASSES; i++) store<u32>(HEADER_OFFSET + HDR_FREE_LISTS + (i << 2), 0);
  store<u32>(HEADER_OFFSET + HDR_HEAP_LIMIT, <u32>limit);
  store<u32>(HEADER_OFFSET + HDR_HEAP_TOP, <u32>ARENA_OFFSET);
}

/** Allocates `size` bytes of persistent memory (not zeroed). Aborts when the arena is full. */
export function palloc(size: usize): usize {
  const cls = sizeClass(size + BLOCK_HEADER);
  assert(cls < MIN_CLASS + FREE_LIST_CLASSES, "palloc: block too large");
  const list = HEADER_OFFSET + HDR_FREE_LISTS + ((cls - MIN_CLASS) << 2);
  const head = <usize>load<u32>(list);
  if (head != 0) {
    store<u32>(list, load<u32>(head + BLOCK_HEADER)); // commit: pop
    return head + BLOCK_HEADER;
  }
  const top = <usize>load<u32>(HEADER_OFFSET + HDR_HEAP_TOP);
  const block = <usize>1 << cls;
  const limit = <usize>load<u32>(HEADER_OFFSET + HDR_HEAP_LIMIT);
  if (top + block > limit) abort("persistent arena full");
  store<u32>(top, cls);
  store<u32>(HEADER_OFFSET + HDR_HEAP_TOP, <u32>(top + block)); // commit: bump
  return top + BLOCK_HEADER;
}

/** Returns a block from palloc to its size class's free list. */
export function pfree(ptr: usize): void {
  if (ptr == 0) return;
  const head = ptr - BLOCK_HEADER;
  const cls = load<u32>(head);
  const list = HEADER_OFFSET + HDR_FREE_LISTS + ((cls - MIN_CLASS) << 2);
  store<u32>(ptr, load<u32>(list));
  store<u32>(list, <u32>head); // commit: push
}

/** The bytes usable in the block `ptr` (from palloc): its size class less the header. */
export function pallocCapacity(ptr: usize): usize {
  return (<usize>1 << load<u32>(ptr - BLOCK_HEADER)) - BLOCK_HEADER;
}

/** Allocates and zeroes. */
export function pallocZeroed(size: usize): usize {
  const p = palloc(size);
  memory.fill(p, 0, size);
  return p;
}

/** Bytes of the arena in use, up to the high-water mark. */
export function pallocHighWater(): usize { return <usize>load<u32>(HEADER_OFFSET + HDR_HEAP_TOP); }
