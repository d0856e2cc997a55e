// The routing table: a PMap in persistent memory, keyed by (prefix, length), so it outlives
// every module version. A route record is a fixed-size value:
//
//   layout 1 (0.0.1, 0.0.2), 48 bytes        layout 2 (0.0.3), 64 bytes = layout 1 +
//     0 nextHop   u32 (0: connected)           48 learnedAt f64  wall-clock ms when first learned
//     4 metric    u32 (16 = unreachable)       56 changes   u32  metric/next-hop changes since
//     8 tag       u32 (route tag)              60 reserved  u32
//    12 iface     u32 (interface index)
//    16 from      u32 (router that sent it)
//    20 flags     u32 (R_CONNECTED, R_CHANGED)
//    24 timeoutAt f64 (monotonic ms; 0 = never)
//    32 gcAt      f64 (monotonic ms; 0 = not being deleted)
//    40 reserved  u64
//
// Commit order (docs/ABI.md): a change to several fields builds a whole new record and
// publishes it with PMap.set (one store); refreshing the timeout is a single f64 store in place.
import { PMap } from "../../sdk/pmap";
import { palloc } from "../../sdk/palloc";

export const R_NEXT_HOP: usize = 0;
export const R_METRIC: usize = 4;
export const R_TAG: usize = 8;
export const R_IFACE: usize = 12;
export const R_FROM: usize = 16;
export const R_FLAGS: usize = 20;
export const R_TIMEOUT_AT: usize = 24;
export const R_GC_AT: usize = 32;
export const R_LEARNED_AT: usize = 48;
export const R_CHANGES: usize = 56;

export const F_CONNECTED: u32 = 1;
export const F_CHANGED: u32 = 2;

export function recordBytes(layout: u32): usize { return layout >= 2 ? 64 : 48; }

// The persistent root record of the router (its offset is the header's root pointer).
const ROOT_MAGIC: u32 = 0x31504952; // "RIP1"
const ROOT_ROUTES: usize = 4;
const ROOT_PACKETS_IN: usize = 8;
const ROOT_BAD_PACKETS: usize = 12;
const ROOT_BAD_ROUTES: usize = 16;
const ROOT_UPDATES_SENT: usize = 20;
const ROOT_TRIGGERED_SENT: usize = 24;
const ROOT_FILTERED: usize = 28;
// Added after the first release: a root that an earlier build created has these bytes too (its
// palloc block is 64 bytes) and they are zero there (a fresh arena), so no layout change.
const ROOT_AUTH_FAILURES: usize = 32;
// Added later still, the same way: the sequence-number map (0 until the first authenticated
// datagram is accepted) and the datagrams dropped for a sequence number that went down.
const ROOT_SEQUENCES: usize = 36;
const ROOT_SEQ_DROPS: usize = 40;
const ROOT_BYTES: usize = 48;

/** Scratch for building a record before it is published (transient). */
const SCRATCH = memory.data(64);
const KEY = memory.data(8);

export class RouterState {
  constructor(public readonly ptr: usize) {}

  static create(): RouterState {
    const p = palloc(ROOT_BYTES);
    memory.fill(p, 0, ROOT_BYTES);
    store<u32>(p + ROOT_ROUTES, <u32>PMap.create(64).ptr);
    store<u32>(p, ROOT_MAGIC);
    return new RouterState(p);
  }

  get valid(): bool { return this.ptr != 0 && load<u32>(this.ptr) == ROOT_MAGIC; }
  get routes(): PMap { return new PMap(<usize>load<u32>(this.ptr + ROOT_ROUTES)); }

  /** The authentication sequence numbers (sequence.ts), created on first use and published with one store. */
  get sequences(): PMap {
    let m = <usize>load<u32>(this.ptr + ROOT_SEQUENCES);
    if (m == 0) {
      m = PMap.create(16).ptr;
      store<u32>(this.ptr + ROOT_SEQUENCES, <u32>m);
    }
    return new PMap(m);
  }

  /** The sequence numbers if any were ever recorded, else null (`show` creates nothing). */
  get sequencesIfAny(): PMap | null {
    const m = <usize>load<u32>(this.ptr + ROOT_SEQUENCES);
    return m == 0 ? null : new PMap(m);
  }

  count(field: usize): u32 { return load<u32>(this.ptr + field); }
  bump(field: usize): void { store<u32>(this.ptr + field, load<u32>(this.ptr + field) + 1); }
}
export { ROOT_PACKETS_IN, ROOT_BAD_PACKETS, ROOT_BAD_ROUTES, ROOT_UPDATES_SENT, ROOT_TRIGGERED_SENT, ROOT_FILTERED, ROOT_AUTH_FAILURES, ROOT_SEQ_DROPS };

/** A view of the table for one record layout. Entry handles are PMap entries (persistent offsets). */
export class RouteTable {
  constructor(public readonly map: PMap, public readonly layout: u32) {}

