// The checkpoint file format: the byte layout of the header, page blocks, meta block and commit
// trailer, how each is encoded and checked. Layout and rationale: docs/CHECKPOINTS.md.
import { crc32 } from 'node:zlib';

/** 8 bytes at offset 0 of every checkpoint file. */
export const FILE_MAGIC = Buffer.from('HSCKPT\r\n', 'latin1');
export const FORMAT_VERSION = 1;
export const BLOCK_PAGES = 0x45474150; // 'PAGE' as little-endian bytes
export const BLOCK_META = 0x4154454d; // 'META'
export const TRAILER_MAGIC = 0x54494d43; // 'CMIT'
export const TRAILER_SIZE = 32;
/** Fixed part of the header, before the component name and the header's CRC. */
const HEADER_FIXED = 36;
const MAX_NAME = 255;

/** A full image (every page in use) or the pages changed since its parent. */
export type CheckpointKind = 'base' | 'increment';
const KIND_CODE: Record<CheckpointKind, number> = { base: 1, increment: 2 };

export interface FileHeader {
  kind: CheckpointKind;
  generation: number;
  /** The file this one applies on top of; 0 for a base. */
  parent: number;
  pageSize: number;
  memoryBase: number;
  component: string;
}

export interface Trailer {
  generation: number;
  /** Bytes before the trailer: header and blocks. */
  bodyLength: number;
  pageBlocks: number;
  pages: number;
  /** CRC32 chained over every block's own CRC, header and meta included. */
  crcOfCrcs: number;
}

/**
 * A checkpoint file is damaged: a block's CRC does not match, a field is impossible, or a file
 * the chain needs is missing. It names the file and the byte offset, and recovery stops there;
 * nothing on disk is changed, so the operator can look.
 */
export class CheckpointCorruptError extends Error {
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, reason: string) {
    super(`checkpoint ${file}: ${reason} at byte offset ${offset}`);
    this.name = 'CheckpointCorruptError';
    this.file = file;
    this.offset = offset;
  }
}

export function encodeHeader(h: FileHeader): Buffer {
  const name = Buffer.from(h.component, 'utf8');
  if (name.length === 0 || name.length > MAX_NAME)
    throw new RangeError(`checkpoint: component name "${h.component}" must be 1–${MAX_NAME} bytes`);
  const out = Buffer.alloc(HEADER_FIXED + name.length + 4);
  FILE_MAGIC.copy(out, 0);
  out.writeUInt32LE(FORMAT_VERSION, 8);
  out.writeUInt32LE(KIND_CODE[h.kind], 12);
  out.writeUInt32LE(h.generation, 16);
  out.writeUInt32LE(h.parent, 20);
  out.writeUInt32LE(h.pageSize, 24);
  out.writeUInt32LE(h.memoryBase, 28);
  out.writeUInt32LE(name.length, 32);
  name.copy(out, HEADER_FIXED);
  out.writeUInt32LE(crc32(out.subarray(0, HEADER_FIXED + name.length)), HEADER_FIXED + name.length);
  return out;
}

/** Decodes a header from the start of a file; `read(offset, length)` returns the file's bytes. */
export function decodeHeader(
  file: string,
  read: (offset: number, length: number) => Buffer,
): { header: FileHeader; length: number; crc: number } {
  const fixed = read(0, HEADER_FIXED);
  if (fixed.length < HEADER_FIXED || !fixed.subarray(0, 8).equals(FILE_MAGIC))
    throw new CheckpointCorruptError(file, 0, 'not a checkpoint file (bad magic)');
  const nameLength = fixed.readUInt32LE(32);
  if (nameLength === 0 || nameLength > MAX_NAME)
    throw new CheckpointCorruptError(file, 32, `impossible component name length ${nameLength}`);
  const all = read(0, HEADER_FIXED + nameLength + 4);
  const crc = crc32(all.subarray(0, HEADER_FIXED + nameLength));
  if (all.length < HEADER_FIXED + nameLength + 4 || all.readUInt32LE(HEADER_FIXED + nameLength) !== crc) {
    throw new CheckpointCorruptError(file, 0, 'header CRC mismatch');
  }
  const version = all.readUInt32LE(8);
  if (version !== FORMAT_VERSION) throw new CheckpointCorruptError(file, 8, `format version ${version}, this host reads ${FORMAT_VERSION}`);
  const code = all.readUInt32LE(12);
  const kind = (Object.keys(KIND_CODE) as CheckpointKind[]).find((k) => KIND_CODE[k] === code);
  if (!kind) throw new CheckpointCorruptError(file, 12, `unknown kind ${code}`);
  return {
    header: {
      kind,
      generation: all.readUInt32LE(16),
      parent: all.readUInt32LE(20),
      pageSize: all.readUInt32LE(24),
      memoryBase: all.readUInt32LE(28),
      component: all.toString('utf8', HEADER_FIXED, HEADER_FIXED + nameLength),
    },
    length: all.length,
    crc,
  };
}

