/**
 * Reads a component's journal back at start: every segment in order, every record checked. A
 * record cut short at the very end (a crash in the middle of a write) is the torn tail: it is
 * reported so the caller can drop it. Anything else wrong (a CRC mismatch, a gap in the
 * sequence, damage in an earlier segment) stops recovery with JournalCorruptError, which names
 * the file and the byte offset; nothing is deleted, the operator decides.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodeRecord, type JournalRecord, RecordTexts } from './record.js';

/** Segment files are named by the sequence number of their first record, zero-padded. */
export const SEGMENT_PATTERN = /^(\d{20})\.log$/;
export const segmentName = (firstSeq: number): string => `${String(firstSeq).padStart(20, '0')}.log`;

export class JournalCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`journal ${file} is damaged at byte offset ${offset}: ${reason}; recovery stopped, nothing was deleted`);
    this.name = 'JournalCorruptError';
  }
}

export interface JournalContents {
  records: JournalRecord[];
  /** The last segment's path and how many of its bytes are whole records (null: no segment). */
  last: { file: string; goodBytes: number; size: number } | null;
  /** The torn last record, when there is one: the file and offset where the good data ends. */
  torn: { file: string; offset: number; reason: string } | null;
}

/** The segment files of `dir`, oldest first (an absent directory has none). */
export function listSegments(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.filter((n) => SEGMENT_PATTERN.test(n)).sort();
}

/**
 * Deletes the segments whose records all have seq <= `seq` (a checkpoint covers them): each
 * segment whose successor starts at or below seq + 1. The newest segment always stays.
 */
export function deleteSegmentsThrough(dir: string, seq: number): number {
  const segments = listSegments(dir);
  let deleted = 0;
  for (let i = 0; i + 1 < segments.length; i++) {
    const nextFirst = Number(SEGMENT_PATTERN.exec(segments[i + 1]!)![1]);
    if (nextFirst > seq + 1) break;
    rmSync(join(dir, segments[i]!));
    deleted++;
  }
  return deleted;
}

/** True when every byte of `data` from `at` on is zero (none left counts too). */
function zerosFrom(data: Buffer, at: number): boolean {
  for (let i = at; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}

/** A record at `offset` that fits in `data` and has only zeros after it (preallocated space). */
function zeroTailAfter(data: Buffer, offset: number): boolean {
  const length = data.readUInt32LE(offset);
  return length > 0 && length <= data.length - offset && zerosFrom(data, offset + length);
}

/** Every record of the journal in `dir` with seq > `after` (records at or below are skipped, still checked). */
export function readJournal(dir: string, after = 0): JournalContents {
  const segments = listSegments(dir);
  const records: JournalRecord[] = [];
  let torn: JournalContents['torn'] = null;
  let last: JournalContents['last'] = null;
  let expected = -1;
  const texts = new RecordTexts();
  segments.forEach((name, index) => {
    const file = join(dir, name);
    const data = readFileSync(file);
    const isLast = index === segments.length - 1;
    let offset = 0;
    while (offset < data.length) {
      // Zeros to the end: space the writer preallocated (mode fsync), not yet written.
      if (zerosFrom(data, offset)) break;
      const result = decodeRecord(data, offset, texts);
      if (!result.ok) {
        // Only the end of the newest segment can be torn: a crash cuts the write in progress.
        // A whole record with a bad CRC at the very end (or followed only by preallocated zeros)
        // may be torn too (its pages were not all written before a power cut); one with more
        // data after it is damage.
        const atEnd = result.torn || zeroTailAfter(data, offset);
        if (isLast && atEnd) {
          torn = { file, offset, reason: result.reason };
          break;
        }
        throw new JournalCorruptError(file, offset, result.reason);
      }
      const { record, length } = result;
      // A gap is allowed only up to a checkpoint (`after`): records it covers may be lost.
      if (expected !== -1 && record.seq !== expected && record.seq > after + 1)
        throw new JournalCorruptError(file, offset, `sequence number ${record.seq} where ${expected} was expected`);
      if (expected === -1 && index === 0 && name !== segmentName(record.seq))
        throw new JournalCorruptError(file, offset, `the first record's sequence number ${record.seq} does not match the file name`);
      expected = record.seq + 1;
      if (record.seq > after) records.push(record);
      offset += length;
    }
    if (isLast) last = { file, goodBytes: offset, size: data.length };
  });
  return { records, last, torn };
}
