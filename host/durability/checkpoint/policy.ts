// When a component takes a crash checkpoint, and what happens to its journal behind it: after so
// many records or so much time, between two events, then the journal is cut at the checkpoint.
import type { Logger } from '../../log.js';
import type { CheckpointMeta, CheckpointResult, CheckpointWriter } from './writer.js';

export interface CheckpointPolicyOptions {
  writer: Pick<CheckpointWriter, 'presync' | 'request'>;
  /** The meta of the component's state right now; called between two events, just before `request()`. */
  meta(): CheckpointMeta;
  /** Every record with seq <= journalSeq is in a durable checkpoint: the journal may drop them. */
  truncate(journalSeq: number): Promise<void> | void;
  /** Checkpoint once this many records were appended since the last checkpoint. */
  everyRecords?: number;
  /** ... or once this long passed with at least one record appended. */
  everyMs?: number;
  log?: Logger;
}

/**
 * Recovery replays the journal after the newest checkpoint, so the gap between checkpoints is
 * what recovery time is made of: 100,000 records by default, the number recovery is budgeted for
 * (docs/CHECKPOINTS.md, "Measurements"), or a minute of a quiet component's records.
 */
export const DEFAULT_EVERY_RECORDS = 100_000;
export const DEFAULT_EVERY_MS = 60_000;

/**
 * Decides when a component checkpoints. The journal calls `recorded(seq)` after it appends a
 * record (cheap: a comparison); when enough records have accumulated, or on the timer, a
 * checkpoint runs on a later turn of the event loop, never inside an event: `presync()`, then
 * `request(meta())` with the meta of that moment, then `truncate(journalSeq)` once the file is
 * durable. One at a time; a failure is logged and retried at the next trigger, and the journal is
 * left whole.
 */
export class CheckpointPolicy {
  readonly #opts: CheckpointPolicyOptions;
  readonly #everyRecords: number;
  readonly #timer: NodeJS.Timeout;
  #lastSeq = 0;
  #checkpointedSeq = 0;
  #running: Promise<CheckpointResult | null> | null = null;
  #scheduled = false;
  #stopped = false;

  constructor(opts: CheckpointPolicyOptions & { startSeq?: number }) {
    this.#opts = opts;
    this.#everyRecords = opts.everyRecords ?? DEFAULT_EVERY_RECORDS;
    this.#lastSeq = this.#checkpointedSeq = opts.startSeq ?? 0;
    this.#timer = setInterval(() => {
      if (this.#lastSeq > this.#checkpointedSeq) this.#schedule();
    }, opts.everyMs ?? DEFAULT_EVERY_MS);
    this.#timer.unref();
  }

  /** The journal appended the record `seq`. */
  recorded(seq: number): void {
    this.#lastSeq = seq;
    if (seq - this.#checkpointedSeq >= this.#everyRecords) this.#schedule();
  }

  /** Records appended since the last durable checkpoint: what a crash now would replay. */
  get pendingRecords(): number {
    return this.#lastSeq - this.#checkpointedSeq;
  }

  /** A checkpoint now (or the one running), e.g. before a planned shutdown; null when stopped. */
  checkpointNow(): Promise<CheckpointResult | null> {
    this.#running ??= this.#run().finally(() => {
      this.#running = null;
      // Records kept coming while it ran: the next one may be due already.
      if (this.#lastSeq - this.#checkpointedSeq >= this.#everyRecords) this.#schedule();
    });
    return this.#running;
  }

  /** No more checkpoints; waits for the one running. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }

  #schedule(): void {
    if (this.#scheduled || this.#running || this.#stopped) return;
    this.#scheduled = true;
    // Never from inside the caller's event: the request must see memory between two events.
    setImmediate(() => {
      this.#scheduled = false;
      void this.checkpointNow();
    });
  }

  async #run(): Promise<CheckpointResult | null> {
    try {
      if (this.#stopped) return null;
      await this.#opts.writer.presync();
      const result = await this.#opts.writer.request(this.#opts.meta());
      await this.#opts.truncate(result.journalSeq);
      this.#checkpointedSeq = Math.max(this.#checkpointedSeq, result.journalSeq);
      return result;
    } catch (e) {
      this.#opts.log?.warn(`checkpoint failed, the journal is kept whole: ${(e as Error).message}`);
      return null;
    }
  }
}
