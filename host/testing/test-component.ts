/**
 * TestComponent: one module running in this process exactly as a component runs it (the same
 * checks, instrumentation, fuel, quotas, swap procedure and fault recovery), over a fresh
 * persistent memory, with a virtual clock instead of real time and an in-memory channel instead
 * of sockets. A module author's tests drive it: messages and their replies, timers, signals,
 * upgrades, faults and quota hits.
 */
import { readFileSync } from 'node:fs';
import { MEMORY_BASE, SIGNALS, type SignalName } from '../abi/abi.js';
import { Component, type ComponentStatus, DispatchScheduler, type FaultRecord, type QuotaLimits } from '../component/component.js';
import type { SwapReport } from '../component/swap.js';
import { Logger, type LogLevelName, type LogSink } from '../log.js';
import { DEFAULT_MEMORY_BYTES, DEFAULT_MODULE_BYTES } from '../modules/check.js';
import { DEFAULT_FUEL, type FuelBudgets } from '../modules/fuel-budgets.js';
import type { PreparedModule } from '../modules/prepared.js';
import { ModuleChecks } from './module-checks.js';
import { VirtualClock } from './virtual-clock.js';

export interface TestComponentOptions {
  /** The component's name (a bus message's sender sees it); default "test". */
  name?: string;
  /** The version the module must report (as an upload claims one); default: whatever it reports. */
  version?: string;
  /** Signals the component subscribes to; default all (SIGHUP, SIGUSR1, SIGUSR2). */
  signals?: SignalName[];
  /** Import quotas over the engine's defaults (docs/SAFETY.md); false: none. */
  quotas?: Partial<QuotaLimits> | false;
  /** Fuel budgets over the engine's defaults; false runs the module unmetered. */
  fuel?: Partial<FuelBudgets> | false;
  /** The memory's maximum, in bytes (above the 256 MiB memoryBase); default the engine's, 512 MiB. */
  memoryBytes?: number;
  /** The clock to run on (default: a new one at 2026-01-01T00:00:00Z with a fixed random seed). */
  clock?: VirtualClock;
  /**
   * The engine's module checks (a worker thread that loads binaryen: most of a first start's
   * time). Pass one ModuleChecks to every TestComponent of a test file to start it once; the
   * caller closes it. Absent: the component starts its own and closes it with itself.
   */
  checks?: ModuleChecks;
  /** Print the component's and the module's log lines at or above this level (`logs` then keeps only those); default: keep all, print none. */
  print?: LogLevelName;
}

/** What the module sent other than replies: on a channel to a peer, or over the bus to a component. */
export interface Sent {
  channel: number | 'bus';
  to: string;
  bytes: Buffer;
  text: string;
}

/** More turns than this while settling means the module keeps itself busy (e.g. sends to itself forever). */
const MAX_TURNS = 10_000;

export class TestComponent {
  readonly clock: VirtualClock;
  /** Every log line of the component and its module, as text. */
  readonly logs: string[];
  /** Every trap while handling an event (the module was re-instantiated and restarted). */
  readonly faults: FaultRecord[] = [];
  /** What the module sent with hs.send, in order. */
  readonly sent: Sent[];
  readonly #component: Component;
  readonly #checks: ModuleChecks;
  readonly #ownChecks: boolean;
  readonly #name: string;

  private constructor(parts: {
    component: Component;
    checks: ModuleChecks | undefined;
    clock: VirtualClock;
    name: string;
    logs: string[];
    sent: Sent[];
  }) {
    this.#component = parts.component;
    this.#checks = parts.checks ?? new ModuleChecks();
    this.#ownChecks = parts.checks === undefined;
    this.clock = parts.clock;
    this.#name = parts.name;
    this.logs = parts.logs;
    this.sent = parts.sent;
    parts.component.on({ onFault: (f) => this.faults.push(f) });
  }

