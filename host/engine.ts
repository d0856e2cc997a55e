import v8 from 'node:v8';
import { BUS_CHANNEL, HostResult, MEMORY_BASE, type SignalName } from './abi/abi.js';
import { Component, UpgradeInProgress, type ComponentStatus, type FaultRecord } from './component/component.js';
import { noTap, type EventTap } from './component/events.js';
import type { SwapReport } from './component/swap.js';
import { GrantedCapabilities } from './capabilities/granted.js';
import { DEFAULT_PROBATION, type ComponentConfig, type EngineConfig } from './config.js';
import { Logger } from './log.js';
import type { ModulePolicy } from './modules/check.js';
import { prepareModule, type PreparedModule } from './modules/prepared.js';
import { PreparedModuleCache } from './modules/prepared-cache.js';
import { ModulePreparer } from './modules/preparer.js';
import { BundledModules } from './repository/bundled.js';
import { NotFound, type ModuleRepository } from './repository/repository.js';
import { SignalRouter } from './sources/signals.js';
import { TcpSource } from './sources/tcp.js';
import { UdpSource } from './sources/udp.js';

// Compile every function of a module when it is compiled (ahead of the swap) instead of on its
// first call, which would otherwise land inside the first events after a swap (facts.md).
v8.setFlagsFromString('--no-wasm-lazy-compilation');

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

interface Entry {
  readonly component: Component;
  readonly config: ComponentConfig;
  readonly sources: (UdpSource | TcpSource)[];
  /** Host capabilities the configuration granted (host/capabilities/), or null. */
  readonly capabilities: GrantedCapabilities | null;
}

export interface EngineOptions {
  repository?: ModuleRepository;
  tap?: EventTap;
  logger?: Logger;
}

/**
 * The engine: owns the components, their sources and the signal router, and runs upgrades.
 * The control API and the CLI are thin layers over its public methods.
 */
export class Engine {
  readonly config: EngineConfig;
  readonly repository: ModuleRepository;
  readonly #entries = new Map<string, Entry>();
  readonly #log: Logger;
  readonly #tap: EventTap;
  readonly #busy = new Set<string>();
  readonly #swapListeners: ((report: SwapReport) => void)[] = [];
  readonly #faultListeners: ((fault: FaultRecord) => void)[] = [];
  #signals: SignalRouter | null = null;
  /** Runs the binaryen work of preparing modules in a worker thread, off this event loop. */
  readonly #preparer = new ModulePreparer();
  /** Modules already prepared: going back to a version skips preparing it again. */
  readonly #prepared = new PreparedModuleCache();

  private constructor(config: EngineConfig, options: EngineOptions) {
    this.config = config;
    this.repository = options.repository ?? new BundledModules();
    this.#log = options.logger ?? new Logger('engine', config.logLevel);
    this.#tap = options.tap ?? noTap;
  }

  /** Creates every configured component, loads its module, and opens its sockets. */
  static async start(config: EngineConfig, options: EngineOptions = {}): Promise<Engine> {
    const engine = new Engine(config, options);
    try {
      for (const c of config.components) await engine.#startComponent(c);
      engine.#signals = new SignalRouter((name) => engine.#deliverSignal(name));
    } catch (e) {
      await engine.stop();
      throw e;
    }
    return engine;
  }

