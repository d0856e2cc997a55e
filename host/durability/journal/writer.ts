/**
 * The journal's writer: appends encoded records to segment files and makes them durable by
 * group commit. Records are encoded on the main thread into a batch buffer; one commit at a
 * time takes the whole batch, writes it with one `write` and (mode `fsync`) one `fdatasync`,
 * both on libuv's thread pool, while the next batch fills. `onDurable(seq)` is told once every
 * record up to `seq` is written (mode `os`) or on the disk (mode `fsync`).
 */
import { closeSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import { segmentName } from './reader.js';
import { ByteSink, encodeRecord, type JournalRecord } from './record.js';

export type SyncMode = 'os' | 'fsync';

/** A new segment starts once the current one is this large; a checkpoint removes old ones whole. */
export const SEGMENT_BYTES = 64 * 1024 * 1024;

export class JournalWriter {
  readonly #dir: string;
  readonly #mode: SyncMode;
  readonly #log: Logger;
  readonly #onDurable: (seq: number) => void;
  #batch = new ByteSink();
  #spare = new ByteSink();
  #batchLast = 0;
  #nextSeq: number;
  #durableSeq: number;
  #file: FileHandle | null = null;
  #segmentSize = 0;
  #committing: Promise<void> | null = null;
  #scheduled = false;
  #failed: Error | null = null;
  /** Writes that must be on the disk before the next batch (module blobs an upgrade record names). */
  #before: Promise<unknown>[] = [];

  constructor(options: { dir: string; mode: SyncMode; nextSeq: number; log: Logger; onDurable: (seq: number) => void }) {
    this.#dir = options.dir;
    this.#mode = options.mode;
    this.#log = options.log;
    this.#onDurable = options.onDurable;
    this.#nextSeq = options.nextSeq;
    this.#durableSeq = options.nextSeq - 1;
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
  append(record: Omit<JournalRecord, 'seq'>): number {
    const seq = this.#nextSeq++;
    encodeRecord(this.#batch, { ...record, seq } as JournalRecord);
    this.#batchLast = seq;
    // One commit per turn of the event loop at most: every event of a dispatch slice shares it.
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        this.#kick();
      });
    }
    return seq;
  }

  /** A write that must be durable before any record appended after this call (a module blob). */
  before(write: Promise<unknown>): void {
    this.#before.push(write);
  }

  /** The next batch starts a new segment (so the current one can be deleted behind a checkpoint). */
  roll(): void {
    this.#segmentSize = Number.POSITIVE_INFINITY;
  }

  /** Waits until every record appended so far is durable (or the writer failed). */
  async flush(): Promise<void> {
    this.#kick();
    while (this.#committing) await this.#committing;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.#file?.close();
    this.#file = null;
  }

  #kick(): void {
    if (this.#committing || this.#batch.length === 0 || this.#failed) return;
    this.#committing = this.#commitLoop().finally(() => {
      this.#committing = null;
    });
  }

  /** Commits batches until none is waiting: the group commit. */
  async #commitLoop(): Promise<void> {
    try {
      while (this.#batch.length > 0) {
        const batch = this.#batch;
        this.#batch = this.#spare;
        this.#spare = batch;
        const last = this.#batchLast;
        const firstSeq = last - countRecords(batch.view()) + 1;
        const before = this.#before;
        this.#before = [];
        await Promise.all(before);
        const file = await this.#segmentFor(firstSeq, batch.length);
        const bytes = batch.view();
        let written = 0;
        while (written < bytes.length) written += (await file.write(bytes, written, bytes.length - written)).bytesWritten;
        if (this.#mode === 'fsync') await file.datasync();
        this.#segmentSize += bytes.length;
        batch.reset();
        this.#durableSeq = last;
        this.#onDurable(last);
      }
    } catch (e) {
      // Fail-stop: outputs stay held (nothing unjournaled leaves), the operator is told once.
      this.#failed = e as Error;
      this.#log.error(`journal write failed in ${this.#dir}: ${(e as Error).message}; replies and sends are held from now on`);
    }
  }

  /** The open segment, or a new one named by `firstSeq` when there is none or it is full. */
  async #segmentFor(firstSeq: number, adding: number): Promise<FileHandle> {
    if (this.#file && this.#segmentSize + adding <= SEGMENT_BYTES) return this.#file;
    await this.#file?.close();
    this.#file = await open(join(this.#dir, segmentName(firstSeq)), 'w');
    this.#segmentSize = 0;
    // The new file's directory entry must be durable too, or an fsync'd record could vanish with it.
    if (this.#mode === 'fsync') syncDirectory(this.#dir);
    return this.#file;
  }
}

/** How many records `bytes` (whole records, back to back) holds. */
function countRecords(bytes: Buffer): number {
  let n = 0;
  for (let at = 0; at < bytes.length; at += bytes.readUInt32LE(at)) n++;
  return n;
}

export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
