/**
 * Time and randomness for a module under test: one virtual clock that is both the component's
 * Environment (what hs.now_ms, hs.monotonic_ms and hs.random_fill answer) and the Scheduler its
 * timers wait on, so time moves only when the test says so and a test never waits in real time.
 */
import type { Environment } from '../abi/imports.js';
import type { ScheduledHandle, Scheduler } from '../component/timers.js';

interface Pending extends ScheduledHandle {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

export class VirtualClock implements Environment, Scheduler {
  #now = 0;
  #seq = 0;
  /** xorshift32 state: the same seed gives a module the same "random" bytes in every run. */
  #random: number;
  readonly #epochMs: number;
  readonly #pending = new Set<Pending>();

  /** `epochMs`: the wall-clock time at virtual time 0; `seed`: of the random bytes (non-zero). */
  constructor(options: { epochMs?: number; seed?: number } = {}) {
    this.#epochMs = options.epochMs ?? Date.UTC(2026, 0, 1);
    this.#random = options.seed || 0x9e3779b9;
  }

  /** How many callbacks are scheduled and not yet run or cleared. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Virtual milliseconds since the clock was made. */
  get elapsedMs(): number {
    return this.#now;
  }

  nowMs(): number {
    return this.#epochMs + this.#now;
  }

  monotonicMs(): number {
    return this.#now;
  }

  randomFill(target: Uint8Array): void {
    for (let i = 0; i < target.length; i++) {
      let x = this.#random;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.#random = x >>> 0;
      target[i] = this.#random & 0xff;
    }
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
   * Runs the earliest callback due at or before `until`, with the clock set to its due time
   * plus `lateMs` (a busy event loop runs callbacks late: what a repeating timer must not
   * accumulate as drift); false when none is. TestComponent.advance dispatches what each one
   * queued before the next, so a timer's handler sees the time it was due at.
   */
  runNext(until: number, lateMs = 0): boolean {
    let next: Pending | undefined;
    for (const p of this.#pending) {
      if (p.at + lateMs <= until && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
    }
    if (!next) return false;
    this.#pending.delete(next);
    this.#now = Math.max(this.#now, next.at + lateMs);
    next.run();
    return true;
  }

  /** Sets the clock to `to` (never backwards), once nothing due before it is left. */
  moveTo(to: number): void {
    this.#now = Math.max(this.#now, to);
  }
}
