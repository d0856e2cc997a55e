/**
 * A virtual clock for unit tests of code with an injectable `now` and scheduler (TimerTable,
 * Probation): time moves only when the test calls `advance`, so due times are exact and nothing
 * waits in real time.
 */
import { type ScheduledHandle, type Scheduler, TimerTable } from '../../host/component/timers.js';

interface Pending extends ScheduledHandle {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

export class VirtualClock implements Scheduler {
  #now = 0;
  #seq = 0;
  readonly #pending = new Set<Pending>();

  /** The current virtual time, in ms; pass `() => clock.now()` as the code's clock. */
  now(): number {
    return this.#now;
  }

  /** How many callbacks are scheduled and not yet run or cleared. */
  get pending(): number {
    return this.#pending.size;
  }

  setTimeout(callback: () => void, delayMs: number): ScheduledHandle {
    const entry: Pending = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, run: callback };
    this.#pending.add(entry);
    return entry;
  }

  clearTimeout(handle: ScheduledHandle): void {
    this.#pending.delete(handle as Pending);
  }

  /**
   * Moves time forward by `ms`, running every callback that falls due on the way, in due-time
   * order, with the clock set to its due time plus `lateMs` (a busy event loop runs callbacks
   * late; that is what a repeating timer must not accumulate as drift).
   */
  advance(ms: number, options: { lateMs?: number } = {}): void {
    const late = options.lateMs ?? 0;
    const until = this.#now + ms;
    for (;;) {
      const next = [...this.#pending].filter((p) => p.at + late <= until).sort((x, y) => x.at - y.at || x.seq - y.seq)[0];
      if (!next) break;
      this.#pending.delete(next);
      this.#now = Math.max(this.#now, next.at + late);
      next.run();
    }
    this.#now = until;
  }
}

/** A TimerTable on a fresh VirtualClock that records each firing as [id, virtual time]. */
export function virtualTimerTable(): { clock: VirtualClock; timers: TimerTable; fired: [number, number][] } {
  const clock = new VirtualClock();
  const fired: [number, number][] = [];
  const timers = new TimerTable(
    (id) => fired.push([id, clock.now()]),
    () => clock.now(),
    clock,
  );
  return { clock, timers, fired };
}
