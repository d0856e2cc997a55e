// Authentication sequence numbers (RFC 2082 §3.2.2): the last number accepted from each
// neighbour with each key id, kept in persistent memory so a swap or a crash recovery does not
// reopen the replay window. A datagram whose number is lower is dropped (docs/RIP.md,
// "Decisions": equal numbers, wrap-around and neighbours that restart).
//
//   key (8 bytes): neighbour address u32 | key id u32
//   value (16 bytes): last sequence number u32 | reserved u32 | last heard f64 (monotonic ms)
//
// A new neighbour is one PMap.set; after that the number and the time are single stores in place.
import { PMap } from "../../sdk/pmap";

const V_SEQ: usize = 0;
const V_HEARD: usize = 8;
const VALUE_BYTES: usize = 16;
const HALF: u32 = 0x80000000;

const KEY = memory.data(8);
const VALUE = memory.data(16);

/** `a` comes before `b` in serial-number arithmetic over 32 bits (RFC 1982): a wrapped counter is still "later". */
export function serialBefore(a: u32, b: u32): bool {
  const d = b - a;
  return d != 0 && d < HALF;
}

export class SequenceNumbers {
  constructor(public readonly map: PMap) {}

  /** Why accept() refused, for the log: the number accepted last. */
  last: u32 = 0;

  /**
   * True when `seq` from (source, keyId) may be accepted, and then records it. Not lower than the
   * last accepted (equal is fine: a sender that uses seconds sends several datagrams with one
   * number); a neighbour silent for `forgetMs` (its routes have timed out) is heard as new, so a
   * router that restarted with a lower counter is accepted again after the timeout.
   */
  accept(source: u32, keyId: u32, seq: u32, now: f64, forgetMs: f64): bool {
    store<u32>(KEY, source);
    store<u32>(KEY + 4, keyId);
    const e = this.map.find(KEY, 8);
    if (e == 0) {
      store<u32>(VALUE + V_SEQ, seq);
      store<u32>(VALUE + 4, 0);
      store<f64>(VALUE + V_HEARD, now);
      this.map.set(KEY, 8, VALUE, VALUE_BYTES);
      return true;
    }
    const v = this.map.valuePtr(e);
    this.last = load<u32>(v + V_SEQ);
    const silent = now - load<f64>(v + V_HEARD) > forgetMs;
    if (!silent && serialBefore(seq, this.last)) return false;
    store<u32>(v + V_SEQ, seq);
    store<f64>(v + V_HEARD, now);
    return true;
  }

  // Entry accessors, for `show`.
  source(e: usize): u32 { return load<u32>(this.map.keyPtr(e)); }
  keyId(e: usize): u32 { return load<u32>(this.map.keyPtr(e) + 4); }
  seq(e: usize): u32 { return load<u32>(this.map.valuePtr(e) + V_SEQ); }
}
