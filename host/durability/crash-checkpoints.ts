/**
 * When a journaled component takes a crash checkpoint (host/durability/checkpoint/), and what
 * follows: the journal segments behind it are deleted. A checkpoint is requested from a timer
 * (never inside an event, so memory is exactly the state after the last record appended) once
 * enough records or time went by; recovery then replays only the records after it.
 */

import type { DirtyPageCheckpoint } from '../abi/checkpoint.js';
import type { PersistentMemory } from '../abi/memory.js';
import type { TimerSnapshot } from '../component/timers.js';
import type { Logger } from '../log.js';
import { CheckpointWriter } from './checkpoint/index.js';

/** What a checkpoint holds besides the pages (CheckpointMeta.state): what recovery puts back. */
export interface CheckpointState {
  module: { sha256: string; version: string } | null;
  timers: TimerSnapshot;
  /** Timers that expired with their event not yet handled: queued again after recovery. */
  unhandledTimers: number[];
  /** The configuration last journaled (a config record behind the checkpoint is deleted with it). */
  config: string | null;
}

/**
 * A checkpoint after this many records, or after `HOTSWAP_CHECKPOINT_MS` (default 10 s) with at
 * least one: recovery then replays at most about that much. Checked every CHECK_MS (or the
 * interval, when it is shorter).
 */
const RECORDS_PER_CHECKPOINT = 100_000;
const DEFAULT_CHECKPOINT_MS = 10_000;
const CHECK_MS = 1000;

export class CrashCheckpoints {
  readonly #writer: CheckpointWriter;
  readonly #log: Logger;
  readonly #lastSeq: () => number;
  readonly #state: () => CheckpointState;
  readonly #truncate: (seq: number) => void;
  readonly #timer: NodeJS.Timeout;
  readonly #everyMs: number;
  #checkpointSeq: number;
  #checkpointAt = performance.now();
  /** A checkpoint is being taken (its presync may span several turns of the event loop). */
  #busy = false;

  constructor(options: {
    dir: string;
    component: string;
    memory: PersistentMemory;
    pages: DirtyPageCheckpoint;
    fsync: boolean;
    log: Logger;
    fromSeq: number;
    lastSeq: () => number;
    state: () => CheckpointState;
    /** The checkpoint at `seq` is durable: the journal before it may go. */
    truncate: (seq: number) => void;
  }) {
    const { dir, component, memory, pages, fsync, log } = options;
    this.#writer = new CheckpointWriter({ dir, component, memory, pages, fsync, log });
    this.#log = log;
    this.#lastSeq = options.lastSeq;
    this.#state = options.state;
    this.#truncate = options.truncate;
    this.#checkpointSeq = options.fromSeq;
    const configured = Number(process.env.HOTSWAP_CHECKPOINT_MS);
    this.#everyMs = Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_CHECKPOINT_MS;
    this.#timer = setInterval(() => this.#maybe(), Math.min(CHECK_MS, this.#everyMs));
    this.#timer.unref();
  }

  #maybe(): void {
    const seq = this.#lastSeq();
    const behind = seq - this.#checkpointSeq;
    if (behind <= 0 || this.#busy) return;
    if (behind < RECORDS_PER_CHECKPOINT && performance.now() - this.#checkpointAt < this.#everyMs) return;
    this.#checkpointAt = performance.now();
    this.#busy = true;
    // The shadow caught up in bounded steps first (docs/CHECKPOINTS.md), so the sync inside
    // request() stays short; the seq and state are taken after it, between two events still.
    this.#writer
      .presync()
      .then(() => {
        const at = this.#lastSeq();
        return this.#writer.request({ journalSeq: at, state: this.#state() });
      })
      .then(
        (r) => {
          if (r.journalSeq <= this.#checkpointSeq) return;
          this.#checkpointSeq = r.journalSeq;
          this.#log.debug(`checkpoint at record ${r.journalSeq}: ${r.pages} pages, ${r.bytes} bytes, pause ${r.pauseMs.toFixed(2)} ms`);
          this.#truncate(r.journalSeq);
        },
        (e: Error) => this.#log.error(`checkpoint failed (the journal is kept whole): ${e.message}`),
      )
      .finally(() => {
        this.#busy = false;
      });
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#writer.close();
  }
}
