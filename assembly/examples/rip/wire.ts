// RIPv2 wire format (RFC 2453 section 4): a 4-byte header and up to 25 route entries of 20 bytes.
// Every multi-byte field is big-endian; addresses are handled as host-order u32 values.

export const RIP_PORT: u32 = 520;
export const RIP_GROUP = "224.0.0.9";
export const CMD_REQUEST: u8 = 1;
export const CMD_RESPONSE: u8 = 2;
export const RIP_VERSION: u8 = 2;
export const AFI_INET: u16 = 2;
export const AFI_AUTH: u16 = 0xffff;
export const INFINITY: u32 = 16;
export const HEADER_BYTES: usize = 4;
export const ENTRY_BYTES: usize = 20;
export const MAX_ENTRIES: usize = 25;

// @ts-ignore: decorator
@inline export function be32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }
// @ts-ignore: decorator
@inline export function be16(p: usize): u16 { return bswap<u16>(load<u16>(p)); }
// @ts-ignore: decorator
@inline export function putBe32(p: usize, v: u32): void { store<u32>(p, bswap<u32>(v)); }
// @ts-ignore: decorator
@inline export function putBe16(p: usize, v: u16): void { store<u16>(p, bswap<u16>(v)); }

export function maskOf(len: u32): u32 { return len == 0 ? 0 : <u32>(0xffffffff << (32 - len)); }

/** Prefix length of a contiguous mask, or -1 when the mask has holes. */
export function maskLen(mask: u32): i32 {
  const len = <i32>popcnt<u32>(mask);
  return maskOf(<u32>len) == mask ? len : -1;
}

export function ipString(a: u32): string {
  return (a >>> 24).toString() + "." + ((a >>> 16) & 255).toString() + "." + ((a >>> 8) & 255).toString() + "." + (a & 255).toString();
}

/** Parses "a.b.c.d"; returns -1 (as i64) when it is not an address. */
export function parseIp(s: string): i64 {
  let value: u32 = 0;
  let part: u32 = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 46) {
      if (digits == 0 || dots == 3) return -1;
      value = (value << 8) | part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + <u32>(c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (digits == 0 || dots != 3) return -1;
  return <i64>((value << 8) | part);
}

/** A parsed "a.b.c.d/len" (or a bare address as /32). */
export class Prefix {
  constructor(public addr: u32, public len: u32) {}

  static parse(s: string): Prefix | null {
    const slash = s.indexOf("/");
    const ip = parseIp(slash < 0 ? s : s.substring(0, slash));
    if (ip < 0) return null;
    let len: u32 = 32;
    if (slash >= 0) {
      const l = I32.parseInt(s.substring(slash + 1));
      if (isNaN(<f64>l) || l < 0 || l > 32) return null;
      len = <u32>l;
    }
    return new Prefix(<u32>ip & maskOf(len), len);
  }

  /** True when `addr/len` lies inside this prefix. */
  covers(addr: u32, len: u32): bool { return len >= this.len && (addr & maskOf(this.len)) == this.addr; }

  toString(): string { return ipString(this.addr) + "/" + this.len.toString(); }
}

/** Route entries in an authenticated datagram: one slot goes to the authentication entry, one to the trailer. */
export const MAX_AUTH_ENTRIES: usize = MAX_ENTRIES - 2;

/**
 * Builds one RIPv2 datagram at a time into a transient buffer. An authenticated one leaves the
 * first entry for the authentication entry and room after the routes for the trailer (auth.ts).
 */
export class PacketWriter {
  readonly buf: usize = heap.alloc(HEADER_BYTES + (MAX_ENTRIES + 1) * ENTRY_BYTES);
  count: usize = 0;
  first: usize = HEADER_BYTES;
  max: usize = MAX_ENTRIES;

  begin(command: u8, authenticated: bool = false): void {
    store<u8>(this.buf, command);
    store<u8>(this.buf + 1, RIP_VERSION);
    store<u16>(this.buf + 2, 0);
    this.count = 0;
    this.first = HEADER_BYTES + (authenticated ? ENTRY_BYTES : 0);
    this.max = authenticated ? MAX_AUTH_ENTRIES : MAX_ENTRIES;
  }

  get full(): bool { return this.count == this.max; }
  /** Header, authentication entry (if any) and route entries: the trailer goes here. */
  get length(): usize { return this.first + this.count * ENTRY_BYTES; }

  add(afi: u16, tag: u16, addr: u32, len: u32, nextHop: u32, metric: u32): void {
    const e = this.buf + this.first + this.count * ENTRY_BYTES;
    putBe16(e, afi);
    putBe16(e + 2, tag);
    putBe32(e + 4, addr);
    putBe32(e + 8, maskOf(len));
    putBe32(e + 12, nextHop);
    putBe32(e + 16, metric);
    this.count++;
  }
}
