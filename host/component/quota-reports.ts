/**
 * Turns a component's quota hits into history records without letting a flood fill the
 * database: at most one record per resource per `intervalMs`, carrying the hits since the last
 * one. Asked after every per-second window; a delta held back by the interval is flushed by one
 * unref'd timer, so the last hits of a flood that stopped are recorded too.
 */
import type { QuotaHits, QuotaResource } from './quotas.js';
import type { ScheduledHandle, Scheduler } from './timers.js';

/** One history record of quota hits (history kind `quota`). */
export interface QuotaRecord {
  at: string;
  component: string;
  module: string | null;
  version: string | null;
  resource: QuotaResource;
  /** Hits since the previous record of this resource. */
  hits: number;
  /** Hits of this resource since the component started. */
  total: number;
  /** Over how many ms `hits` accumulated (since the previous record, or the first hit). */
  periodMs: number;
}

/** Records at most one entry per component and resource per minute (docs/SAFETY.md). */
export const QUOTA_RECORD_INTERVAL_MS = 60_000;

export class QuotaReports {
  readonly #component: string;
  readonly #hits: QuotaHits;
  readonly #running: () => { module: string | null; version: string | null };
  readonly #record: (record: QuotaRecord) => void;
  readonly #now: () => number;
  readonly #scheduler: Scheduler;
  readonly #intervalMs: number;
  readonly #reported = new Map<QuotaResource, { total: number; at: number }>();
  #flush: ScheduledHandle | null = null;

  constructor(options: {
    component: string;
    hits: QuotaHits;
    running: () => { module: string | null; version: string | null };
    record: (record: QuotaRecord) => void;
    now: () => number;
    scheduler: Scheduler;
    intervalMs?: number;
  }) {
    this.#component = options.component;
    this.#hits = options.hits;
    this.#running = options.running;
    this.#record = options.record;
    this.#now = options.now;
    this.#scheduler = options.scheduler;
    this.#intervalMs = options.intervalMs ?? QUOTA_RECORD_INTERVAL_MS;
  }

  /** Records what is due; holds back the rest and arms one flush for the earliest of them. */
  report(): void {
    const now = this.#now();
    let nextDue = Number.POSITIVE_INFINITY;
    for (const [resource, total] of Object.entries(this.#hits.toJSON()) as [QuotaResource, number][]) {
      const last = this.#reported.get(resource);
      if (last && last.total === total) continue;
      if (last && now - last.at < this.#intervalMs) {
        nextDue = Math.min(nextDue, last.at + this.#intervalMs);
        continue;
      }
      const running = this.#running();
      this.#record({
        at: new Date().toISOString(),
        component: this.#component,
        ...running,
        resource,
        hits: total - (last?.total ?? 0),
        total,
        periodMs: last ? Math.round(now - last.at) : 0,
      });
      this.#reported.set(resource, { total, at: now });
    }
    if (nextDue !== Number.POSITIVE_INFINITY && this.#flush === null) {
      this.#flush = this.#scheduler.setTimeout(
        () => {
          this.#flush = null;
          this.report();
        },
        Math.max(0, nextDue - now),
      );
      this.#flush.unref?.();
    }
  }

  stop(): void {
    if (this.#flush !== null) this.#scheduler.clearTimeout(this.#flush);
    this.#flush = null;
  }
}
