/**
 * CRC-32 (zlib's: reflected, polynomial 0xEDB88320) of a byte range, for journal records. Most
 * records are under a few hundred bytes, and for those the call into zlib costs more than the
 * CRC itself (~1 µs a call, docs/DURABILITY.md "What it costs"): a table-driven loop in
 * JavaScript takes them, zlib the long ones. Both give the same value.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';

/** Below this many bytes the JavaScript loop is faster than the call into zlib. */
const JS_CRC_MAX_BYTES = 512;

/** The byte-at-a-time table; computed once, never written after. */
const TABLE: Readonly<Int32Array> = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 of `bytes[from, to)`, unsigned. */
export function crc32Range(bytes: Uint8Array, from: number, to: number): number {
  if (to - from > JS_CRC_MAX_BYTES) return zlibCrc32(bytes.subarray(from, to));
  let c = -1;
  for (let i = from; i < to; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