  /** Checks and loads `module` (a .wasm path or its bytes) over a fresh memory: INIT runs. */
  static async start(module: string | Uint8Array, options: TestComponentOptions = {}): Promise<TestComponent> {
    const name = options.name ?? 'test';
    const clock = options.clock ?? new VirtualClock();
    const logs: string[] = [];
    const sink = { write: (line: string) => void logs.push(line) };
    const logger = new Logger(name, options.print ?? 'debug', options.print ? teeToStdout(sink) : sink);
    const fuel = options.fuel === false ? null : options.fuel;
    const policy = {
      memoryBase: MEMORY_BASE,
      maxPages: Math.floor((options.memoryBytes ?? DEFAULT_MEMORY_BYTES) / 65536),
      maxModuleBytes: DEFAULT_MODULE_BYTES,
      allowWasi: false,
      trackDirtyPages: true,
      ...(fuel === null ? { fuel: null } : fuel ? { fuel: { ...DEFAULT_FUEL, ...fuel } } : {}),
    };
    const sent: Sent[] = [];
    const component = new Component({
      name,
      policy,
      signals: options.signals ?? (Object.keys(SIGNALS) as SignalName[]),
      environment: clock,
      timers: clock,
      logger,
      scheduler: new DispatchScheduler(),
      bus: (to, _from, payload) => {
        const bytes = typeof payload === 'function' ? payload() : payload;
        sent.push({ channel: 'bus', to, bytes, text: bytes.toString() });
        return 0;
      },
      ...(options.quotas !== undefined ? { quotas: options.quotas } : {}),
      rollback: (verdict) => logger.warn(`probation verdict (a test has no version to roll back to): ${verdict}`),
    });
    const test = new TestComponent({ component, checks: options.checks, clock, name, logs, sent });
    component.attachChannel(0, {
      kind: 'test',
      send: (peer, bytes) => {
        sent.push({ channel: 0, to: peer, bytes, text: bytes.toString() });
        return 0;
      },
    });
    try {
      await component.load(await test.#prepare(module, options.version));
    } catch (e) {
      await test.close();
      throw e;
    }
    return test;
  }

  /** The running module's version, as it reports it. */
  get version(): string | null {
    return this.#component.module?.version ?? null;
  }

  /** Sends one message (as a UDP datagram or a TCP line would arrive) and returns its replies as text. */
  async send(message: string | Uint8Array, options: { peer?: string; channel?: number } = {}): Promise<string[]> {
    return (await this.sendBytes(message, options)).map((b) => b.toString());
  }

  /** The same, with the replies as bytes. */
  async sendBytes(message: string | Uint8Array, options: { peer?: string; channel?: number } = {}): Promise<Buffer[]> {
    const replies: Buffer[] = [];
    const queued = this.#component.enqueue({
      kind: 'message',
      channel: options.channel ?? 0,
      peer: options.peer ?? '127.0.0.1:40000',
      payload: Buffer.from(message),
      replyTo: {
        reply: (bytes) => {
          replies.push(Buffer.from(bytes));
          return 0;
        },
      },
    });
    if (!queued) throw new Error(`${this.#name}: the message was refused (the queue is full)`);
    await this.#settle();
    return replies;
  }

  /** Moves the virtual clock on by `ms`, firing every timer due on the way, each at its own due time. */
  async advance(ms: number): Promise<void> {
    const until = this.clock.elapsedMs + ms;
    while (this.clock.runNext(until)) await this.#settle();
    this.clock.moveTo(until);
  }

  /** Delivers a POSIX signal the component subscribed to (SIGHUP, SIGUSR1, SIGUSR2). */
  async signal(name: SignalName): Promise<void> {
    this.#component.deliverSignal(name);
    await this.#settle();
  }

  /**
   * Upgrades to another build, through the engine's swap procedure (TERM, HOLD, migrate,
   * RESTART; rolled back byte for byte on a failure). Resolves with the swap report, whose
   * `result` says whether it went through; it does not throw on a rollback.
   */
  async upgrade(module: string | Uint8Array, version?: string): Promise<SwapReport> {
    const prepared = await this.#prepare(module, version);
    const report = this.#component.upgrade(prepared);
    await this.#settle();
    return report;
  }

  /** The module's own status text (what `hotswap show` prints). */
  show(): string {
    return this.#component.show();
  }

  /** Version, state, events handled, faults, quota hits, timers, memory. */
  status(): ComponentStatus {
    return this.#component.status();
  }

  /** Import calls refused, cut or clamped by a quota, per resource. */
  get quotaHits(): Record<string, number> {
    return this.status().quotaHits;
  }

  /** The final TERM, then the checker's worker thread ends. */
  async close(): Promise<void> {
    if (this.#component.state !== 'stopped') this.#component.stop();
    if (this.#ownChecks) await this.#checks.close();
  }

  #prepare(module: string | Uint8Array, version: string | undefined): Promise<PreparedModule> {
    const bytes = typeof module === 'string' ? readFileSync(module) : module;
    const claimed = { name: this.#name, ...(version !== undefined ? { version } : {}) };
    return this.#checks.prepare(bytes, claimed, this.#component.policy);
  }

  /** Lets the dispatcher run until the queue is empty (each turn is one setImmediate). */
  async #settle(): Promise<void> {
    for (let turn = 0; ; turn++) {
      await new Promise<void>((done) => setImmediate(done));
      if (this.#component.queueDepth === 0 && !this.#component.upgradeInFlight) return;
      if (turn > MAX_TURNS) throw new Error(`${this.#name}: events keep coming after ${MAX_TURNS} turns (the module keeps itself busy)`);
    }
  }
}

/** Keeps every line and prints it too (TestComponentOptions.print). */
function teeToStdout(sink: LogSink): LogSink {
  return {
    write: (line) => {
      sink.write(line);
      process.stdout.write(`${line}\n`);
    },
  };
}
