// Writes a component's persistent memory to disk as a chain of checkpoint files (a base, then
// increments of the pages changed since), pausing the main thread only for a sync of the shadow.
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DIRTY_PAGE_SIZE, MEMORY_BASE } from '../../abi/abi.js';
import type { DirtyPageCheckpoint } from '../../abi/checkpoint.js';
import type { PersistentMemory } from '../../abi/memory.js';
import type { ShadowCapture } from '../../abi/shadow-capture.js';
import type { Logger } from '../../log.js';
import { checkpointDir, fileName, listCheckpointFiles } from './files.js';
import { type CheckpointKind, chainCrc, encodeHeader, encodeMetaBlock, encodeTrailer, pageBlockSize, sealPageBlock } from './format.js';
import type { CheckpointMeta, CheckpointResult, CheckpointWriterOptions } from './types.js';

/** The most pages one block (and one main-thread slice) holds: 4 MiB. */
const DEFAULT_SLICE_PAGES = 1024;
/** What one write slice aims to take on the main thread (copy and CRC of one block). */
const SLICE_BUDGET_MS = 1.5;
/** The first slice's guess, and a floor that keeps one fast slice from sizing the next too large. */
const INITIAL_MS_PER_PAGE = 0.01;
const MIN_MS_PER_PAGE = 0.001;
/**
 * Pages one presync step copies: 512 KiB, ~0.1 ms of memcpy into shadow pages already touched,
 * ~0.6 ms into fresh ones (the first copy after a recovery, whose page faults made a step of
 * 1,024 pages hold the event loop ~5 ms). Steps follow each other within one event-loop turn
 * until SLICE_BUDGET_MS is spent, so a turn costs about the same whatever the step's pages cost.
 */
const PRESYNC_STEP_PAGES = 128;

/**
 * One event-loop turn of catching the shadow up: steps of PRESYNC_STEP_PAGES until fewer than a
 * step were left (`done`) or the turn's budget is spent. Shared by the writer's presync and the
 * checkpoint bench, which times the turns after a recovery.
 */
export function presyncTurn(pages: Pick<DirtyPageCheckpoint, 'syncSome'>): { copied: number; done: boolean } {
  const started = performance.now();
  let copied = 0;
  for (;;) {
    const step = pages.syncSome(PRESYNC_STEP_PAGES);
    copied += step;
    if (step < PRESYNC_STEP_PAGES) return { copied, done: true };
    if (performance.now() - started >= SLICE_BUDGET_MS) return { copied, done: false };
  }
}
/** A chain longer than this is compacted into a new base, whatever its size. */
const MAX_CHAIN_FILES = 32;
/** Increments may add up to the base's size (at least this much) before the next is a base. */
const MIN_COMPACTION_BYTES = 4 << 20;

interface Chain {
  generation: number;
  files: number;
  baseBytes: number;
  incrementBytes: number;
}

interface Job {
  generation: number;
  kind: CheckpointKind;
  parent: number;
  capture: ShadowCapture;
  json: string;
  journalSeq: number;
  pauseMs: number;
  started: number;
}

/**
 * Writes checkpoints of one component (docs/CHECKPOINTS.md). `request()` runs between two events:
 * it syncs the shadow copy (the pages written since the last sync), captures the pages changed
 * since the previous disk checkpoint and returns; the write happens afterwards in slices, each
 * copying and checksumming one block of pages on the main thread (sized to about SLICE_BUDGET_MS)
 * and handing it to libuv's pool to write; the event loop runs between slices. The capture is
 * copy-on-write against later syncs.
 *
 * At most one checkpoint is in flight. A `request()` while one runs returns the running one's
 * promise: its result carries the `journalSeq` that is durable, which is older than the caller's,
 * so the caller requests again later if it wants a newer one. (Queuing is not possible: a
 * checkpoint must capture memory at the moment of its `journalSeq`.)
 *
 * The first checkpoint of a writer is a base, a full image, which starts a new chain; once it is
 * committed the older files are deleted. Later ones are increments until their total outgrows the
 * base, or the chain has MAX_CHAIN_FILES files, so recovery reads at most about twice the state.
 */
