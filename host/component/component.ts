import { BUS_CHANNEL, HostResult, SIGNALS, type SignalName } from '../abi/abi.js';
import { buildImports, levelName, systemEnvironment, type Environment, type HostServices } from '../abi/imports.js';
import { DirtyPageCheckpoint } from '../abi/checkpoint.js';
import { PersistentMemory } from '../abi/memory.js';
import { Logger, type LogLevelName } from '../log.js';
import type { ProbationConfig } from '../config.js';
import type { ModulePolicy } from '../modules/check.js';
import type { PreparedModule } from '../modules/prepared.js';
import { WasiSandbox } from '../modules/wasi.js';
import { EventQueue } from './event-queue.js';
import { noTap, type ComponentEvent, type EventKind, type EventTap, type ReplyTarget } from './events.js';
import { CallbackTrap, ModuleInstance, type TrapKind } from './instance.js';
import { Probation } from './probation.js';
import { swapModule, type SnapshotPolicy, type SwapReport } from './swap.js';
import { TimerTable } from './timers.js';

export type ComponentState = 'loading' | 'running' | 'upgrading' | 'failed' | 'stopped';

/** A way out of the component: a UDP socket, a TCP listener's connections, ... (see sources/). */
export interface Channel {
  readonly kind: string;
  send(peer: string, bytes: Buffer): number;
}

/** Delivers a message to another component by name; returns a HostResult code. */
export type BusDeliver = (to: string, from: string, bytes: Buffer) => number;

export interface ComponentOptions {
  name: string;
  policy: ModulePolicy;
  signals?: readonly SignalName[];
  snapshotPolicy?: SnapshotPolicy;
  environment?: Environment;
  tap?: EventTap;
  logger?: Logger;
  bus?: BusDeliver;
  /** Health gate after each upgrade (absent: no automatic rollback). */
  probation?: ProbationConfig;
}

/** A fault: a trap while handling an event. Kept for `history` and metrics. */
export interface FaultRecord {
  at: string;
  component: string;
  module: string;
  version: string;
  event: string;
  error: string;
  /** Why it trapped: out of fuel, out of memory at the cap, stack overflow, abort, other trap. */
  kind: TrapKind;
  /** The callback that trapped (on_message, on_timer, ...). */
  callback: string;
}

export interface ComponentStatus {
  name: string;
  module: string | null;
  version: string | null;
  layoutVersion: number | null;
  state: ComponentState;
  queueDepth: number;
  handled: Record<EventKind, number>;
  faults: number;
  timers: number;
  memoryPages: number;
  persistentBytes: number;
  upgrades: number;
  lastUpgrade: SwapReport | null;
}

type Listener = { onSwap?(report: SwapReport): void; onFault?(fault: FaultRecord): void };

/**
 * A component: the paper's persistent main task module around one swappable implementation
 * module. It owns the persistent memory, the FIFO queue, the timers and the live instance, and
 * dispatches one event at a time to the module.
 */
export class Component implements HostServices {
  readonly name: string;
  readonly memory: PersistentMemory;
  readonly environment: Environment;
  readonly signals: readonly SignalName[];
  readonly #policy: ModulePolicy;
  readonly #snapshotPolicy: SnapshotPolicy;
  readonly #queue = new EventQueue<ComponentEvent>();
  readonly #timers: TimerTable;
  readonly #channels = new Map<number, Channel>();
  readonly #tap: EventTap;
  readonly #log: Logger;
  readonly #bus: BusDeliver | undefined;
  readonly #listeners: Listener[] = [];
  readonly #handled: Record<EventKind, number> = { message: 0, timer: 0, signal: 0, upgrade: 0 };
  #instance: ModuleInstance | null = null;
  #module: PreparedModule | null = null;
  /** The version the last successful swap replaced: where a rollback goes (docs/SAFETY.md). */
  #previous: PreparedModule | null = null;
  readonly #probation: Probation | null;
  /** Created with the first module that imports WASI; then re-bound to every new instance. */
  #wasi: WasiSandbox | undefined;
  /** Why the queued swap was started by the component itself (probation), for its report. */
  #automatic: string | undefined;
  #state: ComponentState = 'loading';
  /** The incremental rollback copy (snapshot policy 'incremental'), synced when the queue is idle. */
  readonly #checkpoint: DirtyPageCheckpoint | null;
  #syncTimer: NodeJS.Timeout | null = null;
  #replyTo: ReplyTarget | undefined;
  #output = '';
  #draining = false;
  #scheduled = false;
  #faults = 0;
  #upgrades = 0;
  #lastUpgrade: SwapReport | null = null;
  #upgradeInFlight = false;
  /** A finished swap waiting for the events that queued during it to be dispatched. */
  #pendingReport: { report: SwapReport; remaining: number; started: number; done: (r: SwapReport) => void } | null =
    null;

