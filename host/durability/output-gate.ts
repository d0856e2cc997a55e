/**
 * The output gate: a reply, send or bus message a module makes while handling an event leaves
 * only once that event's journal record is durable (the way Durable Objects hold outgoing
 * messages until the storage write is confirmed). Outputs made outside an event wait for every
 * record appended so far. Release keeps the order in which the outputs were made.
 */
import type { OutputGate } from '../component/journal-port.js';
import type { Logger } from '../log.js';

/** Outputs released per turn of the event loop at most (whole events: an event's outputs go together). */
const RELEASE_SLICE = 1024;

interface Held {
  seq: number;
  writes: (() => void)[];
}

export class HeldOutputs implements OutputGate {
  readonly #log: Logger;
  readonly #held: Held[] = [];
  #current: (() => void)[] = [];
  #inEvent = false;
  #lastAppended = 0;
  #durable = 0;
  /** A release continues on the next turn of the event loop (a flood's outputs are released in slices). */
  #releasing = false;
  /** Told when #held goes from empty to not, and back (watch()). */
  #onHeld: (held: boolean) => void = () => {};

  constructor(log: Logger, durableSeq: number) {
    this.#log = log;
    this.#lastAppended = durableSeq;
    this.#durable = durableSeq;
  }

  /** Outputs waiting for their record (for status and tests). */
  get waiting(): number {
    let n = this.#current.length;
    for (const h of this.#held) n += h.writes.length;
    return n;
  }

  /** `listener(true)` once outputs wait for their records, `listener(false)` once none do. */
  watch(listener: (held: boolean) => void): void {
    this.#onHeld = listener;
  }

  pass(write: () => void): boolean {
    if (this.#inEvent) {
      this.#current.push(write);
      return false;
    }
    if (this.#lastAppended <= this.#durable && this.#held.length === 0) {
      write();
      return true;
    }
    this.#hold({ seq: this.#lastAppended, writes: [write] });
    return false;
  }

  beginEvent(): void {
    this.#inEvent = true;
  }

  /** The event's record got `seq`: its outputs wait for it. */
  endEvent(seq: number): void {
    this.#inEvent = false;
    this.#lastAppended = seq;
    if (this.#current.length > 0) {
      this.#hold({ seq, writes: this.#current });
      this.#current = [];
    }
  }

  /** A record without outputs (a timer's expiry) was appended. */
  appended(seq: number): void {
    this.#lastAppended = seq;
  }

  /** Every record up to `seq` is durable: release what waited for them, in order. */
  durable(seq: number): void {
    this.#durable = seq;
    if (!this.#releasing) this.#release();
  }

  #hold(held: Held): void {
    this.#held.push(held);
    if (this.#held.length === 1) this.#onHeld(true);
  }

  /**
   * Releases held outputs in order, at most RELEASE_SLICE per turn of the event loop: a flood's
   * tens of thousands of held messages must not stall the other components and the control API.
   * Outputs made meanwhile queue behind them (pass() sees #held non-empty).
   */
  #release(): void {
    const held = this.#held;
    let n = 0;
    let released = 0;
    while (n < held.length && held[n]!.seq <= this.#durable && released < RELEASE_SLICE) {
      for (const write of held[n]!.writes) {
        try {
          write();
        } catch (e) {
          // A socket closed meanwhile (the engine is stopping): the output has nowhere to go.
          this.#log.debug(`held output dropped: ${(e as Error).message}`);
        }
      }
      released += held[n]!.writes.length;
      n++;
    }
    if (n > 0) {
      held.splice(0, n);
      if (held.length === 0) this.#onHeld(false);
    }
    this.#releasing = held.length > 0 && held[0]!.seq <= this.#durable;
    if (this.#releasing) setImmediate(() => this.#release());
  }
}
