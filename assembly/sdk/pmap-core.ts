// PMap's layout (pmap.ts describes it) and its hot operations, as functions of the map's
// address. PMap's methods call them; an application on a hot path may call them directly with
// `map.ptr`. Why numbers: AssemblyScript keeps a managed object (a PMap, or the App holding it)
// that is live across a call on its shadow stack, one store per use, and each of those stores is
// also a dirty-page check once the host instruments the module; a number stays in a local
// (docs/PERFORMANCE.md, "The kv handler's frames").
import { palloc, pfree } from "./palloc";
import { bytesEqual, copyBytes } from "./fast-bytes";

export const ENTRY_HEADER: usize = 12;
export const M_COUNT: usize = 0;
export const M_USED: usize = 4;
export const M_TABLE: usize = 8;
export const M_EXTRA: usize = 12;
export const EMPTY: u32 = 0;
export const TOMBSTONE: u32 = 1;

export function newTable(capacity: u32): usize {
  const t = palloc(4 + (<usize>capacity << 2));
  store<u32>(t, capacity);
  memory.fill(t + 4, 0, <usize>capacity << 2);
  return t;
}

// @ts-ignore: decorator
@inline export function tableOf(m: usize): usize { return <usize>load<u32>(m + M_TABLE); }
// @ts-ignore: decorator
@inline export function extraOf(m: usize): usize { return <usize>load<u32>(m + M_EXTRA); }

/** The slot holding the key's entry in map `m`, or 0 when absent. */
export function findSlotIn(m: usize, kptr: usize, klen: usize, h: u32): usize {
  const t = tableOf(m);
  const extra = extraOf(m);
  const mask = load<u32>(t) - 1;
  let i = h & mask;
  while (true) {
    const slot = t + 4 + (<usize>i << 2);
    const e = <usize>load<u32>(slot);
    if (e == EMPTY) return 0;
    if (e != TOMBSTONE && load<u32>(e) == h && <usize>load<u32>(e + 4) == klen &&
        bytesEqual(e + ENTRY_HEADER + extra, kptr, klen)) return slot;
    i = (i + 1) & mask;
  }
  return 0;
}

/** The entry for a key of map `m` whose hash (hashBytes) is `h`, or 0: PMap.findHashed. */
export function pmapFind(m: usize, kptr: usize, klen: usize, h: u32): usize {
  const slot = findSlotIn(m, kptr, klen, h);
  return slot == 0 ? 0 : <usize>load<u32>(slot);
}

/** Where entry `e` of map `m` keeps its value: PMap.valuePtr. */
// @ts-ignore: decorator
@inline export function pmapValuePtr(m: usize, e: usize): usize { return e + ENTRY_HEADER + extraOf(m) + <usize>load<u32>(e + 4); }
/** The length of entry `e`'s value: PMap.valueLen. */
// @ts-ignore: decorator
@inline export function pmapValueLen(e: usize): usize { return <usize>load<u32>(e + 8); }

/** The first empty or tombstone slot on the probe path of hash `h` in map `m`. */
export function freeSlotIn(m: usize, h: u32): usize {
  const t = tableOf(m);
  const mask = load<u32>(t) - 1;
  let i = h & mask;
  while (load<u32>(t + 4 + (<usize>i << 2)) > TOMBSTONE) i = (i + 1) & mask;
  return t + 4 + (<usize>i << 2);
}

/** Inserts or replaces in map `m`, with the key's hash `h` (hashBytes): PMap.setHashed. */
export function pmapSet(m: usize, kptr: usize, klen: usize, h: u32, vptr: usize, vlen: usize): usize {
  const extra = extraOf(m);
  const e = palloc(ENTRY_HEADER + extra + klen + vlen);
  store<u32>(e, h);
  store<u32>(e + 4, <u32>klen);
  store<u32>(e + 8, <u32>vlen);
  copyBytes(e + ENTRY_HEADER + extra, kptr, klen);
  copyBytes(e + ENTRY_HEADER + extra + klen, vptr, vlen);
  const slot = findSlotIn(m, kptr, klen, h);
  if (slot != 0) {
    const old = <usize>load<u32>(slot);
    // Guarded: V8 runs memory.copy as a call out of the Wasm code, even for 0 bytes (no extra, e.g. kv 1.0.0).
    if (extra > 0) memory.copy(e + ENTRY_HEADER, old + ENTRY_HEADER, extra);
    store<u32>(slot, <u32>e); // commit: replace
    pfree(old);
    return e;
  }
  if (extra > 0) memory.fill(e + ENTRY_HEADER, 0, extra);
  // Grow before inserting, so the insert itself is the last store.
  const cap = load<u32>(tableOf(m));
  const count = load<u32>(m + M_COUNT);
  if (load<u32>(m + M_USED) + 1 > (cap >> 1) + (cap >> 2)) rehashIn(m, count + 1);
  const free = freeSlotIn(m, h);
  if (load<u32>(free) == EMPTY) store<u32>(m + M_USED, load<u32>(m + M_USED) + 1);
  store<u32>(free, <u32>e); // commit: insert
  store<u32>(m + M_COUNT, count + 1);
  return e;
}

/** Builds a new table of map `m` sized for `live` entries from the old one (read only), then publishes it. */
export function rehashIn(m: usize, live: u32): void {
  let cap: u32 = 16;
  while (live * 2 > cap) cap <<= 1;
  const old = tableOf(m);
  const oldCap = load<u32>(old);
  const t = newTable(cap);
  const mask = cap - 1;
  for (let j: u32 = 0; j < oldCap; j++) {
    const e = load<u32>(old + 4 + (<usize>j << 2));
    if (e <= TOMBSTONE) continue;
    let i = load<u32>(<usize>e) & mask;
    while (load<u32>(t + 4 + (<usize>i << 2)) != EMPTY) i = (i + 1) & mask;
    store<u32>(t + 4 + (<usize>i << 2), e);
  }
  store<u32>(m + M_TABLE, <u32>t); // commit: publish the new table
  store<u32>(m + M_USED, load<u32>(m + M_COUNT));
  pfree(old);
}
