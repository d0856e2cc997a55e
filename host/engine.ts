/**
 * The engine: owns the components, their sources and capabilities, the module factory and the
 * signal router, and runs upgrades and rollbacks. The control API and the CLI are thin layers
 * over its public methods; everything it needs comes in through EngineConfig and EngineOptions.
 */
import { join } from 'node:path';
import type { SignalName } from './abi/abi.js';
import {
  type Component,
  type ComponentStatus,
  DEFAULT_DISPATCH,
  DispatchScheduler,
  type FaultRecord,
  UpgradeInProgress,
} from './component/component.js';
import { type EventTap, noTap } from './component/events.js';
import { ModuleFactory } from './component/module-factory.js';
import type { SwapReport } from './component/swap.js';
import type { ComponentConfig, EngineConfig } from './config.js';
import { DEFAULT_DURABILITY, dropDurable, openDurable } from './durability/levels.js';
import { Attempts, isRefusal, type Rejection, type UpgradeLog } from './engine/attempts.js';
import { ComponentBus } from './engine/bus.js';
import { ComponentEntry } from './engine/component-entry.js';
import { type DeploymentFile, Deployments } from './engine/deployments.js';
import { policyOf } from './engine/policy.js';
import { RollbackRule, type RollbackTarget } from './engine/rollback-rule.js';
import { Logger } from './log.js';
import { CheckedModuleStore } from './modules/checked-store.js';
import { compileEagerly, type PreparedModule } from './modules/prepared.js';
import { PreparedModuleCache } from './modules/prepared-cache.js';
import { ModulePreparer } from './modules/preparer.js';
import { seededPreparedDir } from './paths.js';
import { BundledModules } from './repository/bundled.js';
import { type ModuleRepository, NotFound } from './repository/repository.js';
import { SignalRouter } from './sources/signals.js';

export type { Rejection, UpgradeLog } from './engine/attempts.js';
export type { RollbackTarget } from './engine/rollback-rule.js';

export class UnknownComponent extends Error {
  constructor(name: string) {
    super(`no component named "${name}"`);
    this.name = 'UnknownComponent';
  }
}

/** What can be asked to run: a stored version, or module bytes handed over directly. */
export type UpgradeTarget =
  | { version: string }
  | { bytes: Uint8Array; version?: string }
  /** A module already prepared for this component (a kept previous version, for rollback). */
  | { module: PreparedModule };

export interface EngineOptions {
  repository?: ModuleRepository;
  tap?: EventTap;
  /** The engine's own logger (components log under their own name, at config.logLevel). */
  logger?: Logger;
  /** Where every swap, fault and refused attempt is recorded (and the rollback rule's fallback). */
  history?: UpgradeLog;
  /** Where the components created and removed at runtime are kept (absent: not kept). */
  deployments?: DeploymentFile;
  /**
   * Keep each component's journal under `<dataDir>/durable/` at its `durability` setting and
   * recover from it on start (docs/DURABILITY.md). `hotswap start` (ControlPlane) sets it; an
   * embedded engine opts in, so two programs in one directory never replay each other's.
   */
  durable?: boolean;
}

export class Engine {
  readonly config: EngineConfig;
  readonly repository: ModuleRepository;
  readonly #entries = new Map<string, ComponentEntry>();
  readonly #bus = new ComponentBus((name) => this.#entries.get(name)?.component);
  readonly #log: Logger;
  readonly #tap: EventTap;
  readonly #busy = new Set<string>();
  readonly #attempts: Attempts;
  readonly #rollbacks: RollbackRule;
  #signals: SignalRouter | null = null;
  /** Prepares modules: its worker thread does the binaryen work, off this event loop. */
  readonly #factory: ModuleFactory;
  /** Modules already prepared: going back to a version skips preparing it again. */
  readonly #prepared = new PreparedModuleCache();
  /** One round-robin of dispatch slices for all components: a deep queue cannot starve another. */
  readonly #scheduler: DispatchScheduler;
  /** Components created and removed at runtime (POST/DELETE /v1/components). */
  readonly deployments: Deployments;
  readonly #durable: boolean;

