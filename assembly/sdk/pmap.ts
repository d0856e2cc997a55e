// A persistent hash map from byte strings to byte strings, stored entirely in the persistent
// arena so that it outlives every module version. Only plain u32 offsets are stored (never
// transient pointers), so any later module can open it from its root pointer.
//
// Open addressing with linear probing over a slot array of entry offsets:
//   Map record (16 bytes): count u32 | used u32 (live + tombstones) | table u32 | extra u32
//   Table:                 capacity u32 | slot u32 × capacity   (0 = empty, 1 = tombstone)
//   Entry:                 hash u32 | klen u32 | vlen u32 | extra bytes | key | value
//
// Why this shape: every change is committed by ONE u32 store (a slot, or the table pointer),
// and entries are never modified once linked. A trap at any point (a fuel limit, out of
// memory) therefore leaves either the old or the new state, never a broken chain: a resize
// builds a whole new table from the old one, which it only reads, and publishes it in one store.
//
// `extra` lets an application keep fixed-size per-entry fields (kv 3.0.0 keeps a version
// counter and a timestamp there) without a second lookup structure.
import { palloc, pallocCapacity, pallocHighWater, pfree } from "./palloc";
import { ARENA_OFFSET, PALLOC_BLOCK_HEADER } from "./generated/abi";
import { moveWords } from "./move-words";
// Keys are hashed with FNV-1a, 32 bit (hashBytes): small, no tables, good enough for short
// keys. Entries store the hash and slots are probed by it, so it is part of the layout.
import { hashBytes } from "./fast-bytes";
import {
  ENTRY_HEADER, M_COUNT, M_USED, M_TABLE, M_EXTRA, TOMBSTONE,
  newTable, tableOf, extraOf, findSlotIn, pmapFind, pmapSet, pmapValuePtr, pmapValueLen,
} from "./pmap-core";

export { pmapFind, pmapSet, pmapValuePtr, pmapValueLen } from "./pmap-core";

const BLOCK_HEADER: usize = PALLOC_BLOCK_HEADER;

export class PMap {
  /** Opens the map stored at `ptr` (a persistent offset, e.g. taken from the header's root). */
  constructor(public readonly ptr: usize) {}

  static create(capacity: u32 = 16, extra: u32 = 0): PMap {
    let cap: u32 = 16;
    while (cap < capacity) cap <<= 1;
    const m = palloc(16);
    store<u32>(m + M_COUNT, 0);
    store<u32>(m + M_USED, 0);
    store<u32>(m + M_TABLE, <u32>newTable(cap));
    store<u32>(m + M_EXTRA, extra);
    return new PMap(m);
  }

  get count(): u32 { return load<u32>(this.ptr + M_COUNT); }
  get capacity(): u32 { return load<u32>(this.table()); }
  get extra(): u32 { return <u32>extraOf(this.ptr); }

  /** Finds the entry for a key, or 0. */
  find(kptr: usize, klen: usize): usize { return this.findHashed(kptr, klen, hashBytes(kptr, klen)); }
  /** find() with the key's hash (hashBytes) already computed, e.g. by WordHash while parsing. */
  findHashed(kptr: usize, klen: usize, h: u32): usize { return pmapFind(this.ptr, kptr, klen, h); }

  /** Inserts or replaces; returns the new entry (its extra bytes are copied from the old one, or zeroed). */
  set(kptr: usize, klen: usize, vptr: usize, vlen: usize): usize {
    return this.setHashed(kptr, klen, hashBytes(kptr, klen), vptr, vlen);
  }
  /** set() with the key's hash (hashBytes) already computed. */
  setHashed(kptr: usize, klen: usize, h: u32, vptr: usize, vlen: usize): usize {
    return pmapSet(this.ptr, kptr, klen, h, vptr, vlen);
  }

