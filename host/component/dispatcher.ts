/**
 * The dispatch loop: the component's bounded FIFO queue and the live instance it feeds, one
 * event at a time, in order, in slices the engine-wide DispatchScheduler hands out; runs of
 * messages go in batches (MessageBatch) to a module that exports `on_messages`. What running
 * one event means (THE place every event passes before the module: the EventTap, the journal,
 * the callback's quotas, batched or not) is the EventRunner's; swaps and traps are handed to
 * the component's SwapRunner and FaultRecovery through DispatchHandlers.
 */
import type { Logger } from '../log.js';
import type { PreparedModule } from '../modules/prepared.js';
import { BoundedQueue } from './bounded-queue.js';
import type { DispatchScheduler, Sliceable } from './dispatch-scheduler.js';
import { type ComponentState, type DispatchHandlers, EventRunner } from './event-runner.js';
import type { ComponentEvent, EventKind, EventTap, UpgradeEvent } from './events.js';
import type { ModuleInstance } from './instance.js';
import type { ComponentJournal } from './journal-port.js';
import { MessageBatch } from './message-batch.js';
import type { ModuleHost } from './module-host.js';
import type { PauseClock } from './pause-clock.js';
import { SliceClock } from './slice-clock.js';

export type { ComponentState, DispatchHandlers } from './event-runner.js';

export class Dispatcher implements Sliceable {
  readonly #queue: BoundedQueue;
  readonly #runner: EventRunner;
  readonly #scheduler: DispatchScheduler;
  #draining = false;
  #batches = 0;
  readonly #clock = new SliceClock();
  readonly #batch: MessageBatch;

  constructor(options: {
    name: string;
    host: ModuleHost;
    tap: EventTap;
    journal?: ComponentJournal | undefined;
    pause: PauseClock;
    log: Logger;
    scheduler: DispatchScheduler;
    queueEvents: number;
  }) {
    this.#scheduler = options.scheduler;
    this.#queue = new BoundedQueue(options.name, options.queueEvents);
    this.#runner = new EventRunner({ ...options, queue: this.#queue });
    this.#batch = new MessageBatch(options.host.memory, this.#runner.batchSteps, this.#clock);
    options.host.nextMessage = this.#batch.next;
  }

  /** Set once by the component, before the first event (the handlers need the dispatcher). */
  handleWith(handlers: DispatchHandlers): void {
    this.#runner.handlers = handlers;
  }

  get state(): ComponentState {
    return this.#runner.state;
  }
  set state(state: ComponentState) {
    this.#runner.state = state;
  }
  get instance(): ModuleInstance | null {
    return this.#runner.instance;
  }
  /** The module running (or the last one that ran, when the component failed). */
  get module(): PreparedModule | null {
    return this.#runner.module;
  }
  get queueDepth(): number {
    return this.#queue.length;
  }
  get handled(): Readonly<Record<EventKind, number>> {
    return this.#runner.handled;
  }
  /** Calls of a module's on_messages so far (each a batch of two or more messages). */
  get batches(): number {
    return this.#batches;
  }
  /** Events refused because the queue was full (UDP datagrams, bus messages, signals). */
  get dropped(): number {
    return this.#queue.dropped;
  }
  /** At or above half the bound: a TCP connection stops reading until `whenBelowLowWater`. */
  get aboveHighWater(): boolean {
    return this.#queue.aboveHighWater;
  }

  /** Calls `resume` once the depth is down to a quarter of the bound (now, if it already is). */
  whenBelowLowWater(resume: () => void): void {
    this.#queue.whenBelowLowWater(resume);
  }

  /** Makes `instance` the one events go to (null: none, e.g. during a swap or after a trap). */
  bind(instance: ModuleInstance | null): void {
    this.#runner.instance = instance;
    if (instance) this.#runner.module = instance.module;
  }

