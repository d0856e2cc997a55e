/**
 * Host-owned timers of one component. They belong to the host, not to a module instance,
 * so they keep running while the module is swapped: a timer due in 16 s before an upgrade is
 * due in about 16 s after it (paper, Table 1). Firing only enqueues an event; the module sees
 * it in FIFO order with everything else.
 */

/** An opaque handle returned by a scheduler; only given back to the same scheduler. */
export interface ScheduledHandle {
  unref?(): unknown;
}

/**
 * Where the table schedules its wake-ups. Node's timers by default; a test passes a virtual
 * clock so due times, repeats and cancellation can be checked without waiting in real time.
 */
export interface Scheduler {
  setTimeout(callback: () => void, delayMs: number): ScheduledHandle;
  clearTimeout(handle: ScheduledHandle): void;
}

/**
 * The table at one moment, for a swap to put back (docs/SAFETY.md, "Timers and rollback"):
 * each timer's id, absolute due time on the table's clock, and repeat.
 */
export interface TimerSnapshot {
  readonly takenAt: number;
  readonly timers: readonly { readonly id: number; readonly due: number; readonly repeatMs: number }[];
}

export const nodeScheduler: Scheduler = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class TimerTable {
  readonly #timers = new Map<number, { due: number; repeatMs: number; handle: ScheduledHandle }>();
  readonly #fire: (id: number) => void;
  readonly #now: () => number;
  readonly #scheduler: Scheduler;

  constructor(fire: (id: number) => void, now: () => number = () => performance.now(), scheduler: Scheduler = nodeScheduler) {
    this.#fire = fire;
    this.#now = now;
    this.#scheduler = scheduler;
  }

  set(id: number, delayMs: number, repeatMs: number): void {
    this.cancel(id);
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const repeat = Number.isFinite(repeatMs) && repeatMs > 0 ? Math.max(repeatMs, 1) : 0;
    this.#put(id, this.#now() + delay, repeat);
  }

  /** True when timer `id` is set. */
  has(id: number): boolean {
    return this.#timers.has(id);
  }

  snapshot(): TimerSnapshot {
    return { takenAt: this.#now(), timers: [...this.#timers].map(([id, t]) => ({ id, due: t.due, repeatMs: t.repeatMs })) };
  }

  /**
   * Exactly the table of `snapshot`: every timer set since is cancelled, every timer of then is
   * back with its due time and repeat. For a swap rolled back by its own transaction, which runs
   * synchronously, so no timer of the snapshot can have fired in between.
   */
  restore(snapshot: TimerSnapshot): void {
    this.clear();
    for (const t of snapshot.timers) this.#put(t.id, t.due, t.repeatMs);
  }

  /**
   * The table of `snapshot` after time went on (a rollback of an upgrade by probation or by an
   * operator, maybe much later): timers not in the snapshot (set by the version being undone)
   * are cancelled; a timer of the snapshot that is still set keeps its current due time and gets
   * its repeat of then back; one that is gone comes back if it repeats (on its old grid, next due
   * time after now) or if it is a one-shot not yet due (a one-shot whose due time passed fired).
   */
  revertTo(snapshot: TimerSnapshot): void {
    const then = new Map(snapshot.timers.map((t) => [t.id, t]));
    for (const id of [...this.#timers.keys()]) if (!then.has(id)) this.cancel(id);
    const now = this.#now();
    for (const t of snapshot.timers) {
      const current = this.#timers.get(t.id);
      if (current) {
        current.repeatMs = t.repeatMs;
      } else if (t.repeatMs > 0) {
        const missed = t.due < now ? Math.ceil((now - t.due) / t.repeatMs) : 0;
        this.#put(t.id, t.due + missed * t.repeatMs, t.repeatMs);
      } else if (t.due >= now) {
        this.#put(t.id, t.due, 0);
      }
    }
  }

  cancel(id: number): boolean {
    const t = this.#timers.get(id);
    if (!t) return false;
    this.#scheduler.clearTimeout(t.handle);
    this.#timers.delete(id);
    return true;
  }

  /** Milliseconds until the timer is due (0 when overdue), or -1 when it is not set. */
  dueIn(id: number): number {
    const t = this.#timers.get(id);
    return t ? Math.max(0, t.due - this.#now()) : -1;
  }

  get size(): number {
    return this.#timers.size;
  }

  list(): { id: number; dueInMs: number; repeatMs: number }[] {
    return [...this.#timers].map(([id, t]) => ({ id, dueInMs: Math.max(0, t.due - this.#now()), repeatMs: t.repeatMs }));
  }

  clear(): void {
    for (const t of this.#timers.values()) this.#scheduler.clearTimeout(t.handle);
    this.#timers.clear();
  }

  /**
   * Recovery: what #expire did to timer `id` when it fired before a crash (a one-shot goes, a
   * repeat moves to its next due time), without firing it: the journal holds its event.
   */
  replayExpiry(id: number): void {
    const t = this.#timers.get(id);
    if (!t) return;
    if (t.repeatMs > 0) t.due += t.repeatMs;
    else this.cancel(id);
  }

  /**
   * Recovery: every timer re-armed at its due time on the clock as it is now. A repeating timer
   * that was due while the engine was down fires once now, then on its old grid.
   */
  resume(): void {
    const now = this.#now();
    for (const [id, t] of this.#timers) {
      this.#scheduler.clearTimeout(t.handle);
      if (t.repeatMs > 0 && t.due < now) t.due += Math.floor((now - t.due) / t.repeatMs) * t.repeatMs;
      t.handle = this.#schedule(id, Math.max(0, t.due - now));
    }
  }

  #put(id: number, due: number, repeatMs: number): void {
    const handle = this.#schedule(id, Math.max(0, due - this.#now()));
    this.#timers.set(id, { due, repeatMs, handle });
  }

  /**
   * Timers never keep the process alive: the component's sources and the engine do. A wait
   * longer than Node's timers can hold is cut to the longest they can, and re-armed when it ends
   * (#expire), because Node fires a setTimeout over 2^31 - 1 ms after 1 ms instead.
   */
  #schedule(id: number, delayMs: number): ScheduledHandle {
    const handle = this.#scheduler.setTimeout(() => this.#expire(id), Math.min(delayMs, LONGEST_WAIT_MS));
    handle.unref?.();
    return handle;
  }

  #expire(id: number): void {
    const t = this.#timers.get(id);
    if (!t) return;
    const left = t.due - this.#now();
    if (left > EARLY_WAKE_MS) {
      t.handle = this.#schedule(id, left); // the end of a cut wait, not the due time
      return;
    }
    if (t.repeatMs > 0) {
      // Schedule from the planned due time, not from now, so a repeating timer does not drift.
      t.due += t.repeatMs;
      t.handle = this.#schedule(id, Math.max(0, t.due - this.#now()));
    } else {
      this.#timers.delete(id);
    }
    this.#fire(id);
  }
}

/** The longest delay Node's setTimeout honours (a signed 32-bit count of milliseconds). */
const LONGEST_WAIT_MS = 2 ** 31 - 1;
/** A timer woken this long before its due time was cut by LONGEST_WAIT_MS; Node never fires that early. */
const EARLY_WAKE_MS = 1000;
