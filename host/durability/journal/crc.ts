/**
 * CRC-32 (zlib's: reflected, polynomial 0xEDB88320) of a byte range, for journal records. Most
 * records are under a few hundred bytes, and for those the call into zlib costs more than the
 * CRC itself (~1 µs a call, docs/DURABILITY.md "What it costs"): a table-driven loop in
 * JavaScript takes them, eight bytes a step (slicing-by-8: eight table lookups per step instead
 * of one per byte and a dependency chain per byte), and zlib the long ones. All give one value.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';

/** Below this many bytes the JavaScript loop is faster than the call into zlib. */
const JS_CRC_MAX_BYTES = 512;

/**
 * Eight 256-entry tables, back to back: table 0 is the byte-at-a-time one, table k the CRC of a
 * byte followed by k zero bytes. Computed once, never written after.
 */
const TABLES: Readonly<Int32Array> = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++)
    for (let k = 1; k < 8; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n]! >>> 8) ^ t[t[(k - 1) * 256 + n]! & 0xff]!;
  return t;
})();

/** CRC-32 of `bytes[from, to)`, unsigned. */
export function crc32Range(bytes: Uint8Array, from: number, to: number): number {
  if (to - from > JS_CRC_MAX_BYTES) return zlibCrc32(bytes.subarray(from, to));
  const t = TABLES;
  let c = -1;
  let i = from;
  for (; i + 8 <= to; i += 8) {
    const a = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    c =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + bytes[i + 4]!]! ^
      t[512 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
  }
  for (; i < to; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
