/**
 * One event, run: `begin` is THE place every event passes before it reaches the module (the
 * EventTap, the journal, the callback's quotas), batched or not; then the module's callback, a
 * swap (DispatchHandlers.swap) or a trap (DispatchHandlers.fault), and the journal's record
 * ended. The Dispatcher decides which event runs when (its queue, its slices, its batches);
 * this part owns what running one means, and the live instance and state it runs against.
 */
import type { PersistentMemory } from '../abi/memory.js';
import type { Logger } from '../log.js';
import type { PreparedModule } from '../modules/prepared.js';
import type { BoundedQueue } from './bounded-queue.js';
import type { ComponentEvent, EventKind, EventTap, MessageEvent, UpgradeEvent } from './events.js';
import type { ModuleInstance } from './instance.js';
import type { ComponentJournal } from './journal-port.js';
import type { BatchSteps } from './message-batch.js';
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

export class EventRunner {
  readonly #name: string;
  readonly #queue: BoundedQueue;
  readonly #memory: PersistentMemory;
  readonly #host: ModuleHost;
  readonly #tap: EventTap;
  readonly #journal: ComponentJournal | undefined;
  readonly #pause: PauseClock;
  readonly #log: Logger;
  readonly handled: Record<EventKind, number> = { message: 0, timer: 0, signal: 0, upgrade: 0 };
  handlers: DispatchHandlers | null = null;
  instance: ModuleInstance | null = null;
  /** The module running (or the last one that ran, when the component failed). */
  module: PreparedModule | null = null;
  state: ComponentState = 'loading';

  constructor(options: {
    name: string;
    /** The dispatcher's queue: a batched message leaves it as it starts. */
    queue: BoundedQueue;
    host: ModuleHost;
    tap: EventTap;
    journal?: ComponentJournal | undefined;
    pause: PauseClock;
    log: Logger;
  }) {
    this.#name = options.name;
    this.#queue = options.queue;
    this.#host = options.host;
    this.#memory = options.host.memory;
    this.#tap = options.tap;
    this.#journal = options.journal;
    this.#pause = options.pause;
    this.#log = options.log;
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
  dispatch(event: ComponentEvent): void {
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
  readonly batchSteps: BatchSteps = {
    start: (event: MessageEvent): void => {
      this.#queue.shift(event);
      this.#begin(event);
      this.#host.replyTo = event.replyTo;
    },
    done: (event: MessageEvent): void => {
      this.#host.replyTo = undefined;
      this.handled.message++;
      this.#pause.eventHandled();
      this.#journal?.end(event);
    },
    trapped: (event: MessageEvent, error: unknown, inProgress: boolean): void => {
      this.#host.replyTo = undefined;
      this.handlers!.fault(event, error);
      if (!inProgress) return;
      this.#pause.eventHandled();
      this.#journal?.end(event);
    },
  };

  #run(event: ComponentEvent): void {
    if (event.kind === 'upgrade') {
      this.handlers!.swap(event);
      this.handled.upgrade++;
      return;
    }
    const instance = this.instance;
    if (!instance || this.state !== 'running') {
      this.#log.warn(`dropped ${event.kind} event: component is ${this.state}`);
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
      this.handled[event.kind]++;
    } catch (e) {
      this.handlers!.fault(event, e);
    } finally {
      host.replyTo = undefined;
    }
    this.#pause.eventHandled();
  }
}