  /**
   * Adds an event to the FIFO queue and asks the scheduler for a slice. Returns false when the
   * queue is full (the event is refused and counted in `dropped`; the source decides what that
   * means; BoundedQueue.push says which events are never refused) or the component stopped.
   */
  enqueue(event: ComponentEvent): boolean {
    const was = this.#queue.length;
    if (this.#runner.state === 'stopped' || !this.#queue.push(event)) return false;
    // Only an empty queue can be off the scheduler's list with runnable work coming (a failed
    // one waits for enqueueFirst's upgrade), so a burst costs one ready() call, not one each
    // (and a timer coalesced into its waiting event none).
    if (was === 0 && this.#queue.length === 1 && !this.#draining) this.#scheduler.ready(this);
    return true;
  }

  /**
   * Takes a place in the bus share for a message not queued yet (held by its sender's output
   * gate until the sender's journal record is durable): false, and counted as dropped, when the
   * share is full, so the sender learns it at once rather than after the hold.
   */
  reserveBus(): boolean {
    return this.#queue.reserveBus();
  }

  /** Queues a bus message whose place reserveBus() took; a refusal gives the place back. */
  enqueueReserved(event: ComponentEvent): boolean {
    if (!this.#queue.pushReserved(event, this.#runner.state === 'stopped')) return false;
    if (this.#queue.length === 1 && !this.#draining) this.#scheduler.ready(this);
    return true;
  }

  /** Puts an event at the front: a failed component's recovery, or an automatic rollback. */
  enqueueFirst(event: UpgradeEvent): void {
    this.#queue.unshift(event);
    if (!this.#draining) this.#scheduler.ready(this);
  }

  /**
   * One slice (DispatchScheduler): queued events, one at a time, in order, until the queue is
   * empty, `maxEvents` were dispatched or `deadline` passed. The clock is read after the first
   * event and then at an interval fitted to the events' pace (at most CLOCK_EVERY events), so
   * cheap events cost no clock read each and one slow event still ends the slice. The event
   * after an upgrade always runs in the upgrade's slice: it ends the swap's pause (PauseClock),
   * which must not include a yield to the event loop. A failed component (no instance could be
   * restarted) keeps its events queued for the version that recovers it, rather than dropping
   * them, and gives up its turn. Returns true when runnable work is left.
   */
  runSlice(maxEvents: number, deadline: number): boolean {
    if (this.#draining) return false; // stop() is draining: it finishes the queue itself
    this.#draining = true;
    const runner = this.#runner;
    let more = false;
    try {
      const clock = this.#clock;
      clock.begin(deadline);
      let n = 0;
      let afterUpgrade = false;
      let event: ComponentEvent | undefined;
      while ((event = this.#queue.peek()) !== undefined) {
        if (runner.state === 'failed' && event.kind !== 'upgrade') break;
        if (n >= maxEvents && !afterUpgrade) {
          more = true;
          break;
        }
        if (clock.over(n) && !afterUpgrade) {
          more = true;
          break;
        }
        if (event.kind === 'message' && runner.state === 'running' && runner.instance?.batches) {
          // An upgrade never joins a batch (only messages do): it stays a barrier.
          const k = this.#batch.run(runner.instance, this.#queue, maxEvents - n, n);
          if (k > 0) {
            this.#batches++;
            n += k;
            afterUpgrade = false;
            if (this.#batch.timedOut) {
              more = true;
              break;
            }
            continue;
          }
        }
        this.#queue.shift(event);
        afterUpgrade = event.kind === 'upgrade';
        runner.dispatch(event);
        n++;
      }
    } finally {
      this.#draining = false;
    }
    if (this.#queue.resumeIfLow()) {
      // A resumed connection queues its waiting lines right away; this queue is still listed
      // with the scheduler (its ready() was a no-op), so they count as work left.
      const next = this.#queue.peek();
      more = next !== undefined && (this.#runner.state !== 'failed' || next.kind === 'upgrade');
    }
    if (!more) this.#runner.handlers!.idle();
    return more;
  }

  /**
   * Dispatches what is queued now, at once (the engine is stopping): no slices, and not the
   * events queued meanwhile, so a module that keeps queueing events for itself cannot keep
   * the engine from stopping.
   */
  drain(): void {
    const queued = this.#queue.length;
    this.#draining = true;
    try {
      for (let n = 0; n < queued; n++) {
        const event = this.#queue.peek();
        if (event === undefined || (this.#runner.state === 'failed' && event.kind !== 'upgrade')) break;
        this.#queue.shift(event);
        this.#runner.dispatch(event);
      }
    } finally {
      this.#draining = false;
    }
    this.#runner.handlers!.idle();
  }

  /** Recovery: dispatches a journaled event again, now (the journal is replaying; the queue is empty). */
  replay(event: ComponentEvent): void {
    this.#runner.dispatch(event);
  }
}
