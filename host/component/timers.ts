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

const nodeScheduler: Scheduler = {
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
    const handle = this.#schedule(id, delay);
    this.#timers.set(id, { due: this.#now() + delay, repeatMs: repeat, handle });
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

  /** Timers never keep the process alive: the component's sources and the engine do. */
  #schedule(id: number, delayMs: number): ScheduledHandle {
    const handle = this.#scheduler.setTimeout(() => this.#expire(id), delayMs);
    handle.unref?.();
    return handle;
  }

  #expire(id: number): void {
    const t = this.#timers.get(id);
    if (!t) return;
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
