// The dashboard's live data: samples every component's counters at a fixed interval (events/s,
// queue depth, faults), keeps the last few minutes of them, and streams them, with every swap,
// fault and refusal as it happens, to the connected server-sent-events clients.
import { SWAP_PHASES } from '../../component/swap.js';
import type { Engine } from '../../engine.js';
import type { SseStream } from './sse-stream.js';

/** One component at one sample. `eventsPerSec` is null on the first sample (no interval yet). */
export interface ComponentSample {
  name: string;
  version: string | null;
  state: string;
  queueDepth: number;
  /** Messages, timers and signals handled since the engine started. */
  events: number;
  eventsPerSec: number | null;
  faults: number;
  dropped: number;
}

export interface Sample {
  /** Wall-clock time (ms since the epoch), the same clock as a swap report's `at`. */
  at: number;
  components: ComponentSample[];
}

export interface LiveFeedOptions {
  /** Time between samples (default 1000 ms). */
  intervalMs?: number;
  /** Samples kept for a client that connects later (default 300: five minutes at 1 s). */
  backlog?: number;
  /** Streams served at once; more are refused (default 32). */
  maxStreams?: number;
}

export class LiveFeed {
  readonly #engine: Engine;
  readonly #intervalMs: number;
  readonly #backlog: number;
  readonly #maxStreams: number;
  readonly #samples: Sample[] = [];
  readonly #streams = new Set<SseStream>();
  /** The previous sample's event count and monotonic time, per component, for the rate. */
  readonly #previous = new Map<string, { events: number; ms: number }>();
  #timer: NodeJS.Timeout | null;

  constructor(engine: Engine, options: LiveFeedOptions = {}) {
    this.#engine = engine;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#backlog = options.backlog ?? 300;
    this.#maxStreams = options.maxStreams ?? 32;
    // The engine calls its listeners inside the component's dispatcher: what the feed sends is
    // written on the next turn of the event loop, never in the middle of a swap or a slice.
    engine.onSwap((report) => this.#later('swap', report));
    engine.onFault((fault) => this.#later('fault', fault));
    engine.onRejected((rejection) => this.#later('rejected', rejection));
    this.#sample();
    this.#timer = setInterval(() => this.#broadcast('sample', this.#sample()), this.#intervalMs);
    // Sampling never keeps a process alive that has nothing else to do.
    this.#timer.unref();
  }

  /** Why a new client cannot be served now, or null when it can. */
  refusal(): string | null {
    if (this.#timer === null) return 'the live stream is closing';
    if (this.#streams.size >= this.#maxStreams) {
      return `the live stream serves at most ${this.#maxStreams} clients at once; close another dashboard`;
    }
    return null;
  }

  /** Adds a client: it first gets `hello` (the phases a swap reports, the interval, the backlog). */
  subscribe(stream: SseStream): void {
    this.#streams.add(stream);
    stream.onClose(() => this.#streams.delete(stream));
    stream.send('hello', { intervalMs: this.#intervalMs, phases: SWAP_PHASES, samples: this.#samples });
  }

  get streams(): number {
    return this.#streams.size;
  }

  /** Stops sampling and ends every stream (the server is closing: open streams would hold it). */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    for (const s of this.#streams) s.close();
    this.#streams.clear();
  }

  #sample(): Sample {
    const ms = performance.now();
    const components = this.#engine.status().map((s): ComponentSample => {
      const events = s.handled.message + s.handled.timer + s.handled.signal;
      const before = this.#previous.get(s.name);
      this.#previous.set(s.name, { events, ms });
      const seconds = before ? (ms - before.ms) / 1000 : 0;
      return {
        name: s.name,
        version: s.version,
        state: s.state,
        queueDepth: s.queueDepth,
        events,
        eventsPerSec: before && seconds > 0 ? Math.round(((events - before.events) / seconds) * 10) / 10 : null,
        faults: s.faults,
        dropped: s.dropped,
      };
    });
    const sample = { at: Date.now(), components };
    this.#samples.push(sample);
    if (this.#samples.length > this.#backlog) this.#samples.shift();
    return sample;
  }

  #later(name: string, data: unknown): void {
    if (this.#streams.size === 0) return;
    setImmediate(() => this.#broadcast(name, data));
  }

  #broadcast(name: string, data: unknown): void {
    for (const s of this.#streams) s.send(name, data);
  }
}