  private constructor(config: EngineConfig, options: EngineOptions) {
    this.config = config;
    this.repository = options.repository ?? new BundledModules();
    this.#log = options.logger ?? new Logger('engine', config.logLevel, undefined, config.logFormat);
    this.#tap = options.tap ?? noTap;
    this.#attempts = new Attempts(options.history, this.#log);
    this.#rollbacks = new RollbackRule(options.history);
    this.#scheduler = new DispatchScheduler({ ...DEFAULT_DISPATCH, ...config.dispatch });
    const self = { has: (n: string) => this.#entries.has(n), start: (c: ComponentConfig) => this.#startComponent(c) };
    const dropData = (n: string): boolean => dropDurable(config.dataDir, n);
    this.deployments = new Deployments(
      { ...self, stop: (n) => this.#stopComponent(n), dropData },
      config.deploy,
      options.deployments,
      this.#log,
    );
    this.#durable = options.durable === true;
    // A durable engine owns its data directory, so it keeps the worker's output there too: a
    // restart (after a SIGKILL, say) then skips binaryen for every module it ran before. Every
    // engine reads the build's seeds (the bundled modules under the default policies).
    const kept = this.#durable ? join(config.dataDir, 'prepared') : null;
    this.#factory = new ModuleFactory(new ModulePreparer({ store: new CheckedModuleStore(kept, [seededPreparedDir]) }));
  }

  /** Creates every configured component, loads its module, and opens its sockets. */
  static async start(config: EngineConfig, options: EngineOptions = {}): Promise<Engine> {
    compileEagerly();
    const engine = new Engine(config, options);
    try {
      for (const c of engine.deployments.initial(config.components)) await engine.#startComponent(c);
      engine.#signals = new SignalRouter((name) => engine.#deliverSignal(name));
    } catch (e) {
      await engine.stop();
      throw e;
    }
    return engine;
  }

  async #startComponent(config: ComponentConfig): Promise<void> {
    const log = this.#log.child(config.name);
    const durability = config.durability ?? DEFAULT_DURABILITY;
    const journal = this.#durable ? openDurable(this.config.dataDir, config.name, durability, log) : null;
    const entry = new ComponentEntry(
      config,
      {
        policy: policyOf(config),
        tap: this.#tap,
        bus: (to, from, bytes) => this.#bus.deliver(to, from, bytes),
        rollback: (verdict) => this.#rollBackAutomatically(config.name, verdict),
        scheduler: this.#scheduler,
      },
      log,
      journal,
    );
    this.#entries.set(config.name, entry); // registered first: stop() closes what start() opened
    await entry.start(
      async () => {
        const stored = await this.repository.get(config.module, config.version);
        return this.prepare(config.name, stored.bytes, config.version);
      },
      (bytes, version) => this.prepare(config.name, bytes, version),
    );
    // From now on every swap and fault is recorded; the first load is not an attempt to record.
    entry.component.on({
      onSwap: (report, replaced) => {
        this.#rollbacks.noteSwap(report, replaced);
        if (report.result === 'ok' && report.to) this.deployments.noteVersion(report.component, report.to);
        this.#attempts.swap(report);
      },
      onFault: (fault) => this.#attempts.fault(fault),
      onQuota: (record) => this.#attempts.quota(record),
    });
  }

  /** Closes a component's sources, gives its module the final TERM and forgets it. */
  async #stopComponent(name: string): Promise<void> {
    const entry = this.#entries.get(name);
    if (!entry) return;
    this.#entries.delete(name);
    this.#bus.forget(name);
    await entry.close();
    this.#rollbacks.forget(name);
  }

  /** Every finished swap (upgrade, rollback, failed attempt) of every component: feeds metrics. */
  onSwap(listener: (report: SwapReport) => void): void {
    this.#attempts.onSwap(listener);
  }

  /** Every trap while handling an event: feeds metrics. */
  onFault(listener: (fault: FaultRecord) => void): void {
    this.#attempts.onFault(listener);
  }

  /** Every upgrade or rollback refused before a swap: feeds metrics. */
  onRejected(listener: (rejection: Rejection) => void): void {
    this.#attempts.onRejected(listener);
  }

  component(name: string): Component {
    return this.#entry(name).component;
  }

  componentConfig(name: string): ComponentConfig {
    return this.#entry(name).config;
  }

