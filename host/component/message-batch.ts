/**
 * Batched dispatch: the queued messages at the front of a component's queue, handed to a
 * module's optional `on_messages` export in one call, over the batch inbox (docs/ABI.md,
 * "Batched messages"). The module walks them with hs.next_message, and each call tells the host
 * that the previous message is done and the next one starts, so every message still passes
 * through the dispatcher's one place before it reaches the module (the tap, the journal, the
 * callback's quotas, its reply target) and gets a whole fuel budget, one at a time, in order.
 *
 * Nothing is allocated per message: the events are read from the queue where they wait, the
 * records and payloads are written through views cached until `memory.buffer` changes, and a
 * message leaves the queue only when it starts. So a trap leaves the messages after it queued,
 * to be delivered to the restarted instance, and a batch cut short by the slice's clock leaves
 * the rest for the next slice.
 */
import {
  BATCH_MAX_EVENTS,
  BATCH_RECORD_SIZE,
  BATCH_TABLE_OFFSET,
  BatchField,
  INBOX_CAPACITY,
  INBOX_DATA,
  INBOX_PEER_CAPACITY,
  NO_IFACE,
} from '../abi/abi.js';
import type { PersistentMemory } from '../abi/memory.js';
import type { ComponentEvent, MessageEvent } from './events.js';
import type { ModuleInstance } from './instance.js';
import type { SliceClock } from './slice-clock.js';

/** The front of the component's queue, where a batch's messages wait until they start. */
export interface QueueFront {
  readonly length: number;
  peek(): ComponentEvent | undefined;
  at(i: number): ComponentEvent | undefined;
}

/** What the dispatcher does as a batched message starts and ends (its one place, shared with single dispatch). */
export interface BatchSteps {
  /** `event`, at the front of the queue, starts: take it off the queue, the tap, the journal, the quotas, the reply target. */
  start(event: MessageEvent): void;
  /** `event` was handled. */
  done(event: MessageEvent): void;
  /**
   * The module trapped (`error`) in `event`, or after it when `inProgress` is false (the batch
   * was over): the fault is handled, and an event in progress is done with.
   */
  trapped(event: MessageEvent, error: unknown, inProgress: boolean): void;
}

// A record's fields as u32 indices from its start (BatchField): plain numbers the JIT folds into the stores.
const F_DATA = BatchField.data >>> 2;
const F_LENGTH = BatchField.length >>> 2;
const F_CHANNEL = BatchField.channel >>> 2;
const F_IFACE = BatchField.iface >>> 2;
const F_PEER = BatchField.peer >>> 2;
const F_PEER_LENGTH = BatchField.peerLength >>> 2;
const RECORD_WORDS = BATCH_RECORD_SIZE >>> 2;
const DATA_END = INBOX_DATA + INBOX_CAPACITY;

export class MessageBatch {
  readonly #memory: PersistentMemory;
  readonly #steps: BatchSteps;
  readonly #clock: SliceClock;
  /** The batch's events, in order; they stay in the queue until they start. */
  readonly #events: (MessageEvent | undefined)[] = new Array(BATCH_MAX_EVENTS).fill(undefined);
  #count = 0;
  /** Index of the message in progress; -1 before the first, `#count` once the batch is over. */
  #cursor = -1;
  /** Messages started (taken off the queue) in this batch. */
  #started = 0;
  /** Events of the slice before this batch, for the slice clock. */
  #sliceBefore = 0;
  #timedOut = false;
  #queue: QueueFront | null = null;
  // Views over the whole memory, taken again only when a memory.grow detached the buffer.
  #buffer: ArrayBuffer | null = null;
  #u32: Uint32Array = new Uint32Array(0);
  #bytes: Buffer = Buffer.alloc(0);

  constructor(memory: PersistentMemory, steps: BatchSteps, clock: SliceClock) {
    this.#memory = memory;
    this.#steps = steps;
    this.#clock = clock;
  }

