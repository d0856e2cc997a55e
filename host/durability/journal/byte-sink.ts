/**
 * A growable byte buffer that journal records and tapes are encoded into, one after another
 * (the writer's batch, an event's tape). It is on the path of every journaled event, so its
 * writers avoid what made encoding cost several µs per record (docs/DURABILITY.md "What it
 * costs"): numbers go through a DataView instead of Buffer's checked writers, short ASCII strings
 * (peers, component names) are copied char by char instead of through a temporary Buffer, and the
 * component name's bytes are kept from one record to the next.
 */
import { copyBytes } from '../../abi/reply-arena.js';
import { crc32Range } from './crc.js';

export class ByteSink {
  #buf: Buffer;
  #view: DataView;
  #len = 0;
  /** The last name written with name(), and its UTF-8 bytes (a writer journals one component). */
  #lastName = '';
  #lastNameBytes: Buffer = Buffer.alloc(0);

  constructor(initial = 1 << 16) {
    this.#buf = Buffer.allocUnsafe(initial);
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  }
  get length(): number {
    return this.#len;
  }
  /** The bytes written so far (a view: valid until the next write or reset). */
  view(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
  reset(): void {
    this.#len = 0;
  }
  reserve(n: number): number {
    const at = this.#len;
    if (at + n > this.#buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, at + n));
      this.#buf.copy(bigger, 0, 0, at);
      this.#buf = bigger;
      this.#view = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
    }
    this.#len = at + n;
    return at;
  }
  // Each writer reserves first, then reads #buf/#view: reserve() may replace them with larger ones.
  u8(v: number): void {
    const at = this.reserve(1);
    this.#buf[at] = v;
  }
  u16(v: number): void {
    const at = this.reserve(2);
    this.#view.setUint16(at, v, true);
  }
  u32(v: number): void {
    const at = this.reserve(4);
    this.#view.setUint32(at, v >>> 0, true);
  }
  i32(v: number): void {
    const at = this.reserve(4);
    this.#view.setInt32(at, v | 0, true);
  }
  f64(v: number): void {
    const at = this.reserve(8);
    this.#view.setFloat64(at, v, true);
  }
  bytes(b: Uint8Array): void {
    const at = this.reserve(b.byteLength);
    this.#buf.set(b, at);
  }
  /**
   * The bytes another sink holds (an event's tape into the writer's batch), copied without a
   * view to `set` from, which would be an allocation per record (copyBytes: a tape is usually a
   * few dozen bytes).
   */
  bytesOf(other: ByteSink): void {
    const n = other.#len;
    const at = this.reserve(n);
    copyBytes(this.#buf, at, other.#buf, 0, n);
  }
  /** A short string: u8 length + UTF-8 (names, versions). */
  shortText(s: string): void {
    const b = Buffer.from(s, 'utf8');
    if (b.byteLength > 255) throw new Error(`journal: "${s.slice(0, 40)}…" is longer than 255 bytes`);
    this.u8(b.byteLength);
    this.bytes(b);
  }
  /** shortText() of a name that repeats record after record (the component's): its bytes are kept. */
  name(s: string): void {
    if (s !== this.#lastName) {
      const b = Buffer.from(s, 'utf8');
      if (b.byteLength > 255) throw new Error(`journal: "${s.slice(0, 40)}…" is longer than 255 bytes`);
      this.#lastName = s;
      this.#lastNameBytes = b;
    }
    this.u8(this.#lastNameBytes.byteLength);
    this.bytes(this.#lastNameBytes);
  }
  /** u16 length + UTF-8 (a peer): ASCII, the usual case, is copied without a temporary Buffer. */
  text16(s: string): void {
    const n = s.length;
    if (n <= 0xffff) {
      const at = this.reserve(2 + n);
      const buf = this.#buf;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[at + 2 + i] = c;
      }
      if (i === n) {
        this.#view.setUint16(at, n, true);
        return;
      }
      this.#len = at; // not ASCII: undo, and take the general path
    }
    const b = Buffer.from(s, 'utf8');
    if (b.byteLength > 0xffff) throw new Error(`journal: a text of ${b.byteLength} bytes is longer than 65535`);
    this.u16(b.byteLength);
    this.bytes(b);
  }
  /** Patches a u32 at `at` (a length or CRC written once the rest is known). */
  setU32(at: number, v: number): void {
    this.#view.setUint32(at, v >>> 0, true);
  }
  crcOf(from: number, to: number): number {
    return crc32Range(this.#buf, from, to);
  }
}
