// Reads a checked chain's page blocks once, straight into the memory being restored, checking
// each block's CRC there; and reads restored pages back from the files afterwards, for a
// rollback before the shadow holds its own copy of them (DirtyPageCheckpoint.adoptRestored).
import { closeSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { DIRTY_MAP_OFFSET, DIRTY_PAGE_SIZE, MEMORY_BASE } from '../../abi/abi.js';
import type { RestoredPageSource } from '../../abi/checkpoint.js';
import type { PersistentMemory } from '../../abi/memory.js';
import { CheckpointCorruptError } from './format.js';
import type { CheckpointMeta } from './types.js';

const PAGE = DIRTY_PAGE_SIZE;
const PAGES = MEMORY_BASE / PAGE;
/**
 * Pages read and checksummed per step: 256 KiB, so the CRC reads bytes the read just wrote
 * while they are still in the cache, not the whole run again from memory.
 */
const CHUNK_PAGES = 64;

/** One page block of a file: where it starts, its pages, its frame and index, its stored CRC. */
export interface ScannedBlock {
  offset: number;
  count: number;
  /** The block's first 8 + 4 × count bytes: magic, count and the ascending page numbers. */
  head: Buffer;
  crc: number;
}

/** A committed file whose structure was checked; its page blocks' CRCs are checked as they are read. */
export interface ScannedFile {
  path: string;
  generation: number;
  kind: 'base' | 'increment';
  parent: number;
  blocks: ScannedBlock[];
  meta: CheckpointMeta & { persistentBytes: number };
  bytes: number;
  /** The blocks' stored CRCs chain to the trailer's CRC of CRCs (checked after the blocks'). */
  crcsMatchTrailer: boolean;
  trailerOffset: number;
}

/** Where each restored page's bytes are in the chain: the newest file that holds the page. */
export interface RestoredLayout {
  /** One byte per page: 1 when the chain restored it (handed to the shadow, which clears it as it copies). */
  pages: Uint8Array;
  /** Per page, the index of its file in the chain and the byte offset of its bytes there. */
  file: Uint16Array;
  offset: Float64Array;
}

/**
 * Reads every page block of `chain` (base first) into `memory` at the pages' addresses and
 * checks its CRC over the bytes as they landed. A mismatch throws CheckpointCorruptError naming
 * the file and the block's offset, leaving the memory half restored: it must then be thrown
 * away (no module has initialised it; the caller checks that first).
 */
export function restoreChain(chain: readonly ScannedFile[], memory: PersistentMemory): RestoredLayout {
  const bytes = new Uint8Array(memory.memory.buffer);
  const layout: RestoredLayout = { pages: new Uint8Array(PAGES), file: new Uint16Array(PAGES), offset: new Float64Array(PAGES) };
  chain.forEach((file, index) => {
    const fd = openSync(file.path, 'r');
    try {
      for (const block of file.blocks) {
        const { head, count } = block;
        const data = block.offset + head.length;
        let crc = crc32(head);
        for (let k = 0; k < count; ) {
          const first = head.readUInt32LE(8 + 4 * k);
          let run = 1;
          while (run < CHUNK_PAGES && k + run < count && head.readUInt32LE(8 + 4 * (k + run)) === first + run) run++;
          const at = first * PAGE;
          const length = run * PAGE;
          const from = data + k * PAGE;
          if (readFully(fd, bytes, at, length, from) !== length)
            throw new CheckpointCorruptError(file.path, from, 'file changed while it was restored (short read)');
          crc = crc32(bytes.subarray(at, at + length), crc);
          for (let p = 0; p < run; p++) {
            layout.pages[first + p] = 1;
            layout.file[first + p] = index;
            layout.offset[first + p] = from + p * PAGE;
          }
          k += run;
        }
        if (crc !== block.crc) throw new CheckpointCorruptError(file.path, block.offset, 'page block CRC mismatch');
      }
      checkTrailer(file);
    } finally {
      closeSync(fd);
    }
  });
  return layout;
}

/** Every block's bytes matched its stored CRC: the stored CRCs must now chain to the trailer's. */
function checkTrailer(file: ScannedFile): void {
  if (!file.crcsMatchTrailer) throw new CheckpointCorruptError(file.path, file.trailerOffset, 'trailer does not match the blocks');
}

/** Marks every restored page in the memory's dirty map (no shadow takes them: the next sync copies them). */
export function markRestored(memory: PersistentMemory, layout: RestoredLayout): void {
  const map = new Uint8Array(memory.memory.buffer, DIRTY_MAP_OFFSET, PAGES);
  for (let page = 0; page < PAGES; page++) if (layout.pages[page]) map[page] = 1;
}

/**
 * Checks every page block's CRC now, reading through one scratch buffer (loadCheckpoint's
 * promise: a damaged file is found before anything is restored).
 */
export function checkBlocks(file: ScannedFile): void {
  const fd = openSync(file.path, 'r');
  try {
    let scratch = Buffer.allocUnsafeSlow(1 << 20);
    for (const block of file.blocks) {
      const length = block.count * PAGE;
      if (length > scratch.length) scratch = Buffer.allocUnsafeSlow(length);
      const from = block.offset + block.head.length;
      if (readFully(fd, scratch, 0, length, from) !== length)
        throw new CheckpointCorruptError(file.path, from, 'file changed while it was checked (short read)');
      if (crc32(scratch.subarray(0, length), crc32(block.head)) !== block.crc)
        throw new CheckpointCorruptError(file.path, block.offset, 'page block CRC mismatch');
    }
    checkTrailer(file);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads restored pages back from the chain's files, which stay on disk until the first
 * checkpoint after the restore has copied every page into the shadow (its base replaces them).
 * The bytes were checked when they were restored; a file changed on disk since then is not
 * noticed here (whoever can write the data directory can change the state anyway).
 */
export class ChainPageSource implements RestoredPageSource {
  readonly #paths: readonly string[];
  readonly #layout: RestoredLayout;
  readonly #fds = new Map<number, number>();

  constructor(chain: readonly ScannedFile[], layout: RestoredLayout) {
    this.#paths = chain.map((f) => f.path);
    this.#layout = layout;
  }

  read(page: number, into: Uint8Array, at: number): void {
    const index = this.#layout.file[page]!;
    const path = this.#paths[index]!;
    let fd = this.#fds.get(index);
    if (fd === undefined) {
      fd = openSync(path, 'r');
      this.#fds.set(index, fd);
    }
    // Offset 0 is a header, never a page's bytes: the page was not restored. (Not `layout.pages`,
    // which the shadow clears as it copies the pages.)
    const from = this.#layout.offset[page]!;
    if (from === 0 || readFully(fd, into, at, PAGE, from) !== PAGE)
      throw new Error(`checkpoint ${path}: restored page ${page} cannot be read back (the file changed since the restore)`);
  }

  release(): void {
    for (const fd of this.#fds.values()) closeSync(fd);
    this.#fds.clear();
  }
}

/** Reads `length` bytes at file offset `from` into `into` at `at`; returns how many it got. */
export function readFully(fd: number, into: Uint8Array, at: number, length: number, from: number): number {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, into, at + got, length - got, from + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}
