/**
 * The component's bounded FIFO queue and what its bound means per kind of event: refusals
 * counted, timers coalesced, the bus's share, and the TCP low-water notice (docs/SAFETY.md,
 * "Bounded queues and fair dispatch"). The Dispatcher owns one and drains it.
 */
import { BUS_CHANNEL } from '../abi/abi.js';
import { EventQueue } from './event-queue.js';
import type { ComponentEvent } from './events.js';

export class BoundedQueue {
  readonly #queue = new EventQueue<ComponentEvent>();
  /** The queue's bound, and the depths where a paused TCP connection stops and resumes reading. */
  readonly #limit: number;
  /**
   * Bus messages the queue may hold at once: a sixteenth of the bound (4,096 by default). A
   * module that sends to itself or to a neighbour faster than it is served meets this, not the
   * whole bound, so the queue keeps room for its sockets, and what the garbage collector must
   * trace during such a flood stays small (docs/SAFETY.md, "Bounded queues").
   */
  readonly #busLimit: number;
  #busQueued = 0;
  readonly #highWater: number;
  readonly #lowWater: number;
  /** Timer ids with an event queued: a timer that fires again meanwhile is coalesced into it. */
  readonly #queuedTimers = new Set<number>();
  /** Told once the depth is down to the low-water mark (paused TCP connections); checked per slice. */
  #belowLowWater: (() => void)[] = [];
  #dropped = 0;

  constructor(name: string, queueEvents: number) {
    if (!Number.isInteger(queueEvents) || queueEvents < 4)
      throw new Error(`${name}: queueEvents must be an integer >= 4 (got ${queueEvents})`);
    this.#limit = queueEvents;
    this.#busLimit = Math.max(1, Math.floor(queueEvents / 16));
    this.#highWater = Math.floor(queueEvents / 2);
    this.#lowWater = Math.floor(queueEvents / 4);
  }

  get length(): number {
    return this.#queue.length;
  }
  peek(): ComponentEvent | undefined {
    return this.#queue.peek();
  }
  at(i: number): ComponentEvent | undefined {
    return this.#queue.at(i);
  }
  /** Events refused because the queue was full (UDP datagrams, bus messages, signals). */
  get dropped(): number {
    return this.#dropped;
  }
  /** At or above half the bound: a TCP connection stops reading until `whenBelowLowWater`. */
  get aboveHighWater(): boolean {
    return this.#queue.length >= this.#highWater;
  }

  /** Calls `resume` once the depth is down to a quarter of the bound (now, if it already is). */
  whenBelowLowWater(resume: () => void): void {
    if (this.#queue.length <= this.#lowWater) resume();
    else this.#belowLowWater.push(resume);
  }

  /**
   * Resumes the waiting sources once the depth is down to the low-water mark (after a slice);
   * true when it did, since they may have queued their waiting lines right away.
   */
  resumeIfLow(): boolean {
    if (this.#belowLowWater.length === 0 || this.#queue.length > this.#lowWater) return false;
    const waiting = this.#belowLowWater;
    this.#belowLowWater = [];
    for (const resume of waiting) resume();
    return true;
  }

  /**
   * Queues `event`, or refuses it (false, counted in `dropped`) when the queue is full. Never
   * refused: an upgrade (an operator's way out must always get in) and a timer (at most one
   * event per timer id is ever queued: a timer that fires while its last event still waits is
   * coalesced into it, so timers are bounded by the timer quota, not by this one).
   */
  push(event: ComponentEvent): boolean {
    if (this.#queue.length >= this.#limit && event.kind !== 'upgrade' && event.kind !== 'timer') {
      this.#dropped++;
      return false;
    }
    if (event.kind === 'timer') {
      if (this.#queuedTimers.has(event.id)) return true;
      this.#queuedTimers.add(event.id);
    } else if (event.kind === 'message' && event.channel === BUS_CHANNEL && !this.reserveBus()) {
      return false;
    }
    this.#queue.push(event);
    return true;
  }

  /**
   * Takes a place in the bus share for a message not queued yet (held by its sender's output
   * gate until the sender's journal record is durable): false, and counted as dropped, when the
   * share is full, so the sender learns it at once rather than after the hold.
   */
  reserveBus(): boolean {
    if (this.#busQueued >= this.#busLimit) {
      this.#dropped++;
      return false;
    }
    this.#busQueued++;
    return true;
  }

  /** Queues a bus message whose place reserveBus() took; a refusal (`stopped`, or full) gives the place back. */
  pushReserved(event: ComponentEvent, stopped: boolean): boolean {
    if (stopped || this.#queue.length >= this.#limit) {
      this.#busQueued--;
      if (!stopped) this.#dropped++;
      return false;
    }
    this.#queue.push(event);
    return true;
  }

  /** Puts an event at the front: a failed component's recovery, or an automatic rollback. */
  unshift(event: ComponentEvent): void {
    this.#queue.unshift(event);
  }

  /** Takes `event`, the one at the front, off the queue: a timer may be queued again from now on. */
  shift(event: ComponentEvent): void {
    this.#queue.shift();
    if (event.kind === 'timer') this.#queuedTimers.delete(event.id);
    else if (event.kind === 'message' && event.channel === BUS_CHANNEL) this.#busQueued--;
  }
}
