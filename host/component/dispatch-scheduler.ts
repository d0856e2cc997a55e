/**
 * The engine-wide round-robin between the components that have events queued: each turn runs
 * ONE bounded slice per ready component, then yields to the event loop (setImmediate) while any
 * work remains, so sockets, timers, signals and the control API are served between slices and
 * no component's deep queue starves another's. A component that became ready since the last
 * turn goes before the ones still working through a backlog: it has had no slice yet, and its
 * event (a request that just arrived) then waits for no flooder's slice at all. While components
 * share the engine, each slice is short (`sharedSliceMs`), so a neighbour's next request, or the
 * completion of its journal's sync, waits for at most a short slice; alone, a component gets
 * the long one. While a component with nothing left to run waits only for its journal's sync to
 * release its outputs, the others' slices are shorter still (`syncWaitSliceMs`).
 */

/**
 * How long one component may hold the event loop before the others (and the sockets, timers,
 * signals and the control API) get a turn: at most `sliceEvents` events and about `sliceMs` ms.
 * 256 kv requests take ~0.3 ms, so a healthy component finishes a burst in one slice and pays
 * one setImmediate per 256 events (docs/PERFORMANCE.md); 5 ms keeps a component with slow
 * handlers from adding more than that to anyone else's latency.
 *
 * `sharedSliceMs` replaces `sliceMs` while another component has work or had some within the
 * last SHARED_WINDOW_MS: whatever that component waits for next (its next request, a sync's
 * completion that releases its reply) is handled in the event loop's next poll, which comes
 * after the slice running now. 0.25 ms: a neighbour's extra latency from slices is then about
 * 0.25 ms per turn it needs (a request needs two: its arrival and its sync's completion), at the
 * cost of one turn of the event loop per 0.25 ms for the busy component. Against 0.5 ms, a
 * flooding neighbour's p50 went from ~0.9 to ~0.6 ms and its extra p99 from ~2.9 to ~2.1 ms,
 * for ~10% of the flood's throughput, once a flood allocated little; a healthy component's burst
 * of 256 kv requests (~0.3 ms) takes two slices instead of one, a setImmediate more
 * (docs/SAFETY.md, "Short slices while components share the engine").
 */
export interface DispatchLimits {
  sliceEvents: number;
  sliceMs: number;
  sharedSliceMs: number;
  syncWaitSliceMs: number;
}

/**
 * `syncWaitSliceMs` replaces the slice while another component has outputs held for its journal
 * and no events left to run: its reply is ready and waits only for its sync's completion, which
 * the event loop handles after the slice running when it comes. The sync takes ~0.2 ms on this
 * project's disk, so a 0.25 ms slice about doubles that wait; 0.1 ms costs the busy
 * component a few more turns of the event loop per neighbour's sync, and nothing while no
 * neighbour waits (docs/SAFETY.md, "Shorter slices while a neighbour waits for its sync").
 */
export const DEFAULT_DISPATCH: DispatchLimits = Object.freeze({ sliceEvents: 256, sliceMs: 5, sharedSliceMs: 0.25, syncWaitSliceMs: 0.1 });

/**
 * A component that became ready this recently counts as sharing the engine: requests come in
 * streams, and its outputs wait for its journal's sync (a few ms, tens on a busy disk) after
 * its queue went empty. A second is long enough for both and short enough that a component
 * working alone again soon has its long slices back.
 */
