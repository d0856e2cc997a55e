/**
 * A component: the paper's persistent main task module around one swappable implementation
 * module. This class is the façade its owner (the engine) talks to; wiring.ts builds the parts
 * and wires them together, and each part does one job:
 *   Dispatcher          the bounded FIFO queue, its slices (the journal's tap, batching)
 *   DispatchScheduler   the round-robin of slices between components (engine-wide; passed in)
 *   SwapRunner          queues swaps as events and runs them (swap.ts's procedure)
 *   PauseClock          finishes a swap's report: pause, drain, publication
 *   FaultRecovery       re-instantiation after a trap, probation verdicts
 *   CheckpointScheduler the idle sync of the dirty-page checkpoint
 *   ModuleHost          the host services a module calls, behind its import quotas
 *   QuotaReports        quota hits turned into rate-limited history records
 *   Instantiator        new instances with imports, capabilities and the WASI sandbox
 */
import { SIGNALS, type SignalName } from '../abi/abi.js';
import type { DirtyPageCheckpoint } from '../abi/checkpoint.js';
import type { Environment } from '../abi/imports.js';
import type { PersistentMemory } from '../abi/memory.js';
import type { Logger } from '../log.js';
import type { ModulePolicy } from '../modules/check.js';
import type { PreparedModule } from '../modules/prepared.js';
import type { CheckpointScheduler } from './checkpoint-scheduler.js';
import type { ComponentState, Dispatcher } from './dispatcher.js';
import type { ComponentEvent, EventKind } from './events.js';
import type { FaultRecord, FaultRecovery } from './fault-recovery.js';
import type { OutputGate } from './journal-port.js';
import type { Channel, ModuleHost } from './module-host.js';
import type { ComponentOptions } from './options.js';
import type { QuotaRecord, QuotaReports } from './quota-reports.js';
import type { SwapReport } from './swap.js';
import type { SwapRunner } from './swap-runner.js';
import type { TimerSnapshot } from './timers.js';
import { wireComponent } from './wiring.js';

export { DispatchScheduler } from './dispatch-scheduler.js';
export type { ComponentState } from './dispatcher.js';
export { describeEvent, type FaultRecord } from './fault-recovery.js';
export { type OutputGate, openGate } from './journal-port.js';
export type { BusDeliver, Channel } from './module-host.js';
export {
  type ComponentOptions,
  DEFAULT_DISPATCH,
  DEFAULT_PROBATION,
  DEFAULT_QUEUE_EVENTS,
  type DispatchLimits,
  type ProbationConfig,
} from './options.js';
export type { QuotaRecord } from './quota-reports.js';
export { DEFAULT_QUOTAS, type QuotaLimits } from './quotas.js';
export { UpgradeInProgress } from './swap-runner.js';

export interface ComponentStatus {
  name: string;
  module: string | null;
  version: string | null;
  layoutVersion: number | null;
  state: ComponentState;
  queueDepth: number;
  /** Events refused because the queue was full (UDP datagrams, bus messages, signals). */
  dropped: number;
  handled: Record<EventKind, number>;
  faults: number;
  /** Import calls refused, cut or clamped by a quota, per resource (docs/SAFETY.md). */
  quotaHits: Record<string, number>;
  /** Callbacks that hit at least one quota (what probation counts). */
  quotaViolations: number;
  timers: number;
  memoryPages: number;
  persistentBytes: number;
  upgrades: number;
  lastUpgrade: SwapReport | null;
}

/** `replaced`: the module a successful swap took out (null for a first load or a failed swap). */
type Listener = {
  onSwap?(report: SwapReport, replaced: PreparedModule | null): void;
  onFault?(fault: FaultRecord): void;
  /** Quota hits, at most one record per resource a minute (QuotaReports). */
  onQuota?(record: QuotaRecord): void;
};

export class Component {
  readonly name: string;
  readonly memory: PersistentMemory;
  readonly environment: Environment;
  readonly signals: readonly SignalName[];
  readonly #policy: ModulePolicy;
  readonly #log: Logger;
  readonly #listeners: Listener[] = [];
  readonly #host: ModuleHost;
  readonly #dispatcher: Dispatcher;
  readonly #swaps: SwapRunner;
  readonly #faults: FaultRecovery;
  readonly #sync: CheckpointScheduler | null;
  readonly #reports: QuotaReports | null;
  readonly #gate: OutputGate;

