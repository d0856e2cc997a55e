/**
 * The engine-wide round-robin between the components that have events queued: each turn runs
 * ONE bounded slice per ready component, then yields to the event loop (setImmediate) while any
 * work remains, so sockets, timers, signals and the control API are served between slices and
 * no component's deep queue starves another's. A component that became ready since the last
 * turn goes before the ones still working through a backlog: it has had no slice yet, and its
 * event (a request that just arrived) then waits for no flooder's slice at all.
 */

/**
 * How long one component may hold the event loop before the others (and the sockets, timers,
 * signals and the control API) get a turn: at most `sliceEvents` events and about `sliceMs` ms.
 * 256 kv requests take ~0.3 ms, so a healthy component finishes a burst in one slice and pays
 * one setImmediate per 256 events (docs/PERFORMANCE.md); 5 ms keeps a component with slow
 * handlers from adding more than that to anyone else's latency.
 */
export interface DispatchLimits {
  sliceEvents: number;
  sliceMs: number;
}
export const DEFAULT_DISPATCH: DispatchLimits = Object.freeze({ sliceEvents: 256, sliceMs: 5 });

/** A queue the scheduler can run a slice of (the component's Dispatcher). */
export interface Sliceable {
  /**
   * Dispatches at most `maxEvents` events, stopping once `deadline` (performance.now()) has
   * passed; returns true when runnable work is left for another slice.
   */
  runSlice(maxEvents: number, deadline: number): boolean;
}

export class DispatchScheduler {
  readonly #limits: DispatchLimits;
  /**
   * Components with work, each at most once (see `#listed`): those that became ready since the
   * last turn, then those that still had work after their slice in it. The spare lists are the
   * previous turn's, reused so that a turn allocates nothing.
   */
  #fresh: Sliceable[] = [];
  #carried: Sliceable[] = [];
  #spareFresh: Sliceable[] = [];
  #spareCarried: Sliceable[] = [];
  readonly #listed = new Set<Sliceable>();
  #scheduled = false;

  constructor(limits: DispatchLimits = DEFAULT_DISPATCH) {
    if (!(limits.sliceEvents >= 1) || !(limits.sliceMs > 0))
      throw new Error(`dispatch: sliceEvents must be >= 1 and sliceMs > 0 (got ${limits.sliceEvents}, ${limits.sliceMs})`);
    this.#limits = { sliceEvents: limits.sliceEvents, sliceMs: limits.sliceMs };
  }

  get limits(): Readonly<DispatchLimits> {
    return this.#limits;
  }

  /** `queue` has work: it gets a slice in this turn or the next one (no-op when already listed). */
  ready(queue: Sliceable): void {
    if (this.#listed.has(queue)) return;
    this.#listed.add(queue);
    this.#fresh.push(queue);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#turn);
    }
  }

  /**
   * One round: a slice for every component that was ready when it began, the newly ready ones
   * first, each list in order; one that still has work is carried to the next round, after the
   * event loop had its turn. A component that became ready during the round (a bus message) is
   * served in the next one.
   */
  readonly #turn = (): void => {
    const fresh = this.#fresh;
    const carried = this.#carried;
    this.#fresh = this.#spareFresh;
    this.#carried = this.#spareCarried;
    try {
      this.#run(fresh);
      this.#run(carried);
    } finally {
      // A slice that threw (a handler's bug) must not strand the others: #run left them in
      // their list, and they keep their turn.
      for (const queue of fresh) this.#carried.push(queue);
      for (const queue of carried) this.#carried.push(queue);
      fresh.length = 0;
      carried.length = 0;
      this.#spareFresh = fresh;
      this.#spareCarried = carried;
      if (this.#fresh.length > 0 || this.#carried.length > 0) setImmediate(this.#turn);
      else this.#scheduled = false;
    }
  };

  /** A slice for each queue of `list`, in order; each is taken off `list` once it had its slice. */
  #run(list: Sliceable[]): void {
    const { sliceEvents, sliceMs } = this.#limits;
    while (list.length > 0) {
      const queue = list[0]!;
      const more = queue.runSlice(sliceEvents, performance.now() + sliceMs);
      list.shift();
      if (more) this.#carried.push(queue);
      else this.#listed.delete(queue);
    }
  }
}