  static key(addr: u32, len: u32): usize {
    store<u32>(KEY, addr);
    store<u32>(KEY + 4, len);
    return KEY;
  }

  find(addr: u32, len: u32): usize { return this.map.find(RouteTable.key(addr, len), 8); }

  // Entry accessors.
  addr(e: usize): u32 { return load<u32>(this.map.keyPtr(e)); }
  len(e: usize): u32 { return load<u32>(this.map.keyPtr(e) + 4); }
  rec(e: usize): usize { return this.map.valuePtr(e); }
  nextHop(e: usize): u32 { return load<u32>(this.rec(e) + R_NEXT_HOP); }
  metric(e: usize): u32 { return load<u32>(this.rec(e) + R_METRIC); }
  tag(e: usize): u32 { return load<u32>(this.rec(e) + R_TAG); }
  iface(e: usize): u32 { return load<u32>(this.rec(e) + R_IFACE); }
  from(e: usize): u32 { return load<u32>(this.rec(e) + R_FROM); }
  flags(e: usize): u32 { return load<u32>(this.rec(e) + R_FLAGS); }
  timeoutAt(e: usize): f64 { return load<f64>(this.rec(e) + R_TIMEOUT_AT); }
  gcAt(e: usize): f64 { return load<f64>(this.rec(e) + R_GC_AT); }
  connected(e: usize): bool { return (this.flags(e) & F_CONNECTED) != 0; }
  changed(e: usize): bool { return (this.flags(e) & F_CHANGED) != 0; }

  /** Single-store updates that need no new record. */
  refresh(e: usize, timeoutAt: f64): void { store<f64>(this.rec(e) + R_TIMEOUT_AT, timeoutAt); }
  clearChanged(e: usize): void { store<u32>(this.rec(e) + R_FLAGS, this.flags(e) & ~F_CHANGED); }

  /**
   * Publishes a route record (insert or replace) in one commit. `learnedAt` is only kept by
   * layout 2: a replaced route keeps its original time, a new one gets `now`.
   */
  put(addr: u32, len: u32, nextHop: u32, metric: u32, tag: u32, iface: u32, from: u32, flags: u32,
      timeoutAt: f64, gcAt: f64, wallNow: f64): void {
    const size = recordBytes(this.layout);
    memory.fill(SCRATCH, 0, 64);
    store<u32>(SCRATCH + R_NEXT_HOP, nextHop);
    store<u32>(SCRATCH + R_METRIC, metric);
    store<u32>(SCRATCH + R_TAG, tag);
    store<u32>(SCRATCH + R_IFACE, iface);
    store<u32>(SCRATCH + R_FROM, from);
    store<u32>(SCRATCH + R_FLAGS, flags);
    store<f64>(SCRATCH + R_TIMEOUT_AT, timeoutAt);
    store<f64>(SCRATCH + R_GC_AT, gcAt);
    if (this.layout >= 2) {
      const old = this.find(addr, len);
      if (old != 0 && this.map.valueLen(old) >= 64) {
        const o = this.rec(old);
        store<f64>(SCRATCH + R_LEARNED_AT, load<f64>(o + R_LEARNED_AT));
        const moved = load<u32>(o + R_METRIC) != metric || load<u32>(o + R_NEXT_HOP) != nextHop;
        store<u32>(SCRATCH + R_CHANGES, load<u32>(o + R_CHANGES) + (moved ? 1 : 0));
      } else {
        store<f64>(SCRATCH + R_LEARNED_AT, wallNow);
      }
    }
    this.map.set(RouteTable.key(addr, len), 8, SCRATCH, size);
  }

  remove(addr: u32, len: u32): void { this.map.delete(RouteTable.key(addr, len), 8); }

  // Layout 2 only.
  learnedAt(e: usize): f64 { return this.map.valueLen(e) >= 64 ? load<f64>(this.rec(e) + R_LEARNED_AT) : 0; }
  changes(e: usize): u32 { return this.map.valueLen(e) >= 64 ? load<u32>(this.rec(e) + R_CHANGES) : 0; }

  /**
   * Rewrites every record to `toLayout` (up: learnedAt = now, changes = 0; down: the extra fields
   * are dropped). Replacing an existing key never rehashes, so iterating while rewriting is safe;
   * each record is published by one store, and a trap halfway is undone by the swap's snapshot.
   */
  convert(toLayout: u32, wallNow: f64): void {
    const map = this.map;
    const size = recordBytes(toLayout);
    for (let i = map.nextIndex(0); i >= 0; i = map.nextIndex(i + 1)) {
      const e = map.entryAt(i);
      memory.fill(SCRATCH, 0, 64);
      const have = map.valueLen(e);
      memory.copy(SCRATCH, map.valuePtr(e), have < size ? have : size);
      if (toLayout >= 2 && have < 64) store<f64>(SCRATCH + R_LEARNED_AT, wallNow);
      memory.copy(KEY, map.keyPtr(e), 8);
      map.set(KEY, 8, SCRATCH, size);
    }
  }
}
