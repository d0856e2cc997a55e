/**
 * Byte-level edits of a Wasm binary that binaryen's module API cannot make: turning active data
 * segments into passive ones and removing the start function (the first half of the activation
 * rewrite, host/modules/activation.ts). binaryen can read data segments but not change one from
 * active to passive in place, and it has no way to unset a start function.
 */
import { InstrumentationError } from './dirty-pages.js';

const SECTION_START = 8;
const SECTION_DATA = 11;
const SECTION_DATA_COUNT = 12;
const SECTION_CUSTOM = 0;
const OP_I32_CONST = 0x41;
const OP_END = 0x0b;

/**
 * Gaps of at most this many bytes between two consecutive active segments are filled with zeros
 * and the two become one passive segment: AssemblyScript lays its static data out as dozens of
 * small segments separated by alignment padding, and one `memory.init` per segment would cost
 * the activation more than one copy of the whole run. The gap lies between two segments of the
 * module's own static data (both at or above memoryBase, modules/check.ts), so the zeros land
 * in the module's transient region only.
 */
const MERGE_GAP = 64;

/** Where one passive segment of the rewritten module must be copied on activation. */
export interface SegmentCopy {
  /** Index of the (now passive) segment in the rewritten module's data section. */
  readonly index: number;
  readonly offset: number;
  readonly length: number;
}

export interface PassiveLayout {
  readonly bytes: Uint8Array;
  /** The copies activation must make, in the order instantiation would have made them. */
  readonly copies: readonly SegmentCopy[];
  /** The function index of the start function that was removed, or null when there was none. */
  readonly start: number | null;
}

interface Segment {
  /** The offset of an active segment; null for one that was passive already. */
  offset: number | null;
  data: Uint8Array;
}

/** A cursor over the bytes, reading LEB128 the way the binary format encodes it. */
class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public at: number,
  ) {}
  byte(): number {
    if (this.at >= this.bytes.length) throw new InstrumentationError('activation rewrite: unexpected end of the module');
    return this.bytes[this.at++]!;
  }
  u32(): number {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      if (shift > 28) throw new InstrumentationError('activation rewrite: malformed LEB128');
    }
  }
  i32(): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.byte();
      result |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80 && shift < 35);
    if (shift < 32 && b & 0x40) result |= -1 << shift;
    return result;
  }
  take(n: number): Uint8Array {
    if (this.at + n > this.bytes.length) throw new InstrumentationError('activation rewrite: a section runs past the end of the module');
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
}

function u32Bytes(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, content: Uint8Array | number[]): Uint8Array {
  const body = content instanceof Uint8Array ? content : Uint8Array.from(content);
  const head = [id, ...u32Bytes(body.length)];
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

function readSegments(content: Uint8Array): Segment[] {
  const r = new Reader(content, 0);
  const segments: Segment[] = [];
  for (let i = 0, n = r.u32(); i < n; i++) {
    const flags = r.u32();
    let offset: number | null = null;
    if (flags === 0 || flags === 2) {
      if (flags === 2 && r.u32() !== 0) throw new InstrumentationError(`data segment ${i}: targets a memory other than the first`);
      if (r.byte() !== OP_I32_CONST) throw new InstrumentationError(`data segment ${i}: its offset is not an i32.const`);
      offset = r.i32() >>> 0;
      if (r.byte() !== OP_END) throw new InstrumentationError(`data segment ${i}: its offset is not a single i32.const`);
    } else if (flags !== 1) {
      throw new InstrumentationError(`data segment ${i}: unknown segment kind ${flags}`);
    }
    segments.push({ offset, data: r.take(r.u32()) });
  }
  return segments;
}

/** Runs of consecutive active segments joined (see MERGE_GAP); a module with passive segments of its own keeps its indices. */
function merge(segments: Segment[]): Segment[] {
  if (segments.some((s) => s.offset === null)) return segments;
  const out: Segment[] = [];
  for (const s of segments) {
    const last = out.at(-1);
    const end = last ? last.offset! + last.data.length : 0;
    if (last && s.offset! >= end && s.offset! - end <= MERGE_GAP) {
      const joined = new Uint8Array(s.offset! + s.data.length - last.offset!);
      joined.set(last.data);
      joined.set(s.data, s.offset! - last.offset!);
      last.data = joined;
    } else {
      out.push({ offset: s.offset, data: s.data });
    }
  }
  return out;
}

function writeSegments(segments: Segment[]): Uint8Array {
  const parts: number[] = [...u32Bytes(segments.length)];
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (const s of segments) {
    const head = Uint8Array.from([1, ...u32Bytes(s.data.length)]); // 1: passive
    chunks.push(head, s.data);
    size += head.length + s.data.length;
  }
  const out = new Uint8Array(parts.length + size);
  out.set(parts);
  let at = parts.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Makes every active data segment passive (consecutive ones merged, MERGE_GAP) and removes the
 * start section, returning where each segment must be copied and which function was the start.
 * Custom sections stay, except a "name" section once segments were merged (its data-segment
 * names would point at the wrong indices; names only label stack traces).
 */
export function passiveLayout(bytes: Uint8Array): PassiveLayout {
  const r = new Reader(bytes, 8);
  type Part = { id: number; content: Uint8Array };
  const parts: Part[] = [];
  let start: number | null = null;
  let segments: Segment[] | null = null;
  while (r.at < bytes.length) {
    const id = r.byte();
    const content = r.take(r.u32());
    if (id === SECTION_START) start = new Reader(content, 0).u32();
    else parts.push({ id, content });
    if (id === SECTION_DATA) segments = readSegments(content);
  }
  const before = segments ?? [];
  const after = merge(before);
  const merged = after.length !== before.length;
  const out: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const part of parts) {
    if (part.id === SECTION_DATA) out.push(section(SECTION_DATA, writeSegments(after)));
    else if (part.id === SECTION_DATA_COUNT) out.push(section(SECTION_DATA_COUNT, u32Bytes(after.length)));
    else if (part.id === SECTION_CUSTOM && merged && isNameSection(part.content)) continue;
    else out.push(section(part.id, part.content));
  }
  const total = out.reduce((n, c) => n + c.length, 0);
  const rewritten = new Uint8Array(total);
  let at = 0;
  for (const c of out) {
    rewritten.set(c, at);
    at += c.length;
  }
  const copies: SegmentCopy[] = [];
  for (const [index, s] of after.entries()) {
    if (s.offset !== null) copies.push({ index, offset: s.offset, length: s.data.length });
  }
  return { bytes: rewritten, copies, start };
}

function isNameSection(content: Uint8Array): boolean {
  const r = new Reader(content, 0);
  const n = r.u32();
  return n === 4 && new TextDecoder().decode(r.take(4)) === 'name';
}
