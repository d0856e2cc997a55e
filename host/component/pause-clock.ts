/**
 * Finishes a swap's report: how long the component paused, and when it is done. A swap ends
 * for the clients when the first event that waited behind it has been handled (that ends the
 * pause), and for its report when every event that queued during it was dispatched (the drain
 * phase). Then the report is published and the waiting upgrade() resolves.
 */
import type { PreparedModule } from '../modules/prepared.js';
import { type SwapReport, stampReport } from './swap.js';

/** Told when a swap's report is complete; `replaced` is the module a successful swap took out. */
export type SwapPublisher = (report: SwapReport, replaced: PreparedModule | null) => void;

interface Pending {
  readonly report: SwapReport;
  readonly replaced: PreparedModule | null;
  readonly started: number;
  /** Date.now() when the swap started: the report's `at`, formatted when the pause ends. */
  readonly wallMs: number;
  readonly done: (report: SwapReport) => void;
  remaining: number;
}

export class PauseClock {
  readonly #publish: SwapPublisher;
  /** The finished swap waiting for the events that queued during it; null almost always. */
  #pending: Pending | null = null;

  constructor(publish: SwapPublisher) {
    this.#publish = publish;
  }

  /**
   * A swap just ran (started at `started`, performance.now(); `wallMs`, Date.now()). With events
   * waiting and the component running, the clock keeps going until they are handled; otherwise
   * it stops now.
   */
  start(
    report: SwapReport,
    replaced: PreparedModule | null,
    started: number,
    wallMs: number,
    running: boolean,
    done: (r: SwapReport) => void,
  ): void {
    this.#pending = { report, replaced, started, wallMs, done, remaining: report.queued };
    // The pause ends when the first waiting event has been handled (eventHandled), or now.
    if (report.queued === 0 || !running) {
      stampReport(report, wallMs);
      this.#finish();
    }
  }

  /** The dispatcher handled an event (a trap counts: the event is done with). */
  eventHandled(): void {
    const pending = this.#pending;
    if (!pending) return;
    if (pending.remaining === pending.report.queued) {
      // The first event after the swap has now been handled: that ends the pause.
      pending.report.pauseUs = Math.round((performance.now() - pending.started) * 1000);
      // Still synchronous with the swap (the dispatcher runs this event in the upgrade's slice),
      // so nothing can have read the report before its time is set.
      stampReport(pending.report, pending.wallMs);
    }
    pending.remaining--;
    if (pending.remaining <= 0) this.#finish();
  }

  get pending(): boolean {
    return this.#pending !== null;
  }

  #finish(): void {
    const pending = this.#pending!;
    this.#pending = null;
    const report = pending.report;
    report.phasesUs.drain = Math.max(0, Math.round((performance.now() - pending.started) * 1000) - report.pauseUs);
    this.#publish(report, pending.replaced);
    pending.done(report);
  }
}