  constructor(options: ComponentOptions) {
    this.name = options.name;
    this.#policy = options.policy;
    this.memory = new PersistentMemory({ memoryBase: options.policy.memoryBase, maxBytes: options.policy.maxPages * 65536 });
    this.environment = options.environment ?? systemEnvironment;
    this.signals = options.signals ?? [];
    this.#snapshotPolicy = options.snapshotPolicy ?? (options.policy.trackDirtyPages ? 'incremental' : 'always');
    this.#checkpoint = this.#snapshotPolicy === 'incremental' ? new DirtyPageCheckpoint(this.memory) : null;
    this.#tap = options.tap ?? noTap;
    this.#log = options.logger ?? new Logger(options.name);
    this.#bus = options.bus;
    this.#probation = options.probation ? new Probation(options.probation) : null;
    this.#timers = new TimerTable((id) => this.enqueue({ kind: 'timer', id }), () => this.environment.monotonicMs());
  }

  get state(): ComponentState {
    return this.#state;
  }
  get module(): PreparedModule | null {
    return this.#module;
  }
  /** The version the last successful swap replaced (null before the first upgrade). */
  get previous(): PreparedModule | null {
    return this.#previous;
  }
  get policy(): ModulePolicy {
    return this.#policy;
  }
  get queueDepth(): number {
    return this.#queue.length;
  }
  get upgradeInFlight(): boolean {
    return this.#upgradeInFlight;
  }

  on(listener: Listener): void {
    this.#listeners.push(listener);
  }

  attachChannel(index: number, channel: Channel): void {
    this.#channels.set(index, channel);
  }

  /** Loads the first module: INIT over fresh memory (or RESTART over memory already initialised). */
  async load(module: PreparedModule): Promise<SwapReport> {
    const report = await this.#enqueueSwap(module, 'upgrade');
    if (report.result !== 'ok') throw new Error(`${this.name}: loading ${module.name}@${module.version} failed: ${report.cause}`);
    return report;
  }

  /**
   * Queues an upgrade behind the events already waiting (gen_server style). Resolves with the
   * swap report once the new module runs and the events queued meanwhile were dispatched.
   */
  upgrade(module: PreparedModule, reason: SwapReport['reason'] = 'upgrade'): Promise<SwapReport> {
    if (this.#upgradeInFlight) {
      return Promise.reject(new UpgradeInProgress(this.name));
    }
    return this.#enqueueSwap(module, reason);
  }

  #enqueueSwap(module: PreparedModule, reason: SwapReport['reason'], automatic?: string): Promise<SwapReport> {
    this.#upgradeInFlight = true;
    return new Promise((resolve) => {
      const event: ComponentEvent = {
        kind: 'upgrade',
        module,
        reason,
        done: (report) => {
          this.#upgradeInFlight = false;
          resolve(report);
        },
      };
      this.#automatic = automatic; // one swap in flight at a time: #runSwap puts it in the report
      // A failed component has no module to run the waiting events: its recovery goes first; so
      // does an automatic rollback, so that no waiting event meets the version judged faulty.
      if (this.#state === 'failed' || automatic !== undefined) this.#queue.unshift(event);
      else this.#queue.push(event);
      this.#schedule();
    });
  }

  /** Adds an event to the FIFO queue; the dispatcher runs on the next turn of the event loop. */
  enqueue(event: ComponentEvent): void {
    if (this.#state === 'stopped') return;
    this.#queue.push(event);
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#scheduled && !this.#draining) {
      this.#scheduled = true;
      setImmediate(this.#drain);
    }
  }

  deliverSignal(name: SignalName): void {
    if (this.signals.includes(name)) this.enqueue({ kind: 'signal', signo: SIGNALS[name], name });
  }

  /**
   * Dispatches queued events, one at a time, in order, until the queue is empty. A failed
   * component (no instance could be restarted) keeps its events queued for the version that
   * recovers it, rather than dropping them.
   */
  readonly #drain = (): void => {
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
    this.#scheduleSync();
  };

