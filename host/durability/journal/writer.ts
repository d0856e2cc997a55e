/**
 * The journal's writer: appends encoded records to segment files and makes them durable by
 * group commit. Records are encoded on the main thread into a batch buffer; once per turn of the
 * event loop (a microtask after the first append, so every event of a dispatch slice shares it)
 * the whole batch goes to the segment with one `write` on the main thread (a copy into the page
 * cache). In mode `os` that is the commit. In mode `fsync` `fdatasync`s run on libuv's thread
 * pool (group-sync.ts: one at a time), each covering every batch written before it started,
 * while later batches keep being written: the write of a batch overlaps the syncs before it.
 * `onDurable(seq)` is told once every record up to `seq` is written (`os`) or on the disk (`fsync`).
 *
 * Why the write is synchronous (docs/DURABILITY.md "What it costs"): a `write` on the pool made
 * every record wait for a round trip through the pool and for the batch written before it,
 * which cost ~0.5 ms at the median even in mode `os`; a `write` into the page cache takes a few
 * microseconds, and the pool then carries only the journal's syncs.
 */
import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import { ByteSink } from './byte-sink.js';
import { GroupSync } from './group-sync.js';
import { segmentName } from './reader.js';
import { encodeRecord, type RecordToWrite } from './record.js';

export type SyncMode = 'os' | 'fsync';

/** A new segment starts once the current one is this large; a checkpoint removes old ones whole. */
export const SEGMENT_BYTES = 64 * 1024 * 1024;

/**
 * Mode fsync writes zeros this far ahead of the records: an `fdatasync` of bytes inside the file
 * flushes only them, while one that extends the file must also commit its new size through the
 * filesystem's journal, which waits for every other file's pending data (another component's
 * flood included). One extension per PREALLOCATE_BYTES of records instead of one per batch.
 */
export const PREALLOCATE_BYTES = 1 << 20;
const ZEROS: Readonly<Buffer> = Buffer.alloc(PREALLOCATE_BYTES);

export class JournalWriter {
  readonly #dir: string;
  readonly #mode: SyncMode;
  readonly #log: Logger;
  readonly #onDurable: (seq: number) => void;
  readonly #batch = new ByteSink();
  #batchFirst = 0;
  #nextSeq: number;
  /** The last record handed to the operating system. */
  #writtenSeq: number;
  #durableSeq: number;
  #fd = -1;
  #segmentSize = 0;
  /** The next batch starts a new segment (roll()). */
  #rollPending = false;
  /** Bytes of the open segment that exist (records, then preallocated zeros). */
  #allocated = 0;
  #scheduled = false;
  /** Mode fsync: the syncs on the pool (and the segments rolled away they still have to cover). */
  readonly #syncs: GroupSync | null;
  /** Set while module blobs the batch's records name are still being written (they go first). */
  #waiting: Promise<void> | null = null;
  #failed: Error | null = null;
  /** Writes that must be on the disk before the next batch (module blobs an upgrade record names). */
  #before: Promise<unknown>[] = [];

