// Finds a component's newest complete checkpoint, checks its chain's structure, and restores
// the pages into a fresh persistent memory, checking each page block as it is read there.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { ARENA_OFFSET, DIRTY_PAGE_SHIFT, DIRTY_PAGE_SIZE, INBOX_OFFSET, MEMORY_BASE } from '../../abi/abi.js';
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
  pageBlockSize,
  TRAILER_SIZE,
} from './format.js';
import { ChainPageSource, checkBlocks, markRestored, readFully, restoreChain, type ScannedFile } from './restore.js';
import type { CheckpointMeta } from './types.js';

const PAGE = DIRTY_PAGE_SIZE;
const PAGES = MEMORY_BASE >>> DIRTY_PAGE_SHIFT;

/** The newest complete checkpoint of a component: its meta, and the pages to put back. */
export interface LoadedCheckpoint {
  meta: CheckpointMeta;
  generation: number;
  /** The chain's files, base first. */
  files: string[];
  /** Bytes of the chain's files. */
  bytes: number;
  /**
   * Reads the pages into `memory`, which no module may have initialised yet, checking every page
   * block's CRC as it lands (CheckpointCorruptError, file and offset, on a mismatch: the memory
   * is then half restored and must be thrown away). With `pages`, the component's shadow adopts
   * the restored pages lazily (DirtyPageCheckpoint.adoptRestored: they are copied in steps later,
   * read back from these files meanwhile); without, they are marked dirty.
   */
  restoreInto(memory: PersistentMemory, pages?: DirtyPageCheckpoint): void;
  /** Reads every page block now and checks its CRC (CheckpointCorruptError, file and offset). */
  checkPages(): void;
}

/**
 * The newest complete checkpoint of `component` under `dir` (`<dataDir>/durable`), or null when it
 * has none. Every file of the chain is checked here except the bytes of its page blocks: the
 * header, every block's frame and page numbers, the meta block's CRC, and the trailer against
 * the blocks' stored CRCs; damage throws CheckpointCorruptError (file and byte offset). The page
 * blocks' CRCs are checked by `restoreInto` as it reads them into the memory, so each byte is read
 * once (docs/DURABILITY.md "Recovery time"). A newest file that does not end in a commit trailer
 * was cut short by a crash: it is ignored, with a log line, in favour of the one before; so are
 * files that were never committed (`.partial`). Nothing on disk is changed.
 */
export function openCheckpoint(dir: string, component: string, log?: Logger): LoadedCheckpoint | null {
  const chain = openChain(dir, component, log);
  return chain && checkpointOf(chain);
}

/**
 * openCheckpoint, then every page block of the chain read and its CRC checked at once, so a
 * damaged file throws before anything is restored. It reads the chain twice in all (here, then
 * in restoreInto); recovery uses openCheckpoint, which reads it once.
 */
export function loadCheckpoint(dir: string, component: string, log?: Logger): LoadedCheckpoint | null {
  const loaded = openCheckpoint(dir, component, log);
  loaded?.checkPages();
  return loaded;
}

/** The newest complete file's chain, base first, its structure checked; null when there is none. */
function openChain(dir: string, component: string, log?: Logger): ScannedFile[] | null {
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
  for (let file = head; file.kind === 'increment'; ) {
    const parent = committed.get(file.parent);
    if (!parent) throw new CheckpointCorruptError(file.path, 20, `its parent, generation ${file.parent}, is missing`);
    const scanned = scanFile(parent, component);
    if (scanned === 'torn') throw new CheckpointCorruptError(parent.path, 0, 'file inside the chain has no commit trailer');
    chain.unshift(scanned);
    file = scanned;
  }
  return chain;
}

function checkpointOf(chain: ScannedFile[]): LoadedCheckpoint {
  const head = chain.at(-1)!;
  const { journalSeq, state, persistentBytes } = head.meta;
  return {
    meta: { journalSeq, state },
    generation: head.generation,
    files: chain.map((f) => f.path),
    bytes: chain.reduce((n, f) => n + f.bytes, 0),
    restoreInto: (memory, pages) => {
      if (memory.header().initialised) throw new Error(`checkpoint ${head.path}: restoreInto needs a memory no module has initialised`);
      const layout = restoreChain(chain, memory);
      if (memory.persistentBytesInUse() !== persistentBytes) {
        throw new CheckpointCorruptError(
          head.path,
          0,
          `restored state has ${memory.persistentBytesInUse()} bytes in use, the checkpoint recorded ${persistentBytes}`,
        );
      }
      if (pages) pages.adoptRestored(new ChainPageSource(chain, layout), layout.pages);
      else markRestored(memory, layout);
    },
    checkPages: () => {
      for (const file of chain) checkBlocks(file);
    },
  };
}

/**
 * Checks one file's structure from end to end, reading the frames, page numbers and stored CRC
 * of its page blocks (not their pages) and the whole meta block; 'torn' when it has no commit
 * trailer.
 */
function scanFile(file: CheckpointFile, component: string): ScannedFile | 'torn' {
  const fd = openSync(file.path, 'r');
  try {
    const size = fstatSync(fd).size;
    // One scratch buffer for the small reads: a fresh one per block cost allocation each time.
    let scratch = Buffer.allocUnsafeSlow(64 * 1024);
    const read = (offset: number, length: number): Buffer => {
      if (length > scratch.length) scratch = Buffer.allocUnsafeSlow(length);
      return scratch.subarray(0, readFully(fd, scratch, 0, length, offset));
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
      if (magic === BLOCK_PAGES) {
        // Its own copy: the frame and page numbers are checksummed again when the pages are read.
        const head = Buffer.from(read(at, 8 + 4 * count));
        for (let k = 0; k < count; k++) {
          const page = head.readUInt32LE(8 + 4 * k);
          const tracked = page < PAGES && (page < INBOX_OFFSET / PAGE || page >= ARENA_OFFSET / PAGE);
          expect(tracked && (k === 0 || page > head.readUInt32LE(4 + 4 * k)), at + 8 + 4 * k, `impossible page number ${page}`);
        }
        const stored = read(at + blockSize - 4, 4).readUInt32LE(0);
        blocks.push({ offset: at, count, head, crc: stored });
        crcs = chainCrc(crcs, stored);
        pages += count;
      } else {
        const block = read(at, blockSize);
        const blockCrc = crc32(block.subarray(0, blockSize - 4));
        expect(block.readUInt32LE(blockSize - 4) === blockCrc, at, 'meta block CRC mismatch');
        crcs = chainCrc(crcs, blockCrc);
        meta = parseMeta(file.path, at, block.toString('utf8', 8, 8 + count));
      }
      at += blockSize;
    }
    expect(meta !== null, trailer.bodyLength, 'no meta block');
    expect(blocks.length === trailer.pageBlocks && pages === trailer.pages, size - TRAILER_SIZE, 'trailer does not match the blocks');
    return {
      path: file.path,
      generation: header.generation,
      kind: header.kind,
      parent: header.parent,
      blocks,
      meta: meta!,
      bytes: size,
      // Of the stored CRCs: compared once each block's bytes are checked against its own, so
      // that a damaged block is reported where it is, not at the trailer.
      crcsMatchTrailer: crcs === trailer.crcOfCrcs,
      trailerOffset: size - TRAILER_SIZE,
    };
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
