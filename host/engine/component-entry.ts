/**
 * One configured component and what the engine opened for it: its granted capabilities, the
 * Component itself and its sources (sockets). Opening them and closing them in the right order
 * is this file's job; which module runs is the engine's.
 */
import { GrantedCapabilities } from '../capabilities/granted.js';
import { Component, type ComponentOptions, DEFAULT_PROBATION } from '../component/component.js';
import type { ComponentConfig } from '../config.js';
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

  /** Opens the capabilities and creates the component (no module yet, nothing bound). */
  constructor(config: ComponentConfig, wiring: ComponentWiring, log: Logger) {
    this.config = config;
    this.log = log;
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
    });
  }

  /** Connects the granted sockets, loads `module`, then opens the configured sources. */
  async start(module: () => Promise<PreparedModule>): Promise<void> {
    const { component, config } = this;
    // Before the first module loads: its INIT may already send on the granted sockets.
    await this.#capabilities?.connect(component);
    const first = await module();
    const report = await component.load(first);
    this.log.info(`loaded ${config.module}@${first.version} in ${report.pauseUs} µs`);
    for (const [channel, l] of config.listen.entries()) {
      const source = l.proto === 'udp' ? await UdpSource.listen(component, channel, l) : await TcpSource.listen(component, channel, l);
      this.#sources.push(source);
      this.log.info(`channel ${channel}: ${l.proto} ${source.address.host}:${source.address.port}`);
    }
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
    await this.#capabilities?.close();
  }
}
