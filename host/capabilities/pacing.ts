/** Output pacing of the `net` capability: one token bucket and FIFO queue per interface, so a large update leaves spread out instead of in one burst. */
import type { NetPacingConfig } from './config.js';

/** One datagram waiting for its turn on an interface. */
export interface PacedDatagram {
  bytes: Buffer;
  port: number;
  host: string;
}

/** What a pacer does with a datagram whose turn came, and with one its full queue refused. */
export interface PacedSink {
  send(datagram: PacedDatagram): void;
  dropped(datagram: PacedDatagram): void;
}

/**
 * One interface's pacing, as Cisco's `output-delay`: up to `burst` datagrams leave at once, then
 * one every `gapMs`, in order (a token bucket of `burst` tokens refilled at one per `gapMs`).
 * Small updates are not delayed at all; a full update of 10,000 routes (400 datagrams) is spread
 * over about 2 s at the defaults, because a neighbour's receive buffer holds about 30 of them
 * (FRR ripd sets 41,600 bytes) and a loaded neighbour drains it late (docs/RIP.md, "Scale").
 * Triggered updates and answers share the queue, so they are paced too and never overtake.
 * A queue over `queue` datagrams refuses more (counted by the sink): a neighbour that cannot
 * be sent to that fast gets the next regular update instead of an ever-growing backlog.
 */
export class InterfacePacer {
  readonly #config: NetPacingConfig;
  readonly #sink: PacedSink;
  readonly #queue: PacedDatagram[] = [];
  #head = 0;
  #tokens: number;
  #refilledAt = performance.now();
  #timer: NodeJS.Timeout | null = null;

  constructor(config: NetPacingConfig, sink: PacedSink) {
    this.#config = config;
    this.#sink = sink;
    this.#tokens = config.burst;
  }

  /** Datagrams waiting. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  push(datagram: PacedDatagram): void {
    if (this.waiting >= this.#config.queue) {
      this.#sink.dropped(datagram);
      return;
    }
    this.#queue.push(datagram);
    if (!this.#timer) this.#drain();
  }

  #refill(): void {
    const now = performance.now();
    const { burst, gapMs } = this.#config;
    this.#tokens = gapMs <= 0 ? burst : Math.min(burst, this.#tokens + (now - this.#refilledAt) / gapMs);
    this.#refilledAt = now;
  }

  #drain(): void {
    this.#timer = null;
    this.#refill();
    while (this.waiting > 0 && this.#tokens >= 1) {
      this.#tokens--;
      const d = this.#queue[this.#head]!;
      this.#head++;
      this.#sink.send(d);
    }
    // Compact now and then, not on every shift (a 400-datagram queue would be O(n²) with shift()).
    if (this.#head > 1024 || this.#head === this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    if (this.waiting > 0) this.#timer = setTimeout(() => this.#drain(), Math.max(1, (1 - this.#tokens) * this.#config.gapMs));
  }

  /** Drops what waits (each one reported to the sink) and stops the timer. */
  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (let i = this.#head; i < this.#queue.length; i++) this.#sink.dropped(this.#queue[i]!);
    this.#queue.length = 0;
    this.#head = 0;
  }
}
