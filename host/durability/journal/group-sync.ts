/**
 * The journal writer's syncs in mode `fsync`: `fdatasync` on libuv's pool, at most `maxInFlight`
 * of them at once (one by default), each covering every record written before it started; the
 * next starts from the callback of the one that returned, and `durable(seq)` is told from there
 * too, so the held outputs leave in that same turn. With several, a sync that returns makes its
 * records durable whatever the others do (fdatasync returns once everything written to the
 * file before the call is on the disk, waiting itself for pages another sync is writing), so
 * `durable(seq)` is told the highest covered seq of each returning sync that passed the last one.
 *
 * Why one at a time (docs/DURABILITY.md "What it costs"): a batch written just after a sync
 * started waits for it and then for a whole sync of its own, and a second sync started at once
 * beside the first could spare that; on this project's disk it did not (the second waits for
 * the pages the first is writing: measured interleaved, two in flight were no faster). The
 * limit stays a setting (HOTSWAP_JOURNAL_SYNCS) so that a disk where they overlap can be measured.
 *
 * Segments rolled away (retired) may still hold records no returned sync covered: every sync
 * started after the roll syncs them too, and they are closed only once no sync uses them (a
 * descriptor closed under a queued sync could be reused by another file, and the sync would
 * cover the wrong one).
 */
import { closeSync, fdatasync } from 'node:fs';

/** Syncs of one journal running at once, unless HOTSWAP_JOURNAL_SYNCS says otherwise (for measurements). */
export const SYNCS_IN_FLIGHT = 1;

/** How many syncs' durations are kept for syncStats() (the most recent ones). */
const KEPT_SAMPLES = 8192;

export interface SyncStats {
  syncs: number;
  /** Records covered per returning sync that advanced durability, mean. */
  recordsPerSync: number;
  /** Duration of the kept syncs, µs. */
  us: { p50: number; p90: number; mean: number };
  /** Most syncs seen running at once. */
  maxInFlight: number;
}

export class GroupSync {
  readonly #maxInFlight: number;
  readonly #durable: (seq: number) => void;
  readonly #fail: (e: Error) => void;
  #inFlight = 0;
  #startedSeq: number;
  #durableSeq: number;
  /** Rolled segments a returned sync has not covered yet. */
  #retired: number[] = [];
  /** Descriptors to close once no sync uses them, and how many syncs use each descriptor. */
  readonly #toClose = new Set<number>();
  readonly #users = new Map<number, number>();
  #waiters: (() => void)[] = [];
  /** The newest request that could not start a sync yet (too many running): the next return starts it. */
  #pending: { fd: number; written: number } | null = null;
  // Statistics (syncStats()).
  #syncs = 0;
  #advanced = 0;
  #covered = 0;
  #maxSeen = 0;
  readonly #samples = new Float64Array(KEPT_SAMPLES);

  constructor(options: { durableSeq: number; maxInFlight?: number; durable: (seq: number) => void; fail: (e: Error) => void }) {
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? (Number(process.env.HOTSWAP_JOURNAL_SYNCS) || SYNCS_IN_FLIGHT));
    this.#durable = options.durable;
    this.#fail = options.fail;
    this.#startedSeq = options.durableSeq;
    this.#durableSeq = options.durableSeq;
  }

  get running(): number {
    return this.#inFlight;
  }

  /** `fd`, the segment rolled away, gets no more records: synced by every later sync, then closed. */
  retire(fd: number): void {
    this.#retired.push(fd);
    this.#toClose.add(fd);
  }

  /**
   * Records up to `written` are in `fd` (the open segment) or a retired one: starts a sync that
   * covers them, unless one that does already runs or `maxInFlight` do (then the next sync to
   * return starts one).
   */
  request(fd: number, written: number): void {
    if (written <= this.#startedSeq) return;
    if (this.#inFlight >= this.#maxInFlight) {
      this.#pending = { fd, written };
      return;
    }
    this.#pending = null;
    this.#startedSeq = written;
    const retired = this.#retired.slice();
    const fds = retired.length > 0 ? [...retired, fd] : [fd];
    for (const f of fds) this.#users.set(f, (this.#users.get(f) ?? 0) + 1);
    this.#inFlight++;
    if (this.#inFlight > this.#maxSeen) this.#maxSeen = this.#inFlight;
    const started = performance.now();
    let left = fds.length;
    let error: Error | null = null;
    for (const f of fds)
      fdatasync(f, (e) => {
        if (e) error ??= e;
        if (--left === 0) this.#done(fds, retired, written, started, error);
      });
  }

  #done(fds: number[], retired: number[], covered: number, started: number, error: Error | null): void {
    this.#inFlight--;
    for (const f of fds) {
      const n = this.#users.get(f)! - 1;
      if (n === 0) this.#users.delete(f);
      else this.#users.set(f, n);
    }
    if (error) {
      this.#fail(error);
    } else {
      this.#samples[this.#syncs % KEPT_SAMPLES] = (performance.now() - started) * 1000;
      this.#syncs++;
      if (retired.length > 0) this.#retired = this.#retired.filter((f) => !retired.includes(f));
      if (covered > this.#durableSeq) {
        this.#covered += covered - this.#durableSeq;
        this.#advanced++;
        this.#durableSeq = covered;
        this.#durable(covered);
      }
    }
    this.#closeUnused();
    const pending = this.#pending;
    if (pending && !error) this.request(pending.fd, pending.written);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves at the next sync's return (or at once when none runs). */
  settled(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Closes every retired descriptor (the writer closes; no sync runs any more). */
  closeAll(): void {
    this.#retired = [];
    for (const f of this.#toClose) closeSync(f);
    this.#toClose.clear();
  }

  #closeUnused(): void {
    for (const f of this.#toClose)
      if (!this.#users.has(f) && !this.#retired.includes(f)) {
        closeSync(f);
        this.#toClose.delete(f);
      }
  }

  syncStats(): SyncStats {
    const n = Math.min(this.#syncs, KEPT_SAMPLES);
    const s = Array.from(this.#samples.subarray(0, n)).sort((a, b) => a - b);
    const at = (p: number): number => Math.round(s[Math.min(n - 1, Math.floor(p * n))] ?? 0);
    return {
      syncs: this.#syncs,
      recordsPerSync: this.#advanced > 0 ? Math.round((this.#covered / this.#advanced) * 10) / 10 : 0,
      us: { p50: at(0.5), p90: at(0.9), mean: n > 0 ? Math.round(s.reduce((a, b) => a + b, 0) / n) : 0 },
      maxInFlight: this.#maxSeen,
    };
  }
}