  constructor(options: { dir: string; mode: SyncMode; nextSeq: number; log: Logger; onDurable: (seq: number) => void }) {
    this.#dir = options.dir;
    this.#mode = options.mode;
    this.#log = options.log;
    this.#onDurable = options.onDurable;
    this.#nextSeq = options.nextSeq;
    this.#writtenSeq = options.nextSeq - 1;
    this.#durableSeq = options.nextSeq - 1;
    this.#syncs =
      this.#mode === 'fsync'
        ? new GroupSync({ durableSeq: this.#durableSeq, durable: (seq) => this.#markDurable(seq), fail: (e) => this.#fail(e) })
        : null;
    mkdirSync(this.#dir, { recursive: true });
  }

  /** The sequence number the last appended record got (0: none yet). */
  get lastSeq(): number {
    return this.#nextSeq - 1;
  }
  get durableSeq(): number {
    return this.#durableSeq;
  }

  /** Encodes `record` (its seq is assigned here) into the current batch; returns the seq. */
  append(record: RecordToWrite): number {
    const seq = this.#nextSeq++;
    if (this.#batch.length === 0) this.#batchFirst = seq;
    encodeRecord(this.#batch, record, seq);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        this.#commit();
      });
    }
    return seq;
  }

  /** A write that must be durable before any record appended after this call (a module blob). */
  before(write: Promise<unknown>): void {
    // Handled at once, not only by the next batch's commit: with no record after it (the engine
    // stopping right after an upgrade was asked), a failed blob write was an unhandled
    // rejection that ended the process. It fails the writer either way: a record naming the
    // blob must never become durable without it.
    write.then(undefined, (e: unknown) => this.#fail(e as Error));
    this.#before.push(write);
  }

  /** The next batch starts a new segment (so the current one can be deleted behind a checkpoint). */
  roll(): void {
    this.#rollPending = true;
    // Nothing appended since the last write (an idle component): start the new segment now, so
    // the segments behind the checkpoint go at once, not only once another record comes.
    if (this.#fd >= 0 && this.#batch.length === 0 && this.#waiting === null && this.#failed === null) this.#segmentFor(this.#nextSeq, 0);
  }

  /** Waits until every record appended so far is durable (or the writer failed). */
  async flush(): Promise<void> {
    for (;;) {
      this.#commit();
      if (this.#failed) return;
      if (this.#waiting) await this.#waiting;
      else if (this.#batch.length === 0 && this.#durableSeq >= this.#writtenSeq) return;
      else await this.#syncs?.settled();
    }
  }

  async close(): Promise<void> {
    await this.flush();
    // For measurements (docs/DURABILITY.md): the syncs' durations, on stderr whatever the log level.
    if (process.env.HOTSWAP_JOURNAL_STATS && this.#syncs)
      process.stderr.write(`journal syncs ${JSON.stringify(this.#syncs.syncStats())}\n`);
    this.#syncs?.closeAll();
    if (this.#fd >= 0) {
      // A clean stop leaves the segment exactly as long as its records.
      if (!this.#failed) ftruncateSync(this.#fd, this.#segmentSize);
      closeSync(this.#fd);
    }
    this.#fd = -1;
  }

  /** Mode fsync: zeros up to at least `end` (reader.ts takes a zero tail as the end of the data). */
  #preallocate(fd: number, end: number): void {
    if (this.#mode !== 'fsync') return;
    while (this.#allocated < end) this.#allocated += writeSync(fd, ZEROS, 0, ZEROS.length, this.#allocated);
  }

  /** Writes the batch (after the blobs its records name), then lets the sync cover it. */
  #commit(): void {
    if (this.#batch.length === 0 || this.#waiting || this.#failed) return;
    if (this.#before.length > 0) {
      const before = this.#before;
      this.#before = [];
      this.#waiting = Promise.all(before).then(
        () => {
          this.#waiting = null;
          this.#commit();
        },
        (e: unknown) => {
          this.#waiting = null;
          this.#fail(e as Error);
        },
      );
      return;
    }
    try {
      const bytes = this.#batch.view();
      const fd = this.#segmentFor(this.#batchFirst, bytes.length);
      this.#preallocate(fd, this.#segmentSize + bytes.length);
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, this.#segmentSize + written);
      this.#segmentSize += bytes.length;
      this.#batch.reset();
      this.#writtenSeq = this.#nextSeq - 1;
    } catch (e) {
      this.#fail(e as Error);
      return;
    }
    if (this.#syncs) this.#syncs.request(this.#fd, this.#writtenSeq);
    else this.#markDurable(this.#writtenSeq);
  }

  #markDurable(seq: number): void {
    this.#durableSeq = seq;
    this.#onDurable(seq);
  }

  /** Fail-stop: outputs stay held (nothing unjournaled leaves), the operator is told once. */
  #fail(e: Error): void {
    if (this.#failed) return;
    this.#failed = e;
    this.#log.error(`journal write failed in ${this.#dir}: ${e.message}; replies and sends are held from now on`);
  }

  /** The open segment, or a new one named by `firstSeq` when there is none or it is full. */
  #segmentFor(firstSeq: number, adding: number): number {
    if (this.#fd >= 0 && !this.#rollPending && this.#segmentSize + adding <= SEGMENT_BYTES) return this.#fd;
    this.#rollPending = false;
    if (this.#fd >= 0) {
      // Its last records may still wait for a sync: the syncs close it once one covered it.
      if (this.#syncs) {
        ftruncateSync(this.#fd, this.#segmentSize);
        this.#syncs.retire(this.#fd);
      } else closeSync(this.#fd);
    }
    this.#fd = openSync(join(this.#dir, segmentName(firstSeq)), 'w');
    this.#segmentSize = 0;
    this.#allocated = 0;
    // The new file's directory entry must be durable too, or an fsync'd record could vanish with it.
    if (this.#mode === 'fsync') syncDirectory(this.#dir);
    return this.#fd;
  }
}

export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
