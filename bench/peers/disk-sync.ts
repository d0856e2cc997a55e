/**
 * What one `fdatasync` of a small journal append costs on this disk, with nothing else of the
 * engine around it: the floor under the `fsync` durability setting (docs/DURABILITY.md). Each
 * sample appends `--bytes` (default 100) and syncs, the way the journal writer does it: the
 * `write` synchronous on the main thread, the `fdatasync` on libuv's pool, or the same append
 * as one `write` on a file opened with O_DSYNC (the sync inside the write, also on the pool).
 * The variants alternate sample by sample (ABAB…) in one process over the same seconds, so a
 * disk or machine getting busier touches them alike:
 *   prealloc  append into space already written (zeros 1 MiB ahead, as the writer keeps it)
 *   extend    append past the end of the file (each sync must also commit the new size)
 *   dsync     append into preallocated space with a pool `write` on an O_DSYNC descriptor
 *   serial2   two appends, the second written while the first one's sync runs and synced
 *             once that returned (one sync at a time, as the writer does): the second's wait
 *   overlap2  the same two appends, the second's sync started at once beside the first:
 *             the second's wait (what a second sync in flight would save, or not)
 *
 *   node --import tsx bench/peers/disk-sync.ts [--seconds S] [--bytes B] [--dir DIR]
 *
 * Prints one JSON object: per variant the sample count and p50/p90/p99/mean in µs.
 */
import { closeSync, constants, fdatasync, mkdtempSync, openSync, rmSync, write, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentileSorted, round } from './stats.js';

type Variant = 'prealloc' | 'extend' | 'dsync' | 'serial2' | 'overlap2';
const VARIANTS: readonly Variant[] = ['prealloc', 'extend', 'dsync', 'serial2', 'overlap2'];
const PREALLOCATE = 1 << 20;

const datasync = (fd: number): Promise<void> => new Promise((ok, fail) => fdatasync(fd, (e) => (e ? fail(e) : ok())));
const poolWrite = (fd: number, b: Buffer, at: number): Promise<void> =>
  new Promise((ok, fail) => write(fd, b, 0, b.length, at, (e) => (e ? fail(e) : ok())));

/** One append-only file of a variant: where the next record goes and how far zeros reach. */
interface File {
  fd: number;
  size: number;
  allocated: number;
}

function open(path: string, variant: Variant): File {
  const flags = variant === 'dsync' ? constants.O_RDWR | constants.O_CREAT | constants.O_DSYNC : 'w';
  return { fd: openSync(path, flags), size: 0, allocated: 0 };
}

async function sample(f: File, variant: Variant, record: Buffer, zeros: Buffer): Promise<number> {
  if (variant !== 'extend')
    while (f.allocated < f.size + 2 * record.length) f.allocated += writeSync(f.fd, zeros, 0, zeros.length, f.allocated);
  const t0 = performance.now();
  if (variant === 'dsync') await poolWrite(f.fd, record, f.size);
  else if (variant === 'serial2' || variant === 'overlap2') {
    writeSync(f.fd, record, 0, record.length, f.size);
    const first = datasync(f.fd);
    f.size += record.length;
    const t1 = performance.now();
    writeSync(f.fd, record, 0, record.length, f.size);
    if (variant === 'serial2') await first;
    await datasync(f.fd);
    await first;
    f.size += record.length;
    return (performance.now() - t1) * 1000;
  } else {
    writeSync(f.fd, record, 0, record.length, f.size);
    await datasync(f.fd);
  }
  const us = (performance.now() - t0) * 1000;
  f.size += record.length;
  return us;
}

export async function measureSync(seconds: number, bytes: number, dir: string): Promise<Record<Variant, unknown>> {
  const work = mkdtempSync(join(dir, 'disk-sync-'));
  const zeros = Buffer.alloc(PREALLOCATE);
  const record = Buffer.alloc(bytes, 0x61);
  const files = Object.fromEntries(VARIANTS.map((v) => [v, open(join(work, `${v}.log`), v)])) as Record<Variant, File>;
  const samples: Record<Variant, number[]> = { prealloc: [], extend: [], dsync: [], serial2: [], overlap2: [] };
  try {
    // A first sync of each file (its creation) is not a sample.
    for (const v of VARIANTS) await sample(files[v], v, record, zeros);
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) for (const v of VARIANTS) samples[v].push(await sample(files[v], v, record, zeros));
  } finally {
    for (const v of VARIANTS) closeSync(files[v].fd);
    rmSync(work, { recursive: true, force: true });
  }
  const summary = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const q = (p: number) => round(percentileSorted(s, p), 0);
    return { count: s.length, p50: q(50), p90: q(90), p99: q(99), mean: round(s.reduce((a, b) => a + b, 0) / s.length, 0) };
  };
  return Object.fromEntries(VARIANTS.map((v) => [v, summary(samples[v])])) as Record<Variant, unknown>;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string, dflt: string): string => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
  };
  measureSync(Number(arg('--seconds', '5')), Number(arg('--bytes', '100')), arg('--dir', tmpdir()))
    .then((r) => console.log(JSON.stringify(r)))
    .catch((e: unknown) => {
      console.error(`disk-sync: ${(e as Error).message}`);
      process.exit(1);
    });
}
