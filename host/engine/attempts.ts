/**
 * The one place the engine records what happened to its components: every swap (upgrade,
 * rollback, failed attempt), every fault, every attempt refused before a swap, and quota hits
 * (already rate-limited by the component). Each goes to the history (EngineOptions.history)
 * first, then to the listeners (metrics, tests).
 */
import type { FaultRecord, QuotaRecord } from '../component/component.js';
import type { SwapReport } from '../component/swap.js';
import type { Logger } from '../log.js';
import { ModuleRejected } from '../modules/errors.js';
import { BlobDamaged, NotFound } from '../repository/repository.js';

/**
 * Where the engine writes its attempts, and reads the rollback rule's fallback from.
 * host/repository/history.ts's UpgradeHistory is one.
 */
export interface UpgradeLog {
  recordSwap(report: SwapReport): unknown;
  recordFault(fault: FaultRecord): unknown;
  recordRejected(component: string, kind: 'upgrade' | 'rollback', from: string | null, to: string | null, cause: string): unknown;
  /** Quota hits of one resource (absent: not recorded). */
  recordQuota?(record: QuotaRecord): unknown;
  /** The version `current` replaced in the newest successful swap to it, or null. */
  previousVersion(component: string, current: string): string | null;
}

/** An upgrade or rollback refused before any swap (unknown version, failed checks, damaged blob, bad signature). */
export interface Rejection {
  component: string;
  kind: 'upgrade' | 'rollback';
  from: string | null;
  to: string | null;
  cause: string;
}

export class Attempts {
  readonly #history: UpgradeLog | undefined;
  readonly #log: Logger;
  readonly #swaps: ((report: SwapReport) => void)[] = [];
  readonly #faults: ((fault: FaultRecord) => void)[] = [];
  readonly #rejections: ((rejection: Rejection) => void)[] = [];
  readonly #quotas: ((record: QuotaRecord) => void)[] = [];

  constructor(history: UpgradeLog | undefined, log: Logger) {
    this.#history = history;
    this.#log = log;
  }

  onSwap(listener: (report: SwapReport) => void): void {
    this.#swaps.push(listener);
  }
  onFault(listener: (fault: FaultRecord) => void): void {
    this.#faults.push(listener);
  }
  onRejected(listener: (rejection: Rejection) => void): void {
    this.#rejections.push(listener);
  }

  onQuota(listener: (record: QuotaRecord) => void): void {
    this.#quotas.push(listener);
  }

  quota(record: QuotaRecord): void {
    this.#write('quota hits', (h) => h.recordQuota?.(record));
    for (const l of this.#quotas) l(record);
  }

  swap(report: SwapReport): void {
    this.#write('a swap', (h) => h.recordSwap(report));
    for (const l of this.#swaps) l(report);
  }

  fault(fault: FaultRecord): void {
    this.#write('a fault', (h) => h.recordFault(fault));
    for (const l of this.#faults) l(fault);
  }

  rejected(rejection: Rejection): void {
    const r = rejection;
    this.#write('a rejection', (h) => h.recordRejected(r.component, r.kind, r.from, r.to, r.cause));
    for (const l of this.#rejections) l(rejection);
  }

  /**
   * Swaps and faults are recorded inside the component's dispatcher: a failing write (disk full)
   * is logged, never thrown into the dispatch loop.
   */
  #write(what: string, write: (history: UpgradeLog) => unknown): void {
    if (!this.#history) return;
    try {
      write(this.#history);
    } catch (e) {
      this.#log.error(`could not record ${what} in the history: ${(e as Error).message}`);
    }
  }
}

/** Refusals before any swap: recorded as 'rejected' (an UpgradeInProgress is not one). */
export function isRefusal(e: unknown): e is Error {
  return e instanceof NotFound || e instanceof ModuleRejected || e instanceof BlobDamaged;
}
