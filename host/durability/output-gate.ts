/**
 * The output gate: a reply, send or bus message a module makes while handling an event leaves
 * only once that event's journal record is durable (the way Durable Objects hold outgoing
 * messages until the storage write is confirmed). Outputs made outside an event wait for every
 * record appended so far. Release keeps the order in which the outputs were made.
 *
 * A flooding module's outputs pass through here by the hundred thousand a second, so an output
 * is held as slots of a ring that is reused (a function bound once and its argument), not as an
 * object, a closure or a fresh array of its own: what each one allocates is what the young
 * generation's scavenges pay for, and they hold every other component's requests
 * (docs/SAFETY.md, "What a flood allocates").
 */
import type { OutputGate } from '../component/journal-port.js';
import type { Logger } from '../log.js';

/** Outputs released per turn of the event loop at most (whole events: an event's outputs go together). */
const RELEASE_SLICE = 1024;

type Write = (arg: unknown) => void;

/** A FIFO of outputs (seq, write, argument) in reused arrays that double when full. */
class OutputRing {
  #seq = new Float64Array(64);
  #write: (Write | undefined)[] = new Array(64).fill(undefined);
  #arg: unknown[] = new Array(64).fill(undefined);
  #head = 0;
  length = 0;

  push(seq: number, write: Write, arg: unknown): void {
    if (this.length === this.#seq.length) this.#grow();
    const at = (this.#head + this.length) & (this.#seq.length - 1);
    this.#seq[at] = seq;
    this.#write[at] = write;
    this.#arg[at] = arg;
    this.length++;
  }
  /** The seq of the oldest output (length > 0). */
  firstSeq(): number {
    return this.#seq[this.#head]!;
  }
  /** Takes the oldest output off and runs it. */
  runFirst(): void {
    const at = this.#head;
    const write = this.#write[at]!;
    const arg = this.#arg[at];
    this.#write[at] = undefined; // nothing released stays reachable from here
    this.#arg[at] = undefined;
    this.#head = (at + 1) & (this.#seq.length - 1);
    this.length--;
    write(arg);
  }
  #grow(): void {
    const n = this.#seq.length;
    const seq = new Float64Array(n * 2);
    const write: (Write | undefined)[] = new Array(n * 2).fill(undefined);
    const arg: unknown[] = new Array(n * 2).fill(undefined);
    for (let i = 0; i < n; i++) {
      const from = (this.#head + i) & (n - 1);
      seq[i] = this.#seq[from]!;
      write[i] = this.#write[from];
      arg[i] = this.#arg[from];
    }
    this.#seq = seq;
    this.#write = write;
    this.#arg = arg;
    this.#head = 0;
  }
}

export class HeldOutputs implements OutputGate {
  readonly #log: Logger;
  readonly #held = new OutputRing();
  /** The event in progress's outputs, two slots each (write, argument), until endEvent gives them its seq. */
  readonly #current: unknown[] = [];
  #currentLength = 0;
  #inEvent = false;
  #lastAppended = 0;
  #durable = 0;
  /** A release continues on the next turn of the event loop (a flood's outputs are released in slices). */
  #releasing = false;
  readonly #releaseNext = (): void => this.#release();
  /** Told when the gate starts holding outputs, and when it holds none again (watch()). */
  #onHeld: (held: boolean) => void = () => {};

  constructor(log: Logger, durableSeq: number) {
    this.#log = log;
    this.#lastAppended = durableSeq;
    this.#durable = durableSeq;
  }

  get holding(): boolean {
    return this.#inEvent || this.#lastAppended > this.#durable || this.#held.length > 0;
  }

  /** `listener(true)` once outputs wait for their records, `listener(false)` once none do. */
  watch(listener: (held: boolean) => void): void {
    this.#onHeld = listener;
  }

  pass<T>(write: (arg: T) => void, arg?: T): boolean {
    if (this.#inEvent) {
      this.#current[this.#currentLength++] = write;
      this.#current[this.#currentLength++] = arg;
      return false;
    }
    if (this.#lastAppended <= this.#durable && this.#held.length === 0) {
      write(arg as T);
      return true;
    }
    this.#hold(this.#lastAppended, write as Write, arg);
    return false;
  }

  beginEvent(): void {
    this.#inEvent = true;
  }

  /** The event's record got `seq`: its outputs wait for it. */
  endEvent(seq: number): void {
    this.#inEvent = false;
    this.#lastAppended = seq;
    const current = this.#current;
    const n = this.#currentLength;
    for (let i = 0; i < n; i += 2) {
      this.#hold(seq, current[i] as Write, current[i + 1]);
      current[i] = current[i + 1] = undefined;
    }
    this.#currentLength = 0;
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

  #hold(seq: number, write: Write, arg: unknown): void {
    this.#held.push(seq, write, arg);
    if (this.#held.length === 1) this.#onHeld(true);
  }

  /**
   * Releases held outputs in order, at most RELEASE_SLICE per turn of the event loop (never
   * stopping inside one event's outputs): a flood's tens of thousands of held messages must not
   * stall the other components and the control API. Outputs made meanwhile queue behind them
   * (pass() sees #held non-empty).
   */
  #release(): void {
    const held = this.#held;
    let released = 0;
    let lastSeq = -1;
    while (held.length > 0) {
      const seq = held.firstSeq();
      if (seq > this.#durable || (released >= RELEASE_SLICE && seq !== lastSeq)) break;
      try {
        held.runFirst();
      } catch (e) {
        // A socket closed meanwhile (the engine is stopping): the output has nowhere to go.
        this.#log.debug(`held output dropped: ${(e as Error).message}`);
      }
      released++;
      lastSeq = seq;
    }
    if (released > 0 && held.length === 0) this.#onHeld(false);
    this.#releasing = held.length > 0 && held.firstSeq() <= this.#durable;
    if (this.#releasing) setImmediate(this.#releaseNext);
  }
}
