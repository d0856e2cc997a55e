// Finds a component's newest complete checkpoint, checks every block of its chain, and restores
// the pages into a fresh persistent memory.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { ARENA_OFFSET, DIRTY_MAP_OFFSET, DIRTY_PAGE_SHIFT, DIRTY_PAGE_SIZE, INBOX_OFFSET, MEMORY_BASE } from '../../abi/abi.js';
import type { DirtyPageCheckpoint } from '../../abi/checkpoint.js';
import type { PersistentMemory } from '../../abi/memory.js';
import type { Logger } from '../../log.js';
import { type CheckpointFile, checkpointDir, listCheckpointFiles } from './files.js';
import {
  BLOCK_META,
  BLOCK_PAGES,
  CheckpointCorruptError,
  chainCrc,
  decodeHeader,
  decodeTrailer,
  type FileHeader,
  pageBlockSize,
  TRAILER_SIZE,
} from './format.js';
import type { CheckpointMeta } from './types.js';

const PAGE = DIRTY_PAGE_SIZE;
const PAGES = MEMORY_BASE >>> DIRTY_PAGE_SHIFT;

/** The newest complete checkpoint of a component: its meta, and the pages to put back. */
export interface LoadedCheckpoint {
  meta: CheckpointMeta;
  generation: number;
  /** The chain's files, base first. */
  files: string[];
  /** Bytes read and checked. */
  bytes: number;
  /**
   * Writes the pages into `memory`, which no module may have initialised yet, and marks them in
   * the dirty map. With `pages`, syncs its shadow at once, so the next sync has nothing to copy.
   */
  restoreInto(memory: PersistentMemory, pages?: DirtyPageCheckpoint): void;
}

interface ScannedFile {
  path: string;
  header: FileHeader;
  /** Where each page block starts and how many pages it holds. */
  blocks: { offset: number; count: number }[];
  meta: CheckpointMeta & { persistentBytes: number };
  bytes: number;
}

/**
 * The newest complete checkpoint of `component` under `dir` (`<dataDir>/durable`), or null when it
 * has none. Every block of every file in the chain is read and its CRC checked here, so a damaged
 * file throws CheckpointCorruptError (file and byte offset) before anything is restored. A newest
 * file that does not end in a commit trailer was cut short by a crash: it is ignored, with a log
 * line, in favour of the one before; so are files that were never committed (`.partial`).
 */
export function loadCheckpoint(dir: string, component: string, log?: Logger): LoadedCheckpoint | null {
  const files = listCheckpointFiles(checkpointDir(dir, component));
  for (const f of files) if (f.partial) log?.warn(`checkpoint ${f.path} was never committed (a crash while writing it): ignored`);
  const committed = new Map<number, CheckpointFile>();
  for (const f of files) if (!f.partial) committed.set(f.generation, f);
  let head: ScannedFile | null = null;
  for (const f of committed.values()) {
    const scanned = scanFile(f, component);
    if (scanned !== 'torn') {
      head = scanned;
      break;
    }
    log?.warn(`checkpoint ${f.path} is torn (no commit trailer; cut short by a crash): ignored in favour of the one before`);
  }
  if (!head) return null;
  const chain = [head];
  for (let file = head; file.header.kind === 'increment'; ) {
    const parent = committed.get(file.header.parent);
    if (!parent) throw new CheckpointCorruptError(file.path, 20, `its parent, generation ${file.header.parent}, is missing`);
    const scanned = scanFile(parent, component);
    if (scanned === 'torn') throw new CheckpointCorruptError(parent.path, 0, 'file inside the chain has no commit trailer');
    chain.unshift(scanned);
    file = scanned;
  }
  const { journalSeq, state, persistentBytes } = head.meta;
  return {
    meta: { journalSeq, state },
    generation: head.header.generation,
    files: chain.map((f) => f.path),
    bytes: chain.reduce((n, f) => n + f.bytes, 0),
    restoreInto: (memory, pages) => {
      restoreChain(chain, memory);
      if (memory.persistentBytesInUse() !== persistentBytes) {
        throw new CheckpointCorruptError(
          head.path,
          0,
          `restored state has ${memory.persistentBytesInUse()} bytes in use, the checkpoint recorded ${persistentBytes}`,
        );
      }
      pages?.sync();
    },
  };
}