  /** True when the last run() ended because the slice's time was up (more events are waiting). */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  /**
   * Delivers up to `limit` of the messages at the front of `queue` to `instance` in one call,
   * `before` events into the slice. Returns how many it handled (trapped ones included);
   * 0 when fewer than two messages are at the front or fit the inbox: dispatch one alone.
   */
  run(instance: ModuleInstance, queue: QueueFront, limit: number, before: number): number {
    const count = this.#fill(queue, Math.min(limit, BATCH_MAX_EVENTS));
    if (count < 2) return this.#clear(count);
    this.#count = count;
    this.#cursor = -1;
    this.#started = 0;
    this.#sliceBefore = before;
    this.#timedOut = false;
    this.#queue = queue;
    try {
      instance.onMessages(count, this.#position);
      // The module returned: the message in progress is done (those it never started stay queued).
      const last = this.#cursor;
      if (last >= 0 && last < count) this.#steps.done(this.#events[last]!);
    } catch (e) {
      // Before its first message (the export's own prologue) the trap is the first message's:
      // it is started so that it is handled, journaled and reported like any other.
      if (this.#started === 0) this.#begin(this.#events[0]!);
      const last = this.#started - 1;
      this.#steps.trapped(this.#events[last]!, e, this.#cursor === last);
    } finally {
      this.#queue = null;
    }
    const started = this.#started;
    this.#clear(count);
    return started;
  }

  /**
   * hs.next_message: ends the message in progress and starts the next one, returning its
   * record's index; -1 when the batch is over, the slice's time is up, or no batch is running.
   */
  readonly next = (): number => {
    const queue = this.#queue;
    if (queue === null) return -1;
    const done = this.#cursor;
    const count = this.#count;
    if (done >= count) return -1;
    if (done >= 0) this.#steps.done(this.#events[done]!);
    const next = done + 1;
    if (next >= count) {
      this.#cursor = count;
      return -1;
    }
    const event = this.#events[next]!;
    // The first message was checked by the slice itself; a later one may find the time up.
    // Only the queue's own front may start (nothing else takes events off it meanwhile).
    if ((next > 0 && this.#clock.over(this.#sliceBefore + next)) || queue.peek() !== event) {
      this.#timedOut = next > 0;
      this.#cursor = count;
      return -1;
    }
    this.#begin(event);
    return next;
  };

  #begin(event: MessageEvent): void {
    this.#cursor = this.#started;
    this.#started++;
    this.#steps.start(event);
  }

  /** "message i of n" for a trap's report (asked only then). */
  readonly #position = (): string => `message ${this.#cursor + 1} of ${this.#count} in the batch`;

  /**
   * Writes the records of up to `max` messages from the front of `queue`; returns how many.
   * Everything the loop reads more than once is a local: after a call out of the loop (the
   * payload's copy), the JIT would load a field again (85 → 57 ns per message with next's steps
   * in a micro-run; docs/PERFORMANCE.md).
   */
  #fill(queue: QueueFront, max: number): number {
    const available = queue.length;
    if (max < 2 || available < 2) return 0;
    if (max > available) max = available;
    this.#views();
    const u32 = this.#u32;
    const bytes = this.#bytes;
    const events = this.#events;
    let at = INBOX_DATA;
    let lastPeer: string | null = null;
    let peerAt = 0;
    let peerLength = 0;
    let r = BATCH_TABLE_OFFSET >>> 2;
    let n = 0;
    for (; n < max; n++, r += RECORD_WORDS) {
      const event = queue.at(n)!;
      if (event.kind !== 'message') break;
      const payload = event.payload;
      const length = payload.byteLength;
      if (event.peer !== lastPeer) {
        // A new peer's bytes go into the data area, shared by its following records.
        if (at + INBOX_PEER_CAPACITY > DATA_END) break;
        peerAt = at;
        peerLength = bytes.write(event.peer, at, INBOX_PEER_CAPACITY, 'utf8');
        at += peerLength;
        lastPeer = event.peer;
      }
      if (at + length > DATA_END) break;
      bytes.set(payload, at);
      u32[r + F_DATA] = at;
      u32[r + F_LENGTH] = length;
      u32[r + F_CHANNEL] = event.channel;
      u32[r + F_IFACE] = event.iface ?? NO_IFACE;
      u32[r + F_PEER] = peerAt;
      u32[r + F_PEER_LENGTH] = peerLength;
      events[n] = event;
      at += length;
    }
    return n;
  }

  /** Forgets the batch's events (they are the queue's or handled), so none is kept alive here. */
  #clear(count: number): 0 {
    for (let i = 0; i < count; i++) this.#events[i] = undefined;
    this.#count = 0;
    this.#cursor = -1;
    return 0;
  }

  #views(): void {
    // A detached buffer (after a memory.grow) reads byteLength 0; `memory.buffer` is only asked then.
    if (this.#buffer !== null && this.#buffer.byteLength !== 0) return;
    const buffer = this.#memory.memory.buffer;
    this.#buffer = buffer;
    this.#u32 = new Uint32Array(buffer, 0, INBOX_DATA >>> 2);
    this.#bytes = Buffer.from(buffer);
  }
}