  constructor(options: ComponentOptions) {
    this.name = options.name;
    this.#policy = options.policy;
    this.signals = options.signals ?? [];
    const parts = wireComponent(options, {
      swapped: (report, replaced) => {
        for (const l of this.#listeners) l.onSwap?.(report, replaced);
      },
      faulted: (fault) => {
        for (const l of this.#listeners) l.onFault?.(fault);
      },
      quotaHit: (record) => {
        for (const l of this.#listeners) l.onQuota?.(record);
      },
      enqueue: (event) => this.enqueue(event),
    });
    this.memory = parts.memory;
    this.environment = parts.environment;
    this.#log = parts.log;
    this.#gate = parts.gate;
    this.#host = parts.host;
    this.#dispatcher = parts.dispatcher;
    this.#swaps = parts.swaps;
    this.#faults = parts.faults;
    this.#sync = parts.sync;
    this.#reports = parts.reports;
  }

  get state(): ComponentState {
    return this.#dispatcher.state;
  }
  get module(): PreparedModule | null {
    return this.#dispatcher.module;
  }
  /** The dirty-page checkpoint (snapshot policy 'incremental'): what a crash checkpoint writes to disk. */
  get pageCheckpoint(): DirtyPageCheckpoint | null {
    return this.#sync?.checkpoint ?? null;
  }
  get policy(): ModulePolicy {
    return this.#policy;
  }
  get queueDepth(): number {
    return this.#dispatcher.queueDepth;
  }
  get upgradeInFlight(): boolean {
    return this.#swaps.inFlight;
  }

  /** Where the component's outputs pass: held until their event is durable (a journal), or open. */
  get outputGate(): OutputGate {
    return this.#gate;
  }

  /** What recovery (host/durability/) replays the journal through; only before the sources open. */
  get recovery() {
    const timers = this.#host.timers;
    const dispatcher = this.#dispatcher;
    return {
      replay: (event: ComponentEvent) => dispatcher.replay(event),
      replayTimerExpiry: (id: number) => timers.replayExpiry(id),
      resumeTimers: () => timers.resume(),
      enqueue: (event: ComponentEvent) => this.enqueue(event),
      memory: this.memory,
      pages: this.pageCheckpoint,
      get module() {
        return dispatcher.module;
      },
      timerSnapshot: () => timers.snapshot(),
      restoreTimers: (snapshot: TimerSnapshot) => timers.restore(snapshot),
    };
  }

  /** Batches of messages delivered through the module's on_messages export so far. */
  get batches(): number {
    return this.#dispatcher.batches;
  }

  on(listener: Listener): void {
    this.#listeners.push(listener);
  }

  attachChannel(index: number, channel: Channel): void {
    this.#host.attachChannel(index, channel);
  }

  /** Loads the first module: INIT over fresh memory (or RESTART over memory already initialised). */
  async load(module: PreparedModule): Promise<SwapReport> {
    const report = await this.#swaps.request(module, 'upgrade');
    if (report.result !== 'ok') throw new Error(`${this.name}: loading ${module.name}@${module.version} failed: ${report.cause}`);
    return report;
  }

  /**
   * Queues an upgrade behind the events already waiting (gen_server style). Resolves with the
   * swap report once the new module runs and the events queued meanwhile were dispatched.
   */
  upgrade(module: PreparedModule, reason: SwapReport['reason'] = 'upgrade'): Promise<SwapReport> {
    return this.#swaps.request(module, reason);
  }

  /**
   * The rollback the component asked for (ComponentOptions.rollback), to `module`: it goes to
   * the front of the queue and its report carries `verdict` as `automatic`. Returns null (and
   * logs why) when another swap is already queued.
   */
  rollBackNow(module: PreparedModule, verdict: string): Promise<SwapReport> | null {
    if (this.#swaps.inFlight) {
      this.#log.warn(`not rolling back (an upgrade is already queued): ${verdict}`);
      return null;
    }
    this.#log.warn(`rolling back to ${module.version} by itself: ${verdict}`);
    return this.#swaps.request(module, 'rollback', verdict);
  }

  /** Adds an event to the bounded FIFO queue; false when it was refused (full: counted as dropped). */
  enqueue(event: ComponentEvent): boolean {
    return this.#dispatcher.enqueue(event);
  }

  /** A place in the bus share for a message its sender holds for now (Dispatcher.reserveBus). */
  reserveBus(): boolean {
    return this.#dispatcher.reserveBus();
  }

  /** Queues a bus message whose place reserveBus() took. */
  enqueueReserved(event: ComponentEvent): boolean {
    return this.#dispatcher.enqueueReserved(event);
  }

  /** enqueueReserved bound once: a sender's output gate holds a bus message with it, not with a closure. */
  readonly enqueueHeld = (event: ComponentEvent): void => {
    this.#dispatcher.enqueueReserved(event);
  };

  /** The queue is at half its bound or more: a TCP source stops reading (back-pressure). */
  get queueAboveHighWater(): boolean {
    return this.#dispatcher.aboveHighWater;
  }

  /** Calls `resume` once the queue is down to a quarter of its bound (a paused TCP connection). */
  whenQueueBelowLowWater(resume: () => void): void {
    this.#dispatcher.whenBelowLowWater(resume);
  }

  /** A signal the component subscribed to; dropped (and counted) when the queue is full. */
  deliverSignal(name: SignalName): void {
    if (this.signals.includes(name)) this.enqueue({ kind: 'signal', signo: SIGNALS[name], name });
  }

  /** Runs the module's `status` export: the text `hotswap show` prints (paper, Table 1). */
  show(): string {
    const instance = this.#dispatcher.instance;
    if (!instance) return `${this.name}: no module running (state ${this.state})\n`;
    return this.#host.captureOutput(() => instance.status());
  }

  status(): ComponentStatus {
    const module = this.#dispatcher.module;
    const header = this.memory.header();
    return {
      name: this.name,
      module: module?.name ?? null,
      version: module?.version ?? null,
      layoutVersion: header.initialised ? header.layoutVersion : null,
      state: this.state,
      queueDepth: this.queueDepth,
      dropped: this.#dispatcher.dropped,
      handled: { ...this.#dispatcher.handled },
      faults: this.#faults.faults,
      quotaHits: this.#host.quotas?.hits.toJSON() ?? {},
      quotaViolations: this.#faults.quotaViolations,
      timers: this.#host.timers.size,
      memoryPages: this.memory.pages,
      persistentBytes: this.memory.persistentBytesInUse(),
      upgrades: this.#swaps.upgrades,
      lastUpgrade: this.#swaps.last,
    };
  }

  /** TERM for good: the engine is shutting down. Timers stop; queued events are dispatched first. */
  stop(): void {
    this.#dispatcher.drain();
    try {
      this.#dispatcher.instance?.term();
    } catch (e) {
      this.#log.warn(`term trapped during shutdown: ${(e as Error).message}`);
    }
    this.#host.stop();
    this.#reports?.stop();
    this.#sync?.stop();
    this.#dispatcher.bind(null);
    this.#dispatcher.state = 'stopped';
  }
}