  async #startComponent(config: ComponentConfig): Promise<void> {
    const log = new Logger(config.name, this.config.logLevel);
    const component = new Component({
      name: config.name,
      policy: policyOf(config),
      signals: config.signals,
      snapshotPolicy: config.snapshot,
      tap: this.#tap,
      logger: log,
      bus: (to, from, bytes) => this.#deliverBus(to, from, bytes),
      probation: config.probation ?? DEFAULT_PROBATION,
    });
    component.on({
      onSwap: (report) => this.#swapListeners.forEach((l) => l(report)),
      onFault: (fault) => this.#faultListeners.forEach((l) => l(fault)),
    });
    // Granted before the first module loads: its INIT may already use them.
    const capabilities = await GrantedCapabilities.open(component, config.capabilities ?? {}, log);
    const entry: Entry = { component, config, sources: [], capabilities };
    this.#entries.set(config.name, entry);
    const stored = await this.repository.get(config.module, config.version);
    const module = await this.prepare(config.name, stored.bytes, config.version);
    const report = await component.load(module);
    log.info(`loaded ${config.module}@${module.version} in ${report.pauseUs} µs`);
    for (const [channel, l] of config.listen.entries()) {
      const source = l.proto === 'udp'
        ? await UdpSource.listen(component, channel, l)
        : await TcpSource.listen(component, channel, l);
      entry.sources.push(source);
      log.info(`channel ${channel}: ${l.proto} ${source.address.host}:${source.address.port}`);
    }
  }

  /** Every finished swap (upgrade, rollback, failed attempt) of every component: feeds history and metrics. */
  onSwap(listener: (report: SwapReport) => void): void {
    this.#swapListeners.push(listener);
  }

  /** Every trap while handling an event: feeds history and metrics. */
  onFault(listener: (fault: FaultRecord) => void): void {
    this.#faultListeners.push(listener);
  }

  component(name: string): Component {
    const entry = this.#entries.get(name);
    if (!entry) throw new UnknownComponent(name);
    return entry.component;
  }

  componentConfig(name: string): ComponentConfig {
    const entry = this.#entries.get(name);
    if (!entry) throw new UnknownComponent(name);
    return entry.config;
  }

  names(): string[] {
    return [...this.#entries.keys()];
  }

  status(): ComponentStatus[] {
    return [...this.#entries.values()].map((e) => e.component.status());
  }

  /** Addresses the component's sources are bound to, by channel (useful when ports were 0). */
  addresses(name: string): { proto: string; host: string; port: number }[] {
    const entry = this.#entries.get(name);
    if (!entry) throw new UnknownComponent(name);
    return entry.sources.map((s) => ({ proto: s.kind, ...s.address }));
  }

  /** Checks, compiles and warms up module bytes for a component, off the critical path. */
  async prepare(name: string, bytes: Uint8Array, version?: string): Promise<PreparedModule> {
    const entry = this.#entries.get(name);
    if (!entry) throw new UnknownComponent(name);
    const claimed = { name: entry.config.module, ...(version !== undefined ? { version } : {}) };
    const policy = policyOf(entry.config);
    return this.#prepared.get(bytes, claimed, policy, () =>
      prepareModule(bytes, claimed, policy, this.#preparer));
  }

  /**
   * Upgrades a component: fetch (or take) the bytes, check, compile and warm up while the old
   * version keeps serving, then queue the swap behind the events already waiting.
   */
  async upgrade(name: string, target: UpgradeTarget, reason: SwapReport['reason'] = 'upgrade'): Promise<SwapReport> {
    const entry = this.#entries.get(name);
    if (!entry) throw new UnknownComponent(name);
    if (this.#busy.has(name) || entry.component.upgradeInFlight) throw new UpgradeInProgress(name);
    this.#busy.add(name);
    try {
      let module: PreparedModule;
      if ('module' in target) {
        module = target.module;
      } else if ('bytes' in target) {
        module = await this.prepare(name, target.bytes, target.version);
      } else {
        const stored = await this.repository.get(entry.config.module, target.version);
        module = await this.prepare(name, stored.bytes, stored.version);
      }
      const report = await entry.component.upgrade(module, reason);
      this.#log.info(
        `${name}: ${report.reason} ${report.from} -> ${report.to}: ${report.result}, pause ${report.pauseUs} µs, ` +
          `${report.queued} events queued${report.cause ? ` (${report.cause})` : ''}`,
      );
      return report;
    } finally {
      this.#busy.delete(name);
    }
  }

  /**
   * Goes back to `version`, or to the version the running one replaced in its last successful
   * upgrade: an upgrade with reason 'rollback' (control plane, issue 4; to reconcile with the
   * safety work's rollback if it lands its own).
   */
  async rollback(name: string, version?: string): Promise<SwapReport> {
    // The component keeps the replaced version prepared: no repository round trip, and it works
    // for modules that were uploaded as bytes and never stored.
    const previous = this.component(name).previous;
    if (version === undefined && previous) return this.upgrade(name, { module: previous }, 'rollback');
    const last = this.component(name).status().lastUpgrade;
    const target = version ?? (last?.result === 'ok' && last.from !== null ? last.from : undefined);
    if (target === undefined) throw new NotFound(`a previous version of ${name} to roll back to`);
    return this.upgrade(name, { version: target }, 'rollback');
  }

  #deliverBus(to: string, from: string, bytes: Buffer): number {
    const target = this.#entries.get(to);
    if (!target) return HostResult.unknownPeer;
    target.component.enqueue({
      kind: 'message',
      channel: BUS_CHANNEL,
      peer: from,
      payload: bytes,
      replyTo: { reply: (answer) => this.#deliverBus(from, to, answer) },
    });
    return HostResult.ok;
  }

  #deliverSignal(name: SignalName): void {
    this.#log.info(`received ${name}`);
    for (const e of this.#entries.values()) e.component.deliverSignal(name);
  }

  /** Graceful stop: close the sockets, dispatch what is queued, TERM every module. */
  async stop(): Promise<void> {
    this.#signals?.close();
    this.#signals = null;
    for (const e of this.#entries.values()) {
      await Promise.all(e.sources.map((s) => s.close()));
      e.capabilities?.beginShutdown(); // the final TERM may poison and withdraw through them
      e.component.stop();
      await e.capabilities?.close();
    }
    this.#entries.clear();
    this.#prepared.clear();
    await this.#preparer.close();
  }
}

export function policyOf(config: ComponentConfig): ModulePolicy {
  return {
    memoryBase: MEMORY_BASE,
    maxPages: Math.floor(config.limits.memoryBytes / 65536),
    maxModuleBytes: config.limits.moduleBytes,
    allowWasi: config.wasi,
    trackDirtyPages: config.snapshot === 'incremental',
    ...(config.limits.fuel !== undefined ? { fuel: config.limits.fuel } : {}),
  };
}

export { NotFound };