/** Checks one file from end to end; 'torn' when it has no commit trailer. */
function scanFile(file: CheckpointFile, component: string): ScannedFile | 'torn' {
  const fd = openSync(file.path, 'r');
  try {
    const size = fstatSync(fd).size;
    // One scratch buffer for the whole file: a fresh one per block spent most of the scan in
    // allocation and page faults.
    let scratch = Buffer.allocUnsafeSlow(1 << 20);
    const read = (offset: number, length: number): Buffer => {
      if (length > scratch.length) scratch = Buffer.allocUnsafeSlow(length);
      return readAt(fd, offset, length, scratch);
    };
    if (size < TRAILER_SIZE) return 'torn';
    const trailer = decodeTrailer(file.path, read(size - TRAILER_SIZE, TRAILER_SIZE), size);
    if (trailer === 'torn') return 'torn';
    const { header, length, crc } = decodeHeader(file.path, read);
    const expect = (ok: boolean, offset: number, what: string): void => {
      if (!ok) throw new CheckpointCorruptError(file.path, offset, what);
    };
    expect(header.component === component, 36, `belongs to component "${header.component}", not "${component}"`);
    expect(
      header.pageSize === PAGE && header.memoryBase === MEMORY_BASE,
      24,
      `page size ${header.pageSize} / memory base ${header.memoryBase} differ from this host's`,
    );
    expect(
      header.generation === file.generation && trailer.generation === file.generation,
      16,
      `generation ${header.generation} does not match its name`,
    );
    expect(
      header.kind === 'base' ? header.parent === 0 : header.parent > 0 && header.parent < header.generation,
      20,
      `impossible parent ${header.parent}`,
    );
    const blocks: ScannedFile['blocks'] = [];
    let crcs = chainCrc(0, crc);
    let pages = 0;
    let meta: ScannedFile['meta'] | null = null;
    for (let at = length; at < trailer.bodyLength; ) {
      expect(meta === null, at, 'data after the meta block');
      expect(at + 8 <= trailer.bodyLength, at, 'block header runs past the body');
      const frame = read(at, 8);
      const [magic, count] = [frame.readUInt32LE(0), frame.readUInt32LE(4)];
      expect(magic === BLOCK_PAGES || magic === BLOCK_META, at, `unknown block type 0x${magic.toString(16)}`);
      const blockSize = magic === BLOCK_PAGES ? pageBlockSize(count, PAGE) : 8 + count + 4;
      expect(at + blockSize <= trailer.bodyLength, at + 4, `block of ${blockSize} bytes runs past the body`);
      const block = read(at, blockSize);
      const blockCrc = crc32(block.subarray(0, blockSize - 4));
      expect(block.readUInt32LE(blockSize - 4) === blockCrc, at, `${magic === BLOCK_PAGES ? 'page' : 'meta'} block CRC mismatch`);
      crcs = chainCrc(crcs, blockCrc);
      if (magic === BLOCK_PAGES) {
        for (let k = 0; k < count; k++) {
          const page = block.readUInt32LE(8 + 4 * k);
          const tracked = page < PAGES && (page < INBOX_OFFSET / PAGE || page >= ARENA_OFFSET / PAGE);
          expect(tracked && (k === 0 || page > block.readUInt32LE(4 + 4 * k)), at + 8 + 4 * k, `impossible page number ${page}`);
        }
        blocks.push({ offset: at, count });
        pages += count;
      } else {
        meta = parseMeta(file.path, at, block.toString('utf8', 8, 8 + count));
      }
      at += blockSize;
    }
    expect(meta !== null, trailer.bodyLength, 'no meta block');
    expect(
      crcs === trailer.crcOfCrcs && blocks.length === trailer.pageBlocks && pages === trailer.pages,
      size - TRAILER_SIZE,
      'trailer does not match the blocks',
    );
    return { path: file.path, header, blocks, meta: meta!, bytes: size };
  } finally {
    closeSync(fd);
  }
}

function parseMeta(path: string, offset: number, text: string): ScannedFile['meta'] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CheckpointCorruptError(path, offset + 8, `meta is not JSON (${(e as Error).message})`);
  }
  const m = value as Partial<ScannedFile['meta']> | null;
  if (!m || typeof m.journalSeq !== 'number' || typeof m.persistentBytes !== 'number') {
    throw new CheckpointCorruptError(path, offset + 8, 'meta lacks journalSeq or persistentBytes');
  }
  return { journalSeq: m.journalSeq, persistentBytes: m.persistentBytes, state: m.state };
}

/** Reads each file's pages straight into memory (runs of consecutive pages in one read), base first. */
function restoreChain(chain: readonly ScannedFile[], memory: PersistentMemory): void {
  if (memory.header().initialised)
    throw new Error(`checkpoint ${chain.at(-1)!.path}: restoreInto needs a memory no module has initialised`);
  const bytes = new Uint8Array(memory.memory.buffer);
  const map = new Uint8Array(memory.memory.buffer, DIRTY_MAP_OFFSET, PAGES);
  for (const file of chain) {
    const fd = openSync(file.path, 'r');
    try {
      for (const { offset, count } of file.blocks) {
        const index = readAt(fd, offset + 8, 4 * count, Buffer.allocUnsafe(4 * count));
        const data = offset + 8 + 4 * count;
        for (let k = 0; k < count; ) {
          const first = index.readUInt32LE(4 * k);
          let run = 1;
          while (k + run < count && index.readUInt32LE(4 * (k + run)) === first + run) run++;
          const got = readSync(fd, bytes, first * PAGE, run * PAGE, data + k * PAGE);
          if (got !== run * PAGE)
            throw new CheckpointCorruptError(file.path, data + k * PAGE, 'file changed while it was restored (short read)');
          map.fill(1, first, first + run);
          k += run;
        }
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** Reads `length` bytes at `offset` into the start of `into`; fewer at the end of the file. */
function readAt(fd: number, offset: number, length: number, into: Buffer): Buffer {
  const out = into.subarray(0, length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, out, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? out : out.subarray(0, got);
}