export class CheckpointWriter {
  readonly #dir: string;
  readonly #component: string;
  readonly #memory: PersistentMemory;
  readonly #pages: DirtyPageCheckpoint;
  readonly #fsync: boolean;
  readonly #log: Logger | undefined;
  readonly #slicePages: number;
  #nextGeneration: number;
  #chain: Chain | null = null;
  #running: Promise<CheckpointResult> | null = null;
  #block: Buffer = Buffer.alloc(0);
  #closed = false;

  constructor(opts: CheckpointWriterOptions) {
    this.#dir = checkpointDir(opts.dir, opts.component);
    this.#component = opts.component;
    this.#memory = opts.memory;
    this.#pages = opts.pages;
    this.#fsync = opts.fsync;
    this.#log = opts.log;
    this.#slicePages = opts.slicePages ?? DEFAULT_SLICE_PAGES;
    if (!Number.isInteger(this.#slicePages) || this.#slicePages < 1)
      throw new RangeError(`checkpoint: slicePages ${this.#slicePages} must be a positive integer`);
    this.#nextGeneration = (listCheckpointFiles(this.#dir)[0]?.generation ?? 0) + 1;
  }

  /** The directory the files go to. */
  get dir(): string {
    return this.#dir;
  }

  /**
   * Optional, just before `request()`: brings the shadow up to date one budgeted event-loop turn
   * at a time (presyncTurn) until fewer than a step's pages are left, so that the sync inside
   * `request()` stays within its budget even after a burst of writes (a bulk load, a first
   * checkpoint of a large store, the restored pages after a recovery). Resolves with the pages
   * copied.
   */
  async presync(): Promise<number> {
    let total = 0;
    for (;;) {
      const turn = presyncTurn(this.#pages);
      total += turn.copied;
      if (turn.done) return total;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Call between two events, with memory exactly the state after `meta.journalSeq`. */
  request(meta: CheckpointMeta): Promise<CheckpointResult> {
    if (this.#closed) return Promise.reject(new Error(`checkpoint writer of ${this.#component} is closed`));
    if (this.#running) return this.#running;
    const started = performance.now();
    let json: string;
    try {
      json = JSON.stringify({ journalSeq: meta.journalSeq, persistentBytes: this.#memory.persistentBytesInUse(), state: meta.state });
    } catch (e) {
      return Promise.reject(new Error(`checkpoint of ${this.#component}: meta.state is not JSON-serialisable: ${(e as Error).message}`));
    }
    this.#pages.sync();
    const chain = this.#chain;
    const kind: CheckpointKind =
      chain === null || chain.files >= MAX_CHAIN_FILES || chain.incrementBytes > Math.max(chain.baseBytes, MIN_COMPACTION_BYTES)
        ? 'base'
        : 'increment';
    const capture = this.#pages.captureForDisk(kind === 'base');
    const job: Job = {
      generation: this.#nextGeneration++,
      kind,
      parent: kind === 'base' || chain === null ? 0 : chain.generation,
      capture,
      json,
      journalSeq: meta.journalSeq,
      pauseMs: performance.now() - started,
      started,
    };
    const running = this.#write(job).finally(() => {
      this.#running = null;
    });
    this.#running = running;
    return running;
  }

  /** Waits for the checkpoint in flight (its failure is the requester's to see), then refuses new ones. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#running?.catch(() => undefined);
  }

  async #write(job: Job): Promise<CheckpointResult> {
    const partial = join(this.#dir, fileName(job.generation, true));
    const final = join(this.#dir, fileName(job.generation, false));
    let fh: FileHandle | null = null;
    try {
      await mkdir(this.#dir, { recursive: true });
      fh = await open(partial, 'w');
      const written = await this.#writeBody(fh, job);
      if (this.#fsync) await fh.datasync();
      await fh.close();
      fh = null;
      await rename(partial, final);
      if (this.#fsync) await syncDirectory(this.#dir);
      this.#commit(job, written.bytes);
      if (job.kind === 'base') await this.#deleteOlderThan(job.generation);
      const result: CheckpointResult = {
        journalSeq: job.journalSeq,
        generation: job.generation,
        kind: job.kind,
        bytes: written.bytes,
        pages: job.capture.pages.length,
        pauseMs: job.pauseMs,
        maxSliceMs: written.maxSliceMs,
        preservedPages: written.preservedPages,
        totalMs: performance.now() - job.started,
      };
      this.#log?.debug(`checkpoint ${final}: ${job.kind}, ${result.pages} pages, ${result.bytes} bytes, journal seq ${job.journalSeq}`);
      return result;
    } catch (e) {
      // The captured pages are no longer marked as changed, so only a full image is safe next.
      this.#chain = null;
      await fh?.close().catch(() => undefined);
      await rm(partial, { force: true }).catch(() => undefined);
      const error = new Error(`checkpoint of ${this.#component}: writing ${final} failed: ${(e as Error).message}`, { cause: e });
      this.#log?.warn(error.message);
      throw error;
    } finally {
      job.capture.close();
    }
  }

  /** Header, page blocks (one main-thread slice each), meta block and trailer. */
  async #writeBody(fh: FileHandle, job: Job): Promise<{ bytes: number; maxSliceMs: number; preservedPages: number }> {
    const page = DIRTY_PAGE_SIZE;
    const header = encodeHeader({
      kind: job.kind,
      generation: job.generation,
      parent: job.parent,
      pageSize: page,
      memoryBase: MEMORY_BASE,
      component: this.#component,
    });
    await fh.write(header, 0, header.length, 0);
    let offset = header.length;
    let crcs = chainCrc(0, header.readUInt32LE(header.length - 4));
    const all = job.capture.pages;
    // One buffer for every block, kept across checkpoints (a fresh one page-faulted on each
    // first use): each block is written before the next is filled.
    const needed = pageBlockSize(Math.min(this.#slicePages, Math.max(all.length, 1)), page);
    if (this.#block.length < needed) this.#block = Buffer.allocUnsafeSlow(needed);
    const block = this.#block;
    let maxSliceMs = 0;
    let preservedPages = 0;
    let blocks = 0;
    // A block is what one slice copies and checksums. Its size follows the time per page seen so
    // far, so a slice stays near SLICE_BUDGET_MS whether the core is idle or shared.
    let msPerPage = INITIAL_MS_PER_PAGE;
    for (let i = 0; i < all.length; ) {
      const sliceStart = performance.now();
      const count = Math.max(1, Math.min(this.#slicePages, all.length - i, Math.floor(SLICE_BUDGET_MS / msPerPage)));
      const pages = all.subarray(i, i + count);
      preservedPages = Math.max(preservedPages, job.capture.preservedPages);
      const dataStart = 8 + 4 * pages.length;
      for (let k = 0; k < pages.length; k++) job.capture.take(pages[k]!, block, dataStart + k * page);
      crcs = chainCrc(crcs, sealPageBlock(block, pages, page));
      const size = pageBlockSize(pages.length, page);
      const sliceMs = performance.now() - sliceStart;
      maxSliceMs = Math.max(maxSliceMs, sliceMs);
      msPerPage = Math.max(MIN_MS_PER_PAGE, sliceMs / count);
      await fh.write(block, 0, size, offset);
      offset += size;
      i += count;
      blocks++;
    }
    const meta = encodeMetaBlock(job.json);
    await fh.write(meta.block, 0, meta.block.length, offset);
    offset += meta.block.length;
    crcs = chainCrc(crcs, meta.crc);
    const trailer = encodeTrailer({
      generation: job.generation,
      bodyLength: offset,
      pageBlocks: blocks,
      pages: all.length,
      crcOfCrcs: crcs,
    });
    await fh.write(trailer, 0, trailer.length, offset);
    return { bytes: offset + trailer.length, maxSliceMs, preservedPages };
  }

  #commit(job: Job, bytes: number): void {
    const chain = this.#chain;
    if (job.kind === 'base' || chain === null) this.#chain = { generation: job.generation, files: 1, baseBytes: bytes, incrementBytes: 0 };
    else
      this.#chain = {
        generation: job.generation,
        files: chain.files + 1,
        baseBytes: chain.baseBytes,
        incrementBytes: chain.incrementBytes + bytes,
      };
  }

  /** A new base is committed: the files before it (older chains, leftovers) are no longer needed. */
  async #deleteOlderThan(generation: number): Promise<void> {
    for (const file of listCheckpointFiles(this.#dir)) {
      if (file.generation < generation) await rm(file.path, { force: true });
    }
  }
}

/** fsync of the directory, so the rename (the commit) itself survives a power cut. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