/** Bytes of a page block of `count` pages: magic, count, page numbers, pages, CRC. */
export function pageBlockSize(count: number, pageSize: number): number {
  return 8 + 4 * count + count * pageSize + 4;
}

/**
 * Fills the frame of a page block in `block` (already holding the page bytes after the index)
 * and returns its CRC. The page numbers go in ascending order as given.
 */
export function sealPageBlock(block: Buffer, pages: Uint32Array, pageSize: number): number {
  block.writeUInt32LE(BLOCK_PAGES, 0);
  block.writeUInt32LE(pages.length, 4);
  for (let i = 0; i < pages.length; i++) block.writeUInt32LE(pages[i]!, 8 + 4 * i);
  const end = pageBlockSize(pages.length, pageSize) - 4;
  const crc = crc32(block.subarray(0, end));
  block.writeUInt32LE(crc, end);
  return crc;
}

export function encodeMetaBlock(json: string): { block: Buffer; crc: number } {
  const body = Buffer.from(json, 'utf8');
  const block = Buffer.alloc(8 + body.length + 4);
  block.writeUInt32LE(BLOCK_META, 0);
  block.writeUInt32LE(body.length, 4);
  body.copy(block, 8);
  const crc = crc32(block.subarray(0, 8 + body.length));
  block.writeUInt32LE(crc, 8 + body.length);
  return { block, crc };
}

export function encodeTrailer(t: Trailer): Buffer {
  const out = Buffer.alloc(TRAILER_SIZE);
  out.writeUInt32LE(TRAILER_MAGIC, 0);
  out.writeUInt32LE(t.generation, 4);
  out.writeUInt32LE(t.bodyLength, 8);
  out.writeUInt32LE(t.pageBlocks, 12);
  out.writeUInt32LE(t.pages, 16);
  out.writeUInt32LE(t.crcOfCrcs, 20);
  out.writeUInt32LE(crc32(out.subarray(0, 28)), 28);
  return out;
}

/**
 * Reads the trailer at the end of a file of `fileLength` bytes. 'torn' when the file does not end
 * in a trailer at all (cut short by a crash while it was written); a trailer that is there but
 * does not check out is damage, not a tear.
 */
export function decodeTrailer(file: string, tail: Buffer, fileLength: number): Trailer | 'torn' {
  if (tail.length < TRAILER_SIZE || tail.readUInt32LE(0) !== TRAILER_MAGIC) return 'torn';
  const at = fileLength - TRAILER_SIZE;
  if (tail.readUInt32LE(28) !== crc32(tail.subarray(0, 28))) throw new CheckpointCorruptError(file, at, 'commit trailer CRC mismatch');
  const t: Trailer = {
    generation: tail.readUInt32LE(4),
    bodyLength: tail.readUInt32LE(8),
    pageBlocks: tail.readUInt32LE(12),
    pages: tail.readUInt32LE(16),
    crcOfCrcs: tail.readUInt32LE(20),
  };
  if (t.bodyLength !== at)
    throw new CheckpointCorruptError(file, at + 8, `trailer says the body is ${t.bodyLength} bytes, the file has ${at}`);
  return t;
}

/** Chains one block's CRC into the running CRC of CRCs the trailer carries. */
export function chainCrc(running: number, blockCrc: number): number {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(blockCrc, 0);
  return crc32(b, running);
}