  /** Removes a key; returns false when it was not there. */
  delete(kptr: usize, klen: usize): bool {
    const slot = findSlotIn(this.ptr, kptr, klen, hashBytes(kptr, klen));
    if (slot == 0) return false;
    const old = <usize>load<u32>(slot);
    store<u32>(slot, TOMBSTONE); // commit: delete
    store<u32>(this.ptr + M_COUNT, this.count - 1);
    pfree(old);
    return true;
  }

  /** Iteration: `for (let i = m.nextIndex(0); i >= 0; i = m.nextIndex(i + 1)) m.entryAt(i)`. */
  nextIndex(from: i32): i32 {
    const t = this.table();
    const cap = <i32>load<u32>(t);
    for (let i = from; i < cap; i++) {
      if (load<u32>(t + 4 + (<usize>i << 2)) > TOMBSTONE) return i;
    }
    return -1;
  }
  entryAt(index: i32): usize { return <usize>load<u32>(this.table() + 4 + (<usize>index << 2)); }

  /**
   * A copy of this map whose entries carry `extra` bytes each (a layout migration). The new
   * table has the same capacity and every entry keeps its slot, tombstones included, so nothing
   * is hashed or probed again: per entry it is one allocation and one copy. Extra bytes are
   * carried over as far as both layouts have them, and the rest is zeroed; then `fill(map, entry)`
   * runs on each new entry. The result is unpublished: the caller commits it with one store of
   * the root, so a trap midway leaves the old map as it was.
   */
  remapped(extra: u32, fill: (map: PMap, e: usize) => void): PMap {
    const oldExtra = <usize>this.extra;
    const newExtra = <usize>extra;
    const keep = oldExtra < newExtra ? oldExtra : newExtra;
    const old = this.table();
    const cap = load<u32>(old);
    const t = newTable(cap);
    const m = palloc(16);
    store<u32>(m + M_COUNT, this.count);
    store<u32>(m + M_USED, load<u32>(this.ptr + M_USED));
    store<u32>(m + M_TABLE, <u32>t);
    store<u32>(m + M_EXTRA, extra);
    const to = new PMap(m);
    for (let i: u32 = 0; i < cap; i++) {
      const slot = <usize>(4 + (<usize>i << 2));
      const e = <usize>load<u32>(old + slot);
      if (e <= TOMBSTONE) {
        store<u32>(t + slot, <u32>e);
        continue;
      }
      const kv = <usize>load<u32>(e + 4) + <usize>load<u32>(e + 8);
      const n = palloc(ENTRY_HEADER + newExtra + kv);
      memory.copy(n, e, ENTRY_HEADER + keep); // hash, klen, vlen and the extra bytes both layouts have
      if (newExtra > keep) memory.fill(n + ENTRY_HEADER + keep, 0, newExtra - keep);
      memory.copy(n + ENTRY_HEADER + newExtra, e + ENTRY_HEADER + oldExtra, kv);
      store<u32>(t + slot, <u32>n);
      fill(to, n);
    }
    return to;
  }

