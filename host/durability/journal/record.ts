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
import { ByteSink } from './byte-sink.js';
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

/** A record to write: its seq may be given apart, its tape may be the sink it was recorded into. */
export type RecordToWrite = Omit<JournalRecord, 'seq' | 'tape'> & { seq?: number; tape: Uint8Array | ByteSink };

/**
 * Appends one whole record to `sink` with sequence number `seq` (default: `r.seq`); returns its
 * length in bytes. The writer passes `seq` apart so that it need not copy the record to add it.
 */
export function encodeRecord(sink: ByteSink, r: RecordToWrite, seq = r.seq ?? 0): number {
  const start = sink.reserve(8); // length and CRC, patched below
  sink.u32(seq % 2 ** 32);
  sink.u32(Math.floor(seq / 2 ** 32));
  sink.f64(r.wallMs);
  sink.f64(r.monoMs);
  sink.u8(r.body.kind);
  sink.name(r.component);
  encodeBody(sink, r.body);
  const tape = r.tape;
  if (tape instanceof ByteSink) {
    sink.u32(tape.length);
    sink.bytesOf(tape);
  } else {
    sink.u32(tape.byteLength);
    sink.bytes(tape);
  }
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

/**
 * Decodes the record at `offset` of `data`. Never throws on bad bytes: it says what is wrong.
 * A reader decoding many records passes one `texts` to all of them (repeated names shared).
 */
export function decodeRecord(data: Buffer, offset: number, texts: RecordTexts = new RecordTexts()): DecodeResult {
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
    return { ok: true, record: parse(data, offset, offset + length, texts), length };
  } catch (e) {
    return { ok: false, torn: false, reason: `unreadable record: ${(e as Error).message}` };
  }
}

/**
 * The last text decoded at one field, reused while the bytes repeat: a journal's records all name
 * the same component and mostly the same few peers, and recovery keeps every record it read
 * until the replay, so one string per record per field was a large part of its garbage.
 */
class RepeatedText {
  #bytes = new Uint8Array(0);
  #text = '';
  get(b: Buffer, at: number, n: number): string {
    const last = this.#bytes;
    if (n === last.length) {
      let k = 0;
      while (k < n && b[at + k] === last[k]) k++;
      if (k === n) return this.#text;
    }
    this.#text = b.toString('utf8', at, at + n);
    this.#bytes = new Uint8Array(b.subarray(at, at + n)); // a copy: small, and made only when the text changes
    return this.#text;
  }
}

/** What a reader keeps between records to decode a run of them with fewer allocations. */
export class RecordTexts {
  readonly component = new RepeatedText();
  readonly peer = new RepeatedText();
}

/** The tape of a record that observed nothing: one shared empty buffer (nothing can be written to it). */
const NO_TAPE: Buffer = Buffer.alloc(0);

/**
 * A message body read back from a segment. The payload is made on each access, as a view of the
 * segment's bytes: recovery keeps every record it read until the replay, and a Buffer kept per
 * record was most of the garbage collector's work; one made when the record is replayed dies young.
 */
class StoredMessage {
  readonly kind = RecordKind.message;
  readonly channel: number;
  readonly iface: number;
  readonly peer: string;
  readonly repliable: boolean;
  readonly #b: Buffer;
  readonly #at: number;
  readonly #length: number;
  constructor(b: Buffer, at: number, length: number, channel: number, iface: number, peer: string, repliable: boolean) {
    this.#b = b;
    this.#at = at;
    this.#length = length;
    this.channel = channel;
    this.iface = iface;
    this.peer = peer;
    this.repliable = repliable;
  }
  get payload(): Buffer {
    return this.#b.subarray(this.#at, this.#at + this.#length);
  }
}

/** A record read back from a segment: the clocks and the tape are read from its bytes when asked, for the same reason. */
class StoredRecord implements JournalRecord {
  readonly seq: number;
  readonly component: string;
  readonly body: RecordBody;
  readonly #b: Buffer;
  readonly #start: number;
  readonly #tapeAt: number;
  readonly #end: number;
  constructor(b: Buffer, start: number, tapeAt: number, end: number, seq: number, component: string, body: RecordBody) {
    this.#b = b;
    this.#start = start;
    this.#tapeAt = tapeAt;
    this.#end = end;
    this.seq = seq;
    this.component = component;
    this.body = body;
  }
  get wallMs(): number {
    return this.#b.readDoubleLE(this.#start + 16);
  }
  get monoMs(): number {
    return this.#b.readDoubleLE(this.#start + 24);
  }
  get tape(): Buffer {
    return this.#tapeAt === this.#end ? NO_TAPE : this.#b.subarray(this.#tapeAt, this.#end);
  }
}

/**
 * The record in `b[start, end)` (its length and CRC already checked), fields read with one running
 * offset (no reader object per record). Payload and tape are views, not copies: the segment's bytes
 * are never written after they are read.
 */
function parse(b: Buffer, start: number, end: number, texts: RecordTexts): JournalRecord {
  const seq = b.readUInt32LE(start + 8) + b.readUInt32LE(start + 12) * 2 ** 32;
  const kind = b[start + 32] as RecordKind;
  const nameLength = b[start + HEADER_BYTES]!;
  const component = texts.component.get(b, start + HEADER_BYTES + 1, nameLength);
  let at = start + HEADER_BYTES + 1 + nameLength;
  let body: RecordBody;
  switch (kind) {
    case RecordKind.message: {
      const channel = b.readUInt32LE(at);
      const iface = b.readInt32LE(at + 4);
      const peerLength = b.readUInt16LE(at + 8);
      const peer = texts.peer.get(b, at + 10, peerLength);
      at += 10 + peerLength;
      const payloadLength = b.readUInt32LE(at);
      const payloadAt = at + 4;
      at = payloadAt + payloadLength;
      if (at >= end) throw new Error(`message payload of ${payloadLength} bytes runs past the record`);
      body = new StoredMessage(b, payloadAt, payloadLength, channel, iface, peer, b[at++] === 1);
      break;
    }
    case RecordKind.timer:
    case RecordKind.tick:
      body = { kind, id: b.readUInt32LE(at) };
      at += 4;
      break;
    case RecordKind.signal: {
      const signo = b.readUInt32LE(at);
      const n = b[at + 4]!;
      body = { kind, signo, name: b.toString('utf8', at + 5, at + 5 + n) };
      at += 5 + n;
      break;
    }
    case RecordKind.upgrade: {
      const reason = b[at++] === 1 ? 'rollback' : 'upgrade';
      const module = b.toString('utf8', at + 1, at + 1 + b[at]!);
      at += 1 + b[at]!;
      const version = b.toString('utf8', at + 1, at + 1 + b[at]!);
      at += 1 + b[at]!;
      const sha256 = b.toString('hex', at, at + 32);
      at += 32;
      body = { kind, reason, module, version, sha256 };
      break;
    }
    case RecordKind.config: {
      const n = b.readUInt32LE(at);
      body = { kind, json: b.toString('utf8', at + 4, at + 4 + n) };
      at += 4 + n;
      break;
    }
    default:
      throw new Error(`unknown record kind ${kind}`);
  }
  const tapeLength = b.readUInt32LE(at);
  at += 4;
  if (at + tapeLength !== end) throw new Error(`record length ${end - start} does not match its fields (${at + tapeLength - start})`);
  return new StoredRecord(b, start, at, end, seq, component, body);
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