const SHARED_WINDOW_MS = 1000;

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
  /** The lists the running turn took (its carried half runs in a microtask, see #turn). */
  #turnFresh: Sliceable[] = [];
  #turnCarried: Sliceable[] = [];
  readonly #listed = new Set<Sliceable>();
  /** Components whose output gate holds outputs (outputsHeld); those not listed wait only for their sync. */
  readonly #holding = new Set<Sliceable>();
  #scheduled = false;
  /**
   * The last component that became ready and when, and when a different one last did before
   * it: enough to tell, for any component, when another one was last ready (#shared).
   */
  #lastReady: Sliceable | null = null;
  #lastReadyAt = Number.NEGATIVE_INFINITY;
  #otherReadyAt = Number.NEGATIVE_INFINITY;

  constructor(limits: Pick<DispatchLimits, 'sliceEvents' | 'sliceMs'> & Partial<DispatchLimits> = DEFAULT_DISPATCH) {
    // Never longer than the long slice (a configuration that only shortened sliceMs).
    const sharedSliceMs = Math.min(limits.sliceMs, limits.sharedSliceMs ?? DEFAULT_DISPATCH.sharedSliceMs);
    const syncWaitSliceMs = Math.min(sharedSliceMs, limits.syncWaitSliceMs ?? DEFAULT_DISPATCH.syncWaitSliceMs);
    if (!(limits.sliceEvents >= 1) || !(limits.sliceMs > 0) || !(sharedSliceMs > 0) || !(syncWaitSliceMs > 0))
      throw new Error(
        `dispatch: sliceEvents must be >= 1, sliceMs, sharedSliceMs and syncWaitSliceMs > 0 (got ${limits.sliceEvents}, ${limits.sliceMs}, ${sharedSliceMs}, ${syncWaitSliceMs})`,
      );
    this.#limits = { sliceEvents: limits.sliceEvents, sliceMs: limits.sliceMs, sharedSliceMs, syncWaitSliceMs };
  }

  get limits(): Readonly<DispatchLimits> {
    return this.#limits;
  }

  /** `queue` has work: it gets a slice in this turn or the next one (no-op when already listed). */
  ready(queue: Sliceable): void {
    if (this.#listed.has(queue)) return;
    // One clock read per burst (ready() is called when a queue goes from empty to not).
    if (this.#lastReady !== queue) {
      this.#otherReadyAt = this.#lastReadyAt;
      this.#lastReady = queue;
    }
    this.#lastReadyAt = performance.now();
    this.#listed.add(queue);
    this.#fresh.push(queue);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#turn);
    }
  }

  /**
   * `queue`'s component holds outputs for its journal (`held`), or no longer does. While one
   * that has no events to run holds some, every other component's slice is `syncWaitSliceMs`.
   */
  outputsHeld(queue: Sliceable, held: boolean): void {
    if (held) this.#holding.add(queue);
    else this.#holding.delete(queue);
  }

  /**
   * One round: a slice for every component that was ready when it began, the newly ready ones
   * first, each list in order; one that still has work is carried to the next round, after the
   * event loop had its turn. A component that became ready during the round (a bus message) is
   * served in the next one. The carried ones run in a microtask queued after the fresh ones'
   * slices, so the microtasks those slices queued run first: a journal's group commit (its
   * write and the start of its sync) does not wait for a backlog's slice.
   */
  readonly #turn = (): void => {
    this.#turnFresh = this.#fresh;
    this.#turnCarried = this.#carried;
    this.#fresh = this.#spareFresh;
    this.#carried = this.#spareCarried;
    let deferred = false;
    try {
      this.#run(this.#turnFresh);
      if (this.#turnCarried.length > 0) {
        queueMicrotask(this.#runCarried);
        deferred = true;
      }
    } finally {
      if (!deferred) this.#endTurn();
    }
  };

  readonly #runCarried = (): void => {
    try {
      this.#run(this.#turnCarried);
    } finally {
      this.#endTurn();
    }
  };

  #endTurn(): void {
    const fresh = this.#turnFresh;
    const carried = this.#turnCarried;
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

  /** A slice for each queue of `list`, in order; each is taken off `list` once it had its slice. */
  #run(list: Sliceable[]): void {
    const { sliceEvents, sliceMs, sharedSliceMs, syncWaitSliceMs } = this.#limits;
    while (list.length > 0) {
      const queue = list[0]!;
      const now = performance.now();
      const ms = this.#syncWaiter(queue) ? syncWaitSliceMs : this.#shared(queue, now) ? sharedSliceMs : sliceMs;
      const more = queue.runSlice(sliceEvents, now + ms);
      list.shift();
      if (more) this.#carried.push(queue);
      else this.#listed.delete(queue);
    }
  }

  /**
   * Another component waits only for its sync: it holds outputs and has no events to run. (One
   * that still has events, a flooder whose outputs are always held, does not count: two of them
   * would otherwise cut each other's slices for as long as they run.)
   */
  #syncWaiter(queue: Sliceable): boolean {
    for (const other of this.#holding) if (other !== queue && !this.#listed.has(other)) return true;
    return false;
  }

  /** Another component has work now, or became ready within SHARED_WINDOW_MS. */
  #shared(queue: Sliceable, now: number): boolean {
    if (this.#listed.size > 1) return true;
    const other = this.#lastReady === queue ? this.#otherReadyAt : this.#lastReadyAt;
    return now - other < SHARED_WINDOW_MS;
  }
}
