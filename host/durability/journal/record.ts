/**
 * The journal's record format: how one event (and what it observed) is laid out in bytes, and
 * read back. Little-endian throughout; docs/DURABILITY.md draws the same layout.
 *
 *   0  u32 length        the whole record, header included
 *   4  u32 crc32         zlib's CRC-32 of bytes [8, length)
 *   8  u32 seq (low)     12 u32 seq (high): 1, 2, 3, ... with no gap, across segments
 *  16  f64 wall ms       Date.now() when the record was appended
 *  24  f64 monotonic ms  the component's monotonic clock then (continued across restarts)
 *  32  u8  kind          RecordKind
 *  33  u8  n, n bytes    the component's name
 *      ...               the kind's body (see encodeBody), then u32 + the tape (what it observed)
 */
import type { ByteSink } from './byte-sink.js';
import { crc32Range } from './crc.js';

export const HEADER_BYTES = 33;
/** A record longer than this is damage, not data (the largest is a 64 KiB message plus its tape). */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

export enum RecordKind {
  message = 1,
  timer = 2,
  signal = 3,
  upgrade = 4,
  /** A timer expired (its table changed: a one-shot went, a repeat moved on); no module call. */
  tick = 5,
  /** The component's configuration at a start, when it differs from the last one journaled. */
  config = 6,
}

export type RecordBody =
  | { kind: RecordKind.message; channel: number; iface: number; peer: string; payload: Buffer; repliable: boolean }
  | { kind: RecordKind.timer; id: number }
  | { kind: RecordKind.tick; id: number }
  | { kind: RecordKind.signal; signo: number; name: string }
  | { kind: RecordKind.upgrade; reason: 'upgrade' | 'rollback'; module: string; version: string; sha256: string }
  | { kind: RecordKind.config; json: string };

export interface JournalRecord {
  seq: number;
  wallMs: number;
  monoMs: number;
  component: string;
  body: RecordBody;
  tape: Buffer;
}

/**
 * Appends one whole record to `sink` with sequence number `seq` (default: `r.seq`); returns its
 * length in bytes. The writer passes `seq` apart so that it need not copy the record to add it.
 */
export function encodeRecord(sink: ByteSink, r: Omit<JournalRecord, 'seq'> & { seq?: number }, seq = r.seq ?? 0): number {
  const start = sink.reserve(8); // length and CRC, patched below
  sink.u32(seq % 2 ** 32);
  sink.u32(Math.floor(seq / 2 ** 32));
  sink.f64(r.wallMs);
  sink.f64(r.monoMs);
  sink.u8(r.body.kind);
  sink.name(r.component);
  encodeBody(sink, r.body);
  sink.u32(r.tape.byteLength);
  sink.bytes(r.tape);
  const end = sink.length;
  sink.setU32(start, end - start);
  sink.setU32(start + 4, sink.crcOf(start + 8, end));
  return end - start;
}

function encodeBody(sink: ByteSink, body: RecordBody): void {
  switch (body.kind) {
    case RecordKind.message:
      sink.u32(body.channel);
      sink.i32(body.iface);
      sink.text16(body.peer);
      sink.u32(body.payload.byteLength);
      sink.bytes(body.payload);
      sink.u8(body.repliable ? 1 : 0);
      return;
    case RecordKind.timer:
    case RecordKind.tick:
      sink.u32(body.id);
      return;
    case RecordKind.signal:
      sink.u32(body.signo);
      sink.shortText(body.name);
      return;
    case RecordKind.upgrade:
      sink.u8(body.reason === 'rollback' ? 1 : 0);
      sink.shortText(body.module);
      sink.shortText(body.version);
      sink.bytes(Buffer.from(body.sha256, 'hex'));
      return;
    case RecordKind.config: {
      const b = Buffer.from(body.json, 'utf8');
      sink.u32(b.byteLength);
      sink.bytes(b);
      return;
    }
  }
}