  /**
   * Keeps the checkpoint close to memory, so that the sync at the start of a swap has little left
   * to copy: after each drain, at most every IDLE_SYNC_MS, off the swap path.
   */
  #scheduleSync(): void {
    if (!this.#checkpoint || this.#syncTimer || this.#state === 'stopped') return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = null;
      // Between events, never inside one: timers run outside the dispatcher's loop.
      if (this.#state !== 'stopped') this.#checkpoint!.sync();
    }, IDLE_SYNC_MS);
    this.#syncTimer.unref();
  }

  /** THE place every event passes before it reaches the module (journal seam: #tap). */
  #dispatch(event: ComponentEvent): void {
    this.#tap.beforeDispatch(this.name, event);
    if (event.kind === 'upgrade') {
      this.#runSwap(event.module, event.reason, event.done);
      this.#handled.upgrade++;
      return;
    }
    const instance = this.#instance;
    if (!instance || this.#state !== 'running') {
      this.#log.warn(`dropped ${event.kind} event: component is ${this.#state}`);
      return;
    }
    try {
      switch (event.kind) {
        case 'message':
          this.memory.writeInbox(event.channel, event.payload, event.peer, event.iface);
          this.#replyTo = event.replyTo;
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
      this.#fault(event, e);
    } finally {
      this.#replyTo = undefined;
    }
    this.#afterEvent();
  }

  #afterEvent(): void {
    const pending = this.#pendingReport;
    if (!pending) return;
    if (pending.remaining === pending.report.queued) {
      // The first event after the swap has now been handled: that ends the pause.
      pending.report.pauseUs = Math.round((performance.now() - pending.started) * 1000);
    }
    pending.remaining--;
    if (pending.remaining <= 0) this.#finishReport();
  }

  #finishReport(): void {
    const pending = this.#pendingReport!;
    this.#pendingReport = null;
    pending.report.phasesUs.drain = Math.round((performance.now() - pending.started) * 1000) - pending.report.pauseUs;
    if (pending.report.phasesUs.drain < 0) pending.report.phasesUs.drain = 0;
    for (const l of this.#listeners) l.onSwap?.(pending.report);
    pending.done(pending.report);
  }

  #runSwap(module: PreparedModule, reason: SwapReport['reason'], done: (r: SwapReport) => void): void {
    const started = performance.now();
    const wasFailed = this.#state === 'failed';
    const previousModule = this.#module;
    this.#state = 'upgrading';
    const report = swapModule(
      {
        name: this.name,
        memory: this.memory,
        snapshotPolicy: this.#snapshotPolicy,
        checkpoint: this.#checkpoint,
        current: () => this.#instance,
        instantiate: (m) => this.#instantiate(m),
        bind: (instance) => {
          this.#instance = instance;
          this.#module = instance ? instance.module : this.#module;
        },
      },
      module,
      reason,
    );
    this.#state = this.#instance ? 'running' : 'failed';
    if (report.result === 'ok') {
      this.#upgrades++;
      const outgoing = this.#module === module ? previousModule : null;
      if (outgoing) this.#previous = outgoing;
      if (reason === 'upgrade' && outgoing) this.#probation?.begin(module.version);
      else this.#probation?.end();
    }
    else this.#log.error(`${reason} to ${module.version} ${report.result}: ${report.cause}${report.rollbackError ? `; ${report.rollbackError}` : ''}`);
    if (wasFailed && this.#state === 'running') this.#log.info(`recovered by loading ${module.version}`);
    if (this.#automatic !== undefined) report.automatic = this.#automatic;
    this.#automatic = undefined;
    this.#lastUpgrade = report;
    report.queued = this.#queue.length;
    this.#pendingReport = { report, remaining: report.queued, started, done };
    // The pause ends when the first waiting event has been handled (#afterEvent), or now.
    if (report.queued === 0 || this.#state !== 'running') this.#finishReport();
  }

  /**
   * A trap while handling an event: the instance's transient state can't be trusted, so the
   * same module is instantiated again over the same persistent memory and RESTARTed; the queue
   * goes on with the next event (docs/SAFETY.md).
   */
  #fault(event: ComponentEvent, error: unknown): void {
    this.#faults++;
    const module = this.#module!;
    const record: FaultRecord = {
      at: new Date().toISOString(),
      component: this.name,
      module: module.name,
      version: module.version,
      event: describeEvent(event),
      error: error instanceof Error ? error.message : String(error),
      kind: error instanceof CallbackTrap ? error.kind : 'trap',
      callback: error instanceof CallbackTrap ? error.callback : `on_${event.kind}`,
    };
    this.#log.error(`${module.name}@${module.version} trapped handling ${record.event}: ${record.error}`);
    for (const l of this.#listeners) l.onFault?.(record);
    this.#instance = null;
    let verdict = this.#probation?.fault(module.version, record.error) ?? null;
    try {
      const again = this.#instantiate(module);
      const code = again.restart();
      if (code !== 0) throw new Error(`restart returned ${code}`);
      this.#instance = again;
    } catch (e) {
      this.#state = 'failed';
      this.#log.error(`could not re-instantiate ${module.name}@${module.version} after a trap: ${(e as Error).message}`);
      verdict ??= `${module.version} could not be restarted after a fault: ${(e as Error).message}`;
    }
    if (verdict !== null) this.#rollBackAutomatically(verdict);
  }

  /** Health-gated rollback: back to the version the last upgrade replaced (docs/SAFETY.md). */
  #rollBackAutomatically(verdict: string): void {
    const previous = this.#previous;
    if (!previous || this.#upgradeInFlight) {
      this.#log.warn(`not rolling back (${previous ? 'an upgrade is already queued' : 'no previous version'}): ${verdict}`);
      return;
    }
    this.#log.warn(`rolling back to ${previous.version} by itself: ${verdict}`);
    void this.#enqueueSwap(previous, 'rollback', verdict);
  }

  /** A new instance of `module` over this component's memory, imports and WASI sandbox. */
  #instantiate(module: PreparedModule): ModuleInstance {
    if (module.usesWasi) {
      this.#wasi ??= new WasiSandbox((stream, line) => this.#log.log(stream === 'stderr' ? 'warn' : 'info', `${stream}: ${line}`));
    }
    return new ModuleInstance(module, buildImports(this), { memory: this.memory, ...(this.#wasi ? { wasi: this.#wasi } : {}) });
  }

  /** Runs the module's `status` export: the text `hotswap show` prints (paper, Table 1). */
  show(): string {
    const instance = this.#instance;
    if (!instance) return `${this.name}: no module running (state ${this.#state})\n`;
    this.#output = '';
    instance.status();
    const text = this.#output;
    this.#output = '';
    return text;
  }

  status(): ComponentStatus {
    return {
      name: this.name,
      module: this.#module?.name ?? null,
      version: this.#module?.version ?? null,
      layoutVersion: this.memory.header().initialised ? this.memory.header().layoutVersion : null,
      state: this.#state,
      queueDepth: this.#queue.length,
      handled: { ...this.#handled },
      faults: this.#faults,
      timers: this.#timers.size,
      memoryPages: this.memory.pages,
      persistentBytes: this.memory.persistentBytesInUse(),
      upgrades: this.#upgrades,
      lastUpgrade: this.#lastUpgrade,
    };
  }

  /** TERM for good: the engine is shutting down. Timers stop; queued events are dispatched first. */
  stop(): void {
    this.#drain();
    try {
      this.#instance?.term();
    } catch (e) {
      this.#log.warn(`term trapped during shutdown: ${(e as Error).message}`);
    }
    this.#timers.clear();
    if (this.#syncTimer) clearTimeout(this.#syncTimer);
    this.#syncTimer = null;
    this.#instance = null;
    this.#state = 'stopped';
  }

  // ---- HostServices: called by the module through its imports ----

  reply(bytes: Buffer): number {
    const target = this.#replyTo;
    if (!target) return HostResult.noCurrentMessage;
    return target.reply(bytes);
  }

  send(channel: number, peer: string, bytes: Buffer): number {
    if (channel === BUS_CHANNEL) {
      return this.#bus ? this.#bus(peer, this.name, bytes) : HostResult.unknownPeer;
    }
    const ch = this.#channels.get(channel);
    if (!ch) return HostResult.unknownChannel;
    return ch.send(peer, bytes);
  }

  log(level: number, text: string): void {
    this.#log.log(levelName(level) as LogLevelName, text);
  }

  setTimer(id: number, delayMs: number, repeatMs: number): void {
    this.#timers.set(id, delayMs, repeatMs);
  }
  cancelTimer(id: number): boolean {
    return this.#timers.cancel(id);
  }
  timerDueIn(id: number): number {
    return this.#timers.dueIn(id);
  }
  timers(): ReturnType<TimerTable['list']> {
    return this.#timers.list();
  }

  output(text: string): void {
    this.#output += text;
  }
}

/** How soon after the queue went idle the checkpoint copies the pages written meanwhile. */
const IDLE_SYNC_MS = 20;

export class UpgradeInProgress extends Error {
  constructor(readonly component: string) {
    super(`an upgrade of ${component} is already in progress`);
    this.name = 'UpgradeInProgress';
  }
}

export function describeEvent(event: ComponentEvent): string {
  switch (event.kind) {
    case 'message':
      return `message on channel ${event.channel} from ${event.peer} (${event.payload.byteLength} bytes: ${JSON.stringify(event.payload.subarray(0, 48).toString('latin1'))})`;
    case 'timer':
      return `timer ${event.id}`;
    case 'signal':
      return `signal ${event.name}`;
    case 'upgrade':
      return `upgrade to ${event.module.version}`;
  }
}

