/** A component's persistent memory as the host sees it: the header, the inbox, snapshots and growth up to the host's cap. */
import {
  ARENA_OFFSET,
  FLAG_INITIALISED,
  HEADER_MAGIC,
  HEADER_OFFSET,
  HeaderField,
  INBOX_CAPACITY,
  INBOX_DATA,
  INBOX_OFFSET,
  INBOX_PEER,
  INBOX_PEER_CAPACITY,
  InboxField,
  MEMORY_BASE,
  NO_IFACE,
} from './abi.js';
import { copyBytes, ReplyArena } from './reply-arena.js';

const PAGE = 65536;
/** Names up to this long are kept by readName (component names and host:port peers fit). */
const NAME_CACHE_BYTES = 64;

/** The persistent header as the host sees it. */
export interface HeaderState {
  initialised: boolean;
  abiVersion: number;
  layoutVersion: number;
  root: number;
  heapTop: number;
  generation: number;
}

/** A copy of the persistent bytes in use, taken before a step that may fail halfway. */
export interface PersistentSnapshot {
  readonly bytes: Buffer;
  readonly pages: number;
}

/**
 * The component's persistent `WebAssembly.Memory`: the paper's user data kept inside the main
 * task module. It outlives every module instance. All host reads and writes of module memory go
 * through this class, which re-takes its views after every call into the module, because a
 * `memory.grow` inside the module detaches every earlier view.
 */
export class PersistentMemory {
  readonly memory: WebAssembly.Memory;
  readonly memoryBase: number;
  readonly maxPages: number;

  constructor(options: { memoryBase?: number; maxBytes: number; initialPages?: number }) {
    this.memoryBase = options.memoryBase ?? MEMORY_BASE;
    this.maxPages = Math.ceil(options.maxBytes / PAGE);
    const initial = Math.max(options.initialPages ?? 0, Math.ceil(this.memoryBase / PAGE) + 1);
    if (initial > this.maxPages) {
      throw new RangeError(`memory limit ${options.maxBytes} bytes is below the memoryBase ${this.memoryBase} + one page`);
    }
    // The maximum is the host's, never the module's (docs/MEASUREMENTS.md): a module that grows past it traps.
    this.memory = new WebAssembly.Memory({ initial, maximum: this.maxPages });
  }

  get pages(): number {
    return this.#views().all.length / PAGE;
  }

  /** Grows the memory so a module with this declared minimum can instantiate against it. */
  ensurePages(minimum: number): void {
    if (minimum > this.maxPages) {
      throw new RangeError(`module needs ${minimum} pages but the component's limit is ${this.maxPages}`);
    }
    if (minimum > this.pages) this.memory.grow(minimum - this.pages);
  }