  names(): string[] {
    return [...this.#entries.keys()];
  }

  status(): ComponentStatus[] {
    return [...this.#entries.values()].map((e) => e.component.status());
  }

  /** Addresses the component's sources are bound to, by channel (useful when ports were 0). */
  addresses(name: string): { proto: string; host: string; port: number }[] {
    return this.#entry(name).addresses();
  }

  /** Checks, compiles and warms up module bytes for a component, off the critical path. */
  async prepare(name: string, bytes: Uint8Array, version?: string): Promise<PreparedModule> {
    const entry = this.#entry(name);
    const module = await this.prepareFor(entry.config, bytes, version);
    // Crash survival: the bytes of a module a component may run are kept where recovery finds them.
    entry.keepModule(module, bytes);
    return module;
  }

  /** The same for a component not created yet (POST /v1/components with module bytes). */
  async prepareFor(config: ComponentConfig, bytes: Uint8Array, version?: string): Promise<PreparedModule> {
    const claimed = { name: config.module, ...(version !== undefined ? { version } : {}) };
    const policy = policyOf(config);
    return this.#prepared.get(bytes, claimed, policy, () => this.#factory.prepare(bytes, claimed, policy));
  }

  /**
   * Upgrades a component: fetch (or take) the bytes, check, compile and warm up while the old
   * version keeps serving, then queue the swap behind the events already waiting. A refusal
   * before the swap (unknown version, failed checks, damaged blob) is recorded, then thrown.
   */
  async upgrade(name: string, target: UpgradeTarget, reason: SwapReport['reason'] = 'upgrade'): Promise<SwapReport> {
    const entry = this.#entry(name);
    if (this.#busy.has(name) || entry.component.upgradeInFlight) throw new UpgradeInProgress(name);
    const from = entry.component.module?.version ?? null;
    this.#busy.add(name);
    try {
      const module = await this.#moduleFor(entry, target);
      const report = await entry.component.upgrade(module, reason);
      this.#log.info(
        `${name}: ${report.reason} ${report.from} -> ${report.to}: ${report.result}, pause ${report.pauseUs} µs, ` +
          `${report.queued} events queued${report.cause ? ` (${report.cause})` : ''}`,
      );
      // The report is an acknowledgement: it leaves once the swap's journal record is durable.
      await new Promise<void>((durable) => entry.component.outputGate.pass(durable));
      return report;
    } catch (e) {
      const to = 'module' in target ? target.module.version : (target.version ?? null);
      if (isRefusal(e)) this.#attempts.rejected({ component: name, kind: reason, from, to, cause: e.message });
      throw e;
    } finally {
      this.#busy.delete(name);
    }
  }

  /** Goes back to `version`, or to where the RollbackRule (host/engine/rollback-rule.ts) says. */
  async rollback(name: string, version?: string): Promise<SwapReport> {
    const component = this.component(name);
    const running = component.module?.version ?? null;
    let target: RollbackTarget;
    try {
      target = this.#rollbacks.target(name, running, version);
    } catch (e) {
      if (isRefusal(e))
        this.#attempts.rejected({ component: name, kind: 'rollback', from: running, to: version ?? null, cause: e.message });
      throw e;
    }
    return this.upgrade(name, target, 'rollback');
  }

  /**
   * Records an attempt the caller refused before asking the engine (the HTTP layer: a bad
   * signature), so the engine stays the one place that writes the history.
   */
  recordRejected(name: string, kind: 'upgrade' | 'rollback', to: string | null, cause: string): void {
    const from = this.component(name).module?.version ?? null;
    this.#attempts.rejected({ component: name, kind, from, to, cause });
  }

  /**
   * A version failed its probation (the component's verdict): roll back where the rule says.
   * Runs inside the component's dispatcher, so a target kept in memory is queued before the
   * next waiting event; one only in the history must be fetched and prepared first.
   */
  #rollBackAutomatically(name: string, verdict: string): void {
    const entry = this.#entry(name);
    const { component, log } = entry;
    let target: RollbackTarget;
    try {
      target = this.#rollbacks.target(name, component.module?.version ?? null);
    } catch (e) {
      log.warn(`not rolling back (${(e as Error).message}): ${verdict}`);
      return;
    }
    if ('module' in target) {
      void component.rollBackNow(target.module, verdict);
      return;
    }
    this.#moduleFor(entry, target).then(
      (module) => void component.rollBackNow(module, verdict),
      (e: Error) => log.error(`not rolling back to ${target.version} (${e.message}): ${verdict}`),
    );
  }

  async #moduleFor(entry: ComponentEntry, target: UpgradeTarget): Promise<PreparedModule> {
    const name = entry.config.name;
    if ('module' in target) return target.module;
    if ('bytes' in target) return this.prepare(name, target.bytes, target.version);
    const stored = await this.repository.get(entry.config.module, target.version);
    return this.prepare(name, stored.bytes, stored.version);
  }

  #entry(name: string): ComponentEntry {
    const entry = this.#entries.get(name);
    if (!entry) throw new UnknownComponent(name);
    return entry;
  }

  /**
   * A bus message from `from` to `to`. A reply to it goes back to `from` as a message that
   * cannot itself be replied to (hs.reply returns noCurrentMessage there): two modules that
   * answer everything, errors included, would otherwise bounce each message between them (or
   * within one component, to itself) forever.
   */
  #deliverSignal(name: SignalName): void {
    this.#log.info(`received ${name}`);
    for (const e of this.#entries.values()) e.component.deliverSignal(name);
  }

  /** Graceful stop: close the sockets, dispatch what is queued, TERM every module. */
  async stop(): Promise<void> {
    this.#signals?.close();
    this.#signals = null;
    for (const name of this.names()) await this.#stopComponent(name);
    this.#prepared.clear();
    await this.#factory.close();
  }
}

export { policyOf } from './engine/policy.js';
export { NotFound };
