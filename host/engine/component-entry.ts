/**
 * One configured component and what the engine opened for it: its granted capabilities, the
 * Component itself and its sources (sockets). Opening them and closing them in the right order
 * is this file's job; which module runs is the engine's.
 */
import { GrantedCapabilities } from '../capabilities/granted.js';
import { Component, type ComponentOptions, DEFAULT_PROBATION } from '../component/component.js';
import type { ComponentConfig } from '../config.js';
import type { DurableComponent } from '../durability/durable-component.js';
import type { Logger } from '../log.js';
import type { PreparedModule } from '../modules/prepared.js';
import { TcpSource } from '../sources/tcp.js';
import { UdpSource } from '../sources/udp.js';

/** What the engine hands every component: the parts of ComponentOptions that are not in its config. */
export type ComponentWiring = Required<Pick<ComponentOptions, 'policy' | 'tap' | 'bus' | 'rollback' | 'scheduler'>>;

export class ComponentEntry {
  readonly component: Component;
  readonly config: ComponentConfig;
  readonly log: Logger;
  readonly #sources: (UdpSource | TcpSource)[] = [];
  /** Host capabilities the configuration granted (host/capabilities/), or null. */
  readonly #capabilities: GrantedCapabilities | null;
  /** Crash survival (durability `os` or `fsync` in an engine that keeps journals), or null. */
  readonly #journal: DurableComponent | null;

  /** Opens the capabilities and creates the component (no module yet, nothing bound). */
  constructor(config: ComponentConfig, wiring: ComponentWiring, log: Logger, journal: DurableComponent | null = null) {
    this.config = config;
    this.log = log;
    this.#journal = journal;
    // Granted before the component exists: it hands them to its modules' imports.
    this.#capabilities = GrantedCapabilities.open(config.capabilities ?? {}, log);
    this.component = new Component({
      name: config.name,
      signals: config.signals,
      snapshotPolicy: config.snapshot,
      logger: log,
      ...wiring,
      ...(this.#capabilities ? { capabilities: this.#capabilities } : {}),
      probation: config.probation ?? DEFAULT_PROBATION,
      ...(config.limits.quotas ? { quotas: config.limits.quotas } : {}),
      ...(config.limits.queueEvents !== undefined ? { queueEvents: config.limits.queueEvents } : {}),
      ...(journal ? { journal } : {}),
    });
  }

  /**
   * Connects the granted sockets, replays the journal (if there is one with records; `prepare`
   * makes the module versions it names ready) or else loads `module`, then opens the sources:
   * nothing reaches the component from outside before its state is back.
   */
  async start(
    module: () => Promise<PreparedModule>,
    prepare: (bytes: Uint8Array, version: string) => Promise<PreparedModule>,
  ): Promise<void> {
    const { component, config } = this;
    // Before the first module loads: its INIT may already send on the granted sockets.
    await this.#capabilities?.connect(component);
    const journal = this.#journal;
    const recovered = journal ? await journal.recover(component.recovery, prepare) : null;
    if (recovered) {
      this.log.info(
        `recovered ${recovered.events} events from the journal in ${recovered.ms.toFixed(1)} ms ` +
          `(modules prepared in ${recovered.prepareMs.toFixed(0)} ms): running ${config.module}@${recovered.version}`,
      );
      if (recovered.version !== config.version)
        this.log.info(`the journal's ${recovered.version} runs, not the configured ${config.version}`);
    } else {
      const first = await module();
      const report = await component.load(first);
      const checked = first.checkedFrom === 'store' ? ', checked bytes kept from before' : '';
      this.log.info(
        `loaded ${config.module}@${first.version} in ${report.pauseUs} µs (prepared in ${first.prepareMs.toFixed(0)} ms${checked})`,
      );
    }
    journal?.noteConfig(JSON.stringify(config), recovered?.lastConfig ?? null);
    journal?.startCheckpoints(component.recovery);
    for (const [channel, l] of config.listen.entries()) {
      const source = l.proto === 'udp' ? await UdpSource.listen(component, channel, l) : await TcpSource.listen(component, channel, l);
      this.#sources.push(source);
      this.log.info(`channel ${channel}: ${l.proto} ${source.address.host}:${source.address.port}`);
    }
  }

  /** Module bytes that may be swapped in: the journal keeps them before it names them. */
  keepModule(module: PreparedModule, bytes: Uint8Array): void {
    this.#journal?.keepModule(module.sha256, bytes);
  }

  /** Addresses the sources are bound to, by channel (useful when ports were 0). */
  addresses(): { proto: string; host: string; port: number }[] {
    return this.#sources.map((s) => ({ proto: s.kind, ...s.address }));
  }

  /** Graceful stop: close the sockets, dispatch what is queued, TERM the module, then the capabilities. */
  async close(): Promise<void> {
    await Promise.all(this.#sources.map((s) => s.close()));
    this.#capabilities?.beginShutdown(); // the final TERM may poison and withdraw through them
    this.component.stop();
    await this.#journal?.close(); // the last records durable (their outputs have no socket left)
    await this.#capabilities?.close();
  }
}