  #u32(): Uint32Array {
    return new Uint32Array(this.memory.buffer, 0, INBOX_DATA >>> 2);
  }

  header(): HeaderState {
    const v = this.#u32();
    const at = (f: number): number => v[(HEADER_OFFSET + f) >>> 2]!;
    return {
      initialised: at(HeaderField.magic) === HEADER_MAGIC && (at(HeaderField.flags) & FLAG_INITIALISED) !== 0,
      abiVersion: at(HeaderField.abiVersion),
      layoutVersion: at(HeaderField.layoutVersion),
      root: at(HeaderField.root),
      heapTop: at(HeaderField.heapTop),
      generation: at(HeaderField.generation),
    };
  }

  bumpGeneration(): void {
    const v = this.#u32();
    v[(HEADER_OFFSET + HeaderField.generation) >>> 2] = (v[(HEADER_OFFSET + HeaderField.generation) >>> 2]! + 1) >>> 0;
  }

  /** Bytes of persistent memory in use: header, inbox and the arena up to its high-water mark. */
  persistentBytesInUse(): number {
    const top = this.header().heapTop;
    return Math.min(Math.max(top, ARENA_OFFSET), this.memoryBase);
  }

  /**
   * Writes one message into the inbox. Throws when the payload is larger than the inbox, so the
   * caller can reject that message alone instead of truncating it silently.
   */
  writeInbox(channel: number, payload: Uint8Array, peer: string, iface: number | undefined): void {
    if (payload.byteLength > INBOX_CAPACITY) {
      throw new RangeError(`message of ${payload.byteLength} bytes exceeds the inbox (${INBOX_CAPACITY})`);
    }
    const v = this.#views();
    const peerLen = peer === this.#lastPeer ? this.#lastPeerLen : v.peer.write(peer, 'utf8');
    this.#lastPeer = peer;
    this.#lastPeerLen = peerLen;
    v.meta[InboxField.length >>> 2] = payload.byteLength;
    v.meta[InboxField.channel >>> 2] = channel;
    v.meta[InboxField.peerLength >>> 2] = peerLen;
    v.meta[InboxField.iface >>> 2] = iface ?? NO_IFACE;
    v.bytes.set(payload, INBOX_DATA);
  }

  // Views over the inbox, cached per ArrayBuffer: they are the hot path of every message, and
  // a memory.grow inside the module replaces the buffer, which invalidates them.
  #viewsBuffer: ArrayBuffer | null = null;
  #cached: { bytes: Uint8Array; all: Buffer; meta: Uint32Array; peer: Buffer } | null = null;
  // The peer bytes are rewritten only when the peer changes; the module must not write the inbox.
  #lastPeer = '';
  #lastPeerLen = 0;

  #views(): { bytes: Uint8Array; all: Buffer; meta: Uint32Array; peer: Buffer } {
    // A memory.grow detaches the old ArrayBuffer, whose byteLength then reads 0: checking that is
    // far cheaper than the `memory.buffer` getter, which crosses into the runtime on every event.
    if (this.#cached && this.#viewsBuffer!.byteLength !== 0) return this.#cached;
    const buf = this.memory.buffer;
    this.#viewsBuffer = buf;
    this.#cached = {
      bytes: new Uint8Array(buf),
      all: Buffer.from(buf),
      meta: new Uint32Array(buf, INBOX_OFFSET, 4),
      peer: Buffer.from(buf, INBOX_PEER, INBOX_PEER_CAPACITY),
    };
    this.#lastPeer = '';
    return this.#cached;
  }

  /** Throws the RangeError read() would for a range outside the memory. */
  checkRange(ptr: number, len: number): void {
    this.#checked(ptr, len);
  }

  /** Copies bytes out of module memory (the copy stays valid after the memory grows). */
  read(ptr: number, len: number): Buffer {
    const v = this.#checked(ptr, len);
    // One allocation (from Node's small-buffer pool) and a copy (copyBytes says how).
    const out = Buffer.allocUnsafe(len);
    copyBytes(out, 0, v.bytes, ptr, len);
    return out;
  }

  /**
   * A reply's bytes (hs.reply), copied out as read() does, into a Buffer of their own cut from
   * the replies' arena: valid after the call, whatever the module does to its memory next.
   */
  readReply(ptr: number, len: number): Buffer {
    return this.#replies.copy(this.#checked(ptr, len).bytes, ptr, len);
  }
  readonly #replies = new ReplyArena();

  /** The views, once `[ptr, ptr + len)` is known to lie inside the memory. */
  #checked(ptr: number, len: number): { bytes: Uint8Array; all: Buffer } {
    const v = this.#views();
    if (ptr < 0 || len < 0 || ptr + len > v.bytes.length) {
      throw new RangeError(`module passed an out-of-bounds range [${ptr}, ${ptr + len}) of ${v.bytes.length}`);
    }
    return v;
  }

  /** Decodes UTF-8 straight out of module memory (no copy of the bytes first). */
  readUtf8(ptr: number, len: number): string {
    return this.#checked(ptr, len).all.toString('utf8', ptr, ptr + len);
  }

  /**
   * readUtf8 of a name a module repeats call after call (the peer of its sends: a bus flood names
   * the same component hundreds of thousands of times a second): the last one is kept with its
   * bytes, so a repeat costs a comparison of a few bytes instead of a new string for the
   * collector (docs/SAFETY.md, "What a flood allocates").
   */
  readName(ptr: number, len: number): string {
    if (len === this.#nameLength && len <= NAME_CACHE_BYTES) {
      const bytes = this.#views().bytes;
      if (ptr >= 0 && ptr + len <= bytes.length) {
        const kept = this.#nameBytes;
        let i = 0;
        while (i < len && bytes[ptr + i] === kept[i]) i++;
        if (i === len) return this.#name;
      }
    }
    const name = this.readUtf8(ptr, len);
    if (len <= NAME_CACHE_BYTES) {
      this.#nameBytes.set(this.#views().bytes.subarray(ptr, ptr + len));
      this.#nameLength = len;
      this.#name = name;
    }
    return name;
  }
  // readName's kept name and its bytes.
  readonly #nameBytes = new Uint8Array(NAME_CACHE_BYTES);
  #nameLength = -1;
  #name = '';

  /** Reads an AssemblyScript string (UTF-16, byte length at ptr-4), as passed to env.abort. */
  readAsString(ptr: number): string {
    if (ptr < 4 || ptr >= this.memory.buffer.byteLength) return '';
    const len = new Uint32Array(this.memory.buffer, ptr - 4, 1)[0]!;
    if (ptr + len > this.memory.buffer.byteLength) return '';
    return Buffer.from(this.memory.buffer, ptr, len).toString('utf16le');
  }

  fill(ptr: number, bytes: Uint8Array): void {
    new Uint8Array(this.memory.buffer).set(bytes, ptr);
  }

  /** Copies the persistent bytes in use. Used before steps that may trap halfway (docs/SAFETY.md). */
  snapshot(): PersistentSnapshot {
    const len = this.persistentBytesInUse();
    // A grow-only buffer reused across swaps (one swap runs at a time): allocating a fresh one
    // each time spent ~90% of the snapshot in allocation and page faults (docs/PERFORMANCE.md).
    if (this.#snapshotBuffer.length < len) this.#snapshotBuffer = Buffer.allocUnsafeSlow(Math.max(len, this.#snapshotBuffer.length * 2));
    this.#views().all.copy(this.#snapshotBuffer, 0, 0, len);
    return { bytes: this.#snapshotBuffer.subarray(0, len), pages: this.pages };
  }
  #snapshotBuffer: Buffer = Buffer.alloc(0);

  /**
   * Puts the snapshot's bytes back exactly. Arena bytes above the snapshot's high-water mark
   * were free space when the snapshot was taken, so they are zeroed rather than left as garbage.
   */
  restore(snapshot: PersistentSnapshot): void {
    const currentTop = Math.min(Math.max(this.header().heapTop, snapshot.bytes.length), this.memoryBase);
    const bytes = new Uint8Array(this.memory.buffer);
    bytes.set(snapshot.bytes, 0);
    this.#lastPeer = ''; // the inbox was rewritten too
    if (currentTop > snapshot.bytes.length) bytes.fill(0, snapshot.bytes.length, currentTop);
  }
}
