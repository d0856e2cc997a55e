/**
 * A virtual clock for unit tests of code with an injectable `now` and scheduler (TimerTable,
 * Probation): time moves only when the test calls `advance`, so due times are exact and nothing
 * waits in real time. The clock is wasm-hotswap/testing's (host/testing/virtual-clock.ts), with
 * a synchronous `advance` for code that has no dispatcher in between.
 */
import { TimerTable } from '../../host/component/timers.js';
import { VirtualClock as TestingClock } from '../../host/testing/virtual-clock.js';

export class VirtualClock extends TestingClock {
  /** The current virtual time, in ms; pass `() => clock.now()` as the code's clock. */
  now(): number {
    return this.monotonicMs();
  }

  /**
   * Moves time forward by `ms`, running every callback that falls due on the way, in due-time
   * order, with the clock set to its due time plus `lateMs`.
   */
  advance(ms: number, options: { lateMs?: number } = {}): void {
    const until = this.monotonicMs() + ms;
    while (this.runNext(until, options.lateMs ?? 0));
    this.moveTo(until);
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