  /**
   * Changes every entry's extra bytes to `extra` where the entries are (a bulk layout migration).
   * Extra bytes both layouts have are kept; the ones a wider layout adds are copied from
   * `template` (`extra - this.extra` bytes; zeroed when it is 0). Entries stay in their blocks
   * and slots: the key and value move by the difference, so no table is rebuilt and no fresh
   * memory is touched, except for an entry whose wider form no longer fits its block (it moves
   * to a new block, one slot store).
   * Entries are visited in address order, not slot order: the slots are in hash order, so
   * following them is one cache and TLB miss per record, while the arena is walked block by
   * block (each block's header gives its size) from a bitmap of the live entries built from the
   * table. docs/PERFORMANCE.md ("Migration") has the measurements.
   * NOT atomic: a trap midway leaves entries of both layouts. It relies on the swap's rollback
   * copy (every snapshot policy but 'never' keeps one); `remapped` is the atomic alternative.
   */
  reshapeInPlace(extra: u32, template: usize): void {
    const oldExtra = <usize>this.extra;
    const newExtra = <usize>extra;
    if (oldExtra == newExtra) return;
    const base = <usize>ARENA_OFFSET;
    const top = pallocHighWater(); // blocks a moved entry gets lie above it, or behind the walk
    // One bit per 16 bytes of arena (the smallest block): set for each block holding an entry.
    const bitBytes = ((top - base) >> 7) + 1;
    const live = heap.alloc(bitBytes);
    memory.fill(live, 0, bitBytes);
    const t = this.table();
    const end = t + 4 + (<usize>load<u32>(t) << 2);
    for (let s = t + 4; s < end; s += 4) {
      const e = <usize>load<u32>(s);
      if (e <= TOMBSTONE) continue;
      const bit = (e - BLOCK_HEADER - base) >> 4;
      store<u8>(live + (bit >> 3), <u32>load<u8>(live + (bit >> 3)) | (<u32>1 << <u32>(bit & 7)));
    }
    for (let block = base; block < top; block += <usize>1 << load<u32>(block)) {
      const bit = (block - base) >> 4;
      if ((<u32>load<u8>(live + (bit >> 3)) & (<u32>1 << <u32>(bit & 7))) == 0) continue;
      this.reshapeEntry(block + BLOCK_HEADER, oldExtra, newExtra, template);
    }
    heap.free(live);
    store<u32>(this.ptr + M_EXTRA, extra); // commit: the map is read with the new layout from here
  }

  private reshapeEntry(e: usize, oldExtra: usize, newExtra: usize, template: usize): void {
    const kv = <usize>load<u32>(e + 4) + <usize>load<u32>(e + 8);
    const room = pallocCapacity(e);
    const wide = newExtra > oldExtra ? newExtra : oldExtra;
    let to = e;
    if (ENTRY_HEADER + newExtra + kv > room) {
      to = palloc(ENTRY_HEADER + newExtra + kv); // only when growing: shrinking always fits
      memory.copy(to, e, ENTRY_HEADER + oldExtra);
    }
    const src = e + ENTRY_HEADER + oldExtra;
    const dst = to + ENTRY_HEADER + newExtra;
    // Whole words when the block's slack holds the rounding (kv's 64-byte blocks always do).
    if (to == e && ENTRY_HEADER + wide + ((kv + 7) & ~<usize>7) <= room) moveWords(dst, src, kv);
    else memory.copy(dst, src, kv);
    if (newExtra > oldExtra) {
      const added = newExtra - oldExtra;
      if (template == 0) memory.fill(to + ENTRY_HEADER + oldExtra, 0, added);
      else if ((added & 7) == 0) moveWords(to + ENTRY_HEADER + oldExtra, template, added);
      else memory.copy(to + ENTRY_HEADER + oldExtra, template, added);
    }
    if (to == e) return;
    store<u32>(this.slotOf(e), <u32>to); // the key is unchanged, so its probe path finds e's slot
    pfree(e);
  }

  /** The slot that holds entry `e` (which must be in the map). */
  private slotOf(e: usize): usize {
    const t = this.table();
    const mask = load<u32>(t) - 1;
    let i = load<u32>(e) & mask;
    while (<usize>load<u32>(t + 4 + (<usize>i << 2)) != e) i = (i + 1) & mask;
    return t + 4 + (<usize>i << 2);
  }

  /** Frees the map and every entry (used after a migration has copied them elsewhere). */
  destroy(): void {
    for (let i = this.nextIndex(0); i >= 0; i = this.nextIndex(i + 1)) pfree(this.entryAt(i));
    pfree(this.table());
    pfree(this.ptr);
  }

  // Entry accessors.
  extraPtr(e: usize): usize { return e + ENTRY_HEADER; }
  keyPtr(e: usize): usize { return e + ENTRY_HEADER + extraOf(this.ptr); }
  keyLen(e: usize): usize { return <usize>load<u32>(e + 4); }
  valuePtr(e: usize): usize { return pmapValuePtr(this.ptr, e); }
  valueLen(e: usize): usize { return pmapValueLen(e); }

  // @ts-ignore: decorator
  @inline private table(): usize { return tableOf(this.ptr); }
}
