/** RIPv2 packet decoding (RFC 2453), for asserting on what daemons put on the wire. */
import { intToIp } from './addresses.js';

export interface RipEntry {
  afi: number;
  routeTag: number;
  prefix: string;
  mask: string;
  nextHop: string;
  metric: number;
}

export interface RipPacket {
  command: 'request' | 'response' | number;
  version: number;
  /** Bytes 2–3, "must be zero" in RIPv2. */
  mbz: number;
  /** Authentication entry (AFI 0xFFFF) if the first entry is one. */
  auth?: { type: number; data: Buffer };
  entries: RipEntry[];
}

export function parseRipPacket(buf: Buffer): RipPacket {
  if (buf.length < 4 || (buf.length - 4) % 20 !== 0) throw new Error(`bad RIP length ${buf.length}`);
  const cmd = buf.readUInt8(0);
  const pkt: RipPacket = {
    command: cmd === 1 ? 'request' : cmd === 2 ? 'response' : cmd,
    version: buf.readUInt8(1),
    mbz: buf.readUInt16BE(2),
    entries: [],
  };
  for (let off = 4; off < buf.length; off += 20) {
    const afi = buf.readUInt16BE(off);
    if (afi === 0xffff && off === 4) {
      pkt.auth = { type: buf.readUInt16BE(off + 2), data: buf.subarray(off + 4, off + 20) };
      continue;
    }
    const ip = (o: number): string => intToIp(buf.readUInt32BE(o));
    pkt.entries.push({
      afi,
      routeTag: buf.readUInt16BE(off + 2),
      prefix: ip(off + 4),
      mask: ip(off + 8),
      nextHop: ip(off + 12),
      metric: buf.readUInt32BE(off + 16),
    });
  }
  return pkt;
}
