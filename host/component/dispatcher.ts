/**
 * The dispatch loop: the component's FIFO queue and the live instance it feeds, one event at a
 * time, in order. `#dispatch` is THE place every event passes before it reaches the module (the
 * EventTap: where a journal records it); batched dispatch belongs in `#drain`. Swaps and traps
 * are handed to the component's SwapRunner and FaultRecovery through DispatchHandlers.
 */
import type { PersistentMemory } from '../abi/memory.js';
import type { Logger } from '../log.js';
import type { PreparedModule } from '../modules/prepared.js';
import { EventQueue } from './event-queue.js';
import type { ComponentEvent, EventKind, EventTap, UpgradeEvent } from './events.js';
import type { ModuleInstance } from './instance.js';
import type { ModuleHost } from './module-host.js';
import type { PauseClock } from './pause-clock.js';

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

export class Dispatcher {
  readonly #name: string;
  readonly #queue = new EventQueue<ComponentEvent>();
  readonly #memory: PersistentMemory;
  readonly #host: ModuleHost;
  readonly #tap: EventTap;
  readonly #pause: PauseClock;
  readonly #log: Logger;
  readonly #handled: Record<EventKind, number> = { message: 0, timer: 0, signal: 0, upgrade: 0 };
  #handlers: DispatchHandlers | null = null;
  #instance: ModuleInstance | null = null;
  #module: PreparedModule | null = null;
  #state: ComponentState = 'loading';
  #draining = false;
  #scheduled = false;

  constructor(options: { name: string; host: ModuleHost; tap: EventTap; pause: PauseClock; log: Logger }) {
    this.#name = options.name;
    this.#host = options.host;
    this.#memory = options.host.memory;
    this.#tap = options.tap;
    this.#pause = options.pause;
    this.#log = options.log;
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

  /** Makes `instance` the one events go to (null: none, e.g. during a swap or after a trap). */
  bind(instance: ModuleInstance | null): void {
    this.#instance = instance;
    if (instance) this.#module = instance.module;
  }

  /** Adds an event to the FIFO queue; the dispatcher runs on the next turn of the event loop. */
  enqueue(event: ComponentEvent): void {
    if (this.#state === 'stopped') return;
    this.#queue.push(event);
    this.#schedule();
  }

  /** Puts an event at the front: a failed component's recovery, or an automatic rollback. */
  enqueueFirst(event: ComponentEvent): void {
    this.#queue.unshift(event);
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#scheduled && !this.#draining) {
      this.#scheduled = true;
      setImmediate(this.drain);
    }
  }

  /**
   * Dispatches queued events, one at a time, in order, until the queue is empty. A failed
   * component (no instance could be restarted) keeps its events queued for the version that
   * recovers it, rather than dropping them.
   */
  readonly drain = (): void => {
    this.#scheduled = false;
    if (this.#draining) return;
    this.#draining = true;
    try {
      let event: ComponentEvent | undefined;
      while ((event = this.#queue.peek()) !== undefined) {
        if (this.#state === 'failed' && event.kind !== 'upgrade') break;
        this.#queue.shift();
        this.#dispatch(event);
      }
    } finally {
      this.#draining = false;
    }
    this.#handlers!.idle();
  };

  /** THE place every event passes before it reaches the module (journal seam: the tap). */
  #dispatch(event: ComponentEvent): void {
    this.#tap.beforeDispatch(this.#name, event);
    this.#host.beginEvent(); // the callback's import quotas start whole (a swap's TERM + RESTART share one)
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
