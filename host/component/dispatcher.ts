/**
 * The dispatch loop: the component's bounded FIFO queue and the live instance it feeds, one
 * event at a time, in order, in slices the engine-wide DispatchScheduler hands out; runs of
 * messages go in batches (MessageBatch) to a module that exports `on_messages`. `#begin` is THE
 * place every event passes before it reaches the module (the EventTap, the journal, the
 * callback's quotas), batched or not. Swaps and traps are handed to the component's SwapRunner
 * and FaultRecovery through DispatchHandlers.
 */
import type { PersistentMemory } from '../abi/memory.js';
import type { Logger } from '../log.js';
import type { PreparedModule } from '../modules/prepared.js';
import { BoundedQueue } from './bounded-queue.js';
import type { DispatchScheduler, Sliceable } from './dispatch-scheduler.js';
import type { ComponentEvent, EventKind, EventTap, MessageEvent, UpgradeEvent } from './events.js';
import type { ModuleInstance } from './instance.js';
import type { ComponentJournal } from './journal-port.js';
import { type BatchSteps, MessageBatch } from './message-batch.js';
import type { ModuleHost } from './module-host.js';
import type { PauseClock } from './pause-clock.js';
import { SliceClock } from './slice-clock.js';

export type ComponentState = 'loading' | 'running' | 'upgrading' | 'failed' | 'stopped';

/** What the dispatcher hands on: the events that are not a call into the running module. */
export interface DispatchHandlers {
  /** An upgrade event's turn has come: run the swap now. */
  swap(event: UpgradeEvent): void;
  /** The module trapped handling `event`. */
  fault(event: ComponentEvent, error: unknown): void;
  /** The queue just went empty. */
  idle(): void;
}

