// The checkpoint library's data types: what a caller hands a checkpoint and what it gets back.
import type { DirtyPageCheckpoint } from '../../abi/checkpoint.js';
import type { PersistentMemory } from '../../abi/memory.js';
import type { Logger } from '../../log.js';
import type { CheckpointKind } from './format.js';

export interface CheckpointMeta {
  /** Every journal record with seq <= journalSeq is reflected in the pages. */
  journalSeq: number;
  /** Opaque here, JSON-serialisable: whatever recovery needs besides the pages. */
  state: unknown;
}

export interface CheckpointResult {
  journalSeq: number;
  generation: number;
  kind: CheckpointKind;
  /** Bytes of the file. */
  bytes: number;
  pages: number;
  /** Main-thread time of `request()` itself: the sync of the shadow and the capture. */
  pauseMs: number;
  /** The longest main-thread slice of the write that followed (copying and checksumming one block). */
  maxSliceMs: number;
  /** Pages the component changed while they waited to be written, copied to keep their bytes. */
  preservedPages: number;
  /** From `request()` until the file was committed (and fsync'd when asked). */
  totalMs: number;
}

export interface CheckpointWriterOptions {
  /** `<dataDir>/durable`; the files go to `<dir>/<component>/checkpoint` (files.ts). */
  dir: string;
  component: string;
  memory: PersistentMemory;
  pages: DirtyPageCheckpoint;
  /** fdatasync each file and fsync the directory after the rename before resolving. */
  fsync: boolean;
  log?: Logger;
  /** The most pages per block (one main-thread slice); default 1024 (4 MiB). Blocks are sized to SLICE_BUDGET_MS below that. */
  slicePages?: number;
}