/** Why bytes are not a record: `torn` when they could be a record cut short by a crash. */
export type DecodeResult = { ok: true; record: JournalRecord; length: number } | { ok: false; torn: boolean; reason: string };

/** Decodes the record at `offset` of `data`. Never throws on bad bytes: it says what is wrong. */
export function decodeRecord(data: Buffer, offset: number): DecodeResult {
  const left = data.length - offset;
  if (left < 8) return { ok: false, torn: true, reason: `${left} bytes left, less than a record header` };
  const length = data.readUInt32LE(offset);
  if (length < HEADER_BYTES + 4 || length > MAX_RECORD_BYTES)
    return { ok: false, torn: false, reason: `impossible record length ${length}` };
  if (length > left) return { ok: false, torn: true, reason: `record of ${length} bytes, only ${left} left in the file` };
  const crc = data.readUInt32LE(offset + 4);
  const actual = crc32Range(data, offset + 8, offset + length);
  if (crc !== actual) return { ok: false, torn: false, reason: `CRC mismatch (stored ${hex(crc)}, computed ${hex(actual)})` };
  try {
    return { ok: true, record: parse(data, offset, offset + length), length };
  } catch (e) {
    return { ok: false, torn: false, reason: `unreadable record: ${(e as Error).message}` };
  }
}

/**
 * Reads a record's fields in order. A class rather than closures in parse(): recovery parses
 * every record of the journal, and a closure per field reader per record was most of its cost.
 */
class Cursor {
  at: number;
  constructor(
    readonly b: Buffer,
    at: number,
  ) {
    this.at = at;
  }
  u8(): number {
    return this.b[this.at++]!;
  }
  u16(): number {
    const v = this.b.readUInt16LE(this.at);
    this.at += 2;
    return v;
  }
  u32(): number {
    const v = this.b.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  i32(): number {
    const v = this.b.readInt32LE(this.at);
    this.at += 4;
    return v;
  }
  text(n: number): string {
    const s = this.b.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }
  /** A view, not a copy: records read at start live only until they are replayed. */
  view(n: number): Buffer {
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
}

/** The record in `b[start, end)` (its length and CRC already checked). */
function parse(b: Buffer, start: number, end: number): JournalRecord {
  const seq = b.readUInt32LE(start + 8) + b.readUInt32LE(start + 12) * 2 ** 32;
  const wallMs = b.readDoubleLE(start + 16);
  const monoMs = b.readDoubleLE(start + 24);
  const kind = b[start + 32] as RecordKind;
  const c = new Cursor(b, start + HEADER_BYTES);
  const component = c.text(c.u8());
  let body: RecordBody;
  switch (kind) {
    case RecordKind.message: {
      const channel = c.u32();
      const iface = c.i32();
      const peer = c.text(c.u16());
      const payload = c.view(c.u32());
      body = { kind, channel, iface, peer, payload, repliable: c.u8() === 1 };
      break;
    }
    case RecordKind.timer:
    case RecordKind.tick:
      body = { kind, id: c.u32() };
      break;
    case RecordKind.signal: {
      const signo = c.u32();
      body = { kind, signo, name: c.text(c.u8()) };
      break;
    }
    case RecordKind.upgrade: {
      const reason = c.u8() === 1 ? 'rollback' : 'upgrade';
      const module = c.text(c.u8());
      const version = c.text(c.u8());
      const sha256 = b.toString('hex', c.at, c.at + 32);
      c.at += 32;
      body = { kind, reason, module, version, sha256 };
      break;
    }
    case RecordKind.config:
      body = { kind, json: c.text(c.u32()) };
      break;
    default:
      throw new Error(`unknown record kind ${kind}`);
  }
  const tapeLen = c.u32();
  if (c.at + tapeLen !== end) throw new Error(`record length ${end - start} does not match its fields (${c.at + tapeLen - start})`);
  return { seq, wallMs, monoMs, component, body, tape: c.view(tapeLen) };
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