export class Dispatcher implements Sliceable {
  readonly #name: string;
  readonly #queue: BoundedQueue;
  readonly #memory: PersistentMemory;
  readonly #host: ModuleHost;
  readonly #tap: EventTap;
  readonly #journal: ComponentJournal | undefined;
  readonly #pause: PauseClock;
  readonly #log: Logger;
  readonly #handled: Record<EventKind, number> = { message: 0, timer: 0, signal: 0, upgrade: 0 };
  readonly #scheduler: DispatchScheduler;
  #handlers: DispatchHandlers | null = null;
  #instance: ModuleInstance | null = null;
  #module: PreparedModule | null = null;
  #state: ComponentState = 'loading';
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
    this.#name = options.name;
    this.#host = options.host;
    this.#memory = options.host.memory;
    this.#tap = options.tap;
    this.#journal = options.journal;
    this.#pause = options.pause;
    this.#log = options.log;
    this.#scheduler = options.scheduler;
    this.#queue = new BoundedQueue(options.name, options.queueEvents);
    this.#batch = new MessageBatch(this.#memory, this.#batchSteps, this.#clock);
    this.#host.nextMessage = this.#batch.next;
  }

  /** Set once by the component, before the first event (the handlers need the dispatcher). */
  handleWith(handlers: DispatchHandlers): void {
    this.#handlers = handlers;
  }

  get state(): ComponentState {
    return this.#state;
  }
  set state(state: ComponentState) {
    this.#state = state;
  }
  get instance(): ModuleInstance | null {
    return this.#instance;
  }
  /** The module running (or the last one that ran, when the component failed). */
  get module(): PreparedModule | null {
    return this.#module;
  }
  get queueDepth(): number {
    return this.#queue.length;
  }
  get handled(): Readonly<Record<EventKind, number>> {
    return this.#handled;
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
    this.#instance = instance;
    if (instance) this.#module = instance.module;
  }

  /**
   * Adds an event to the FIFO queue and asks the scheduler for a slice. Returns false when the
   * queue is full (the event is refused and counted in `dropped`; the source decides what that
   * means; BoundedQueue.push says which events are never refused) or the component stopped.
   */
  enqueue(event: ComponentEvent): boolean {
    const was = this.#queue.length;
    if (this.#state === 'stopped' || !this.#queue.push(event)) return false;
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
    if (!this.#queue.pushReserved(event, this.#state === 'stopped')) return false;
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
    let more = false;
    try {
      const clock = this.#clock;
      clock.begin(deadline);
      let n = 0;
      let afterUpgrade = false;
      let event: ComponentEvent | undefined;
      while ((event = this.#queue.peek()) !== undefined) {
        if (this.#state === 'failed' && event.kind !== 'upgrade') break;
        if (n >= maxEvents && !afterUpgrade) {
          more = true;
          break;
        }
        if (clock.over(n) && !afterUpgrade) {
          more = true;
          break;
        }
        if (event.kind === 'message' && this.#state === 'running' && this.#instance?.batches) {
          // An upgrade never joins a batch (only messages do): it stays a barrier.
          const k = this.#batch.run(this.#instance, this.#queue, maxEvents - n, n);
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
        this.#dispatch(event);
        n++;
      }
    } finally {
      this.#draining = false;
    }
    if (this.#queue.resumeIfLow()) {
      // A resumed connection queues its waiting lines right away; this queue is still listed
      // with the scheduler (its ready() was a no-op), so they count as work left.
      const next = this.#queue.peek();
      more = next !== undefined && (this.#state !== 'failed' || next.kind === 'upgrade');
    }
    if (!more) this.#handlers!.idle();
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
        if (event === undefined || (this.#state === 'failed' && event.kind !== 'upgrade')) break;
        this.#queue.shift(event);
        this.#dispatch(event);
      }
    } finally {
      this.#draining = false;
    }
    this.#handlers!.idle();
  }

  /** Recovery: dispatches a journaled event again, now (the journal is replaying; the queue is empty). */
  replay(event: ComponentEvent): void {
    this.#dispatch(event);
  }

  /**
   * THE place every event passes before it reaches the module, batched or not: the tap, the
   * journal's record (ended by the caller), and the callback's import quotas, whole again (a
   * swap's TERM + RESTART share one).
   */
  #begin(event: ComponentEvent): void {
    this.#tap.beforeDispatch(this.#name, event);
    this.#journal?.begin(event);
    this.#host.beginEvent();
  }

  /** One event alone: through #begin, then the module (or the swap), the journal's record around it. */
  #dispatch(event: ComponentEvent): void {
    this.#begin(event);
    const journal = this.#journal;
    if (!journal) {
      this.#run(event);
      return;
    }
    try {
      this.#run(event);
    } finally {
      journal.end(event);
    }
  }

  /** A batch's messages, one by one (MessageBatch): each starts and ends as a dispatched one does. */
  readonly #batchSteps: BatchSteps = {
    start: (event: MessageEvent): void => {
      this.#queue.shift(event);
      this.#begin(event);
      this.#host.replyTo = event.replyTo;
    },
    done: (event: MessageEvent): void => {
      this.#host.replyTo = undefined;
      this.#handled.message++;
      this.#pause.eventHandled();
      this.#journal?.end(event);
    },
    trapped: (event: MessageEvent, error: unknown, inProgress: boolean): void => {
      this.#host.replyTo = undefined;
      this.#handlers!.fault(event, error);
      if (!inProgress) return;
      this.#pause.eventHandled();
      this.#journal?.end(event);
    },
  };

  #run(event: ComponentEvent): void {
    if (event.kind === 'upgrade') {
      this.#handlers!.swap(event);
      this.#handled.upgrade++;
      return;
    }
    const instance = this.#instance;
    if (!instance || this.#state !== 'running') {
      this.#log.warn(`dropped ${event.kind} event: component is ${this.#state}`);
      return;
    }
    const host = this.#host;
    try {
      switch (event.kind) {
        case 'message':
          this.#memory.writeInbox(event.channel, event.payload, event.peer, event.iface);
          host.replyTo = event.replyTo;
          instance.onMessage(event.channel, event.payload.byteLength);
          break;
        case 'timer':
          instance.onTimer(event.id);
          break;
        case 'signal':
          instance.onSignal(event.signo);
          break;
      }
      this.#handled[event.kind]++;
    } catch (e) {
      this.#handlers!.fault(event, e);
    } finally {
      host.replyTo = undefined;
    }
    this.#pause.eventHandled();
  }
}
