/**
 * The node agent: joins an engine to a fleet over NATS JetStream. It connects in the background
 * (the engine serves whether or not NATS is reachable), follows the desired states (watch, plus
 * a full read on every reconnect and on a timer, because a watch can stall when the stream's
 * leader changes), has each NodeComponent converge, and publishes the node's reports.
 */
import type { Engine } from '../engine.js';
import type { Logger } from '../log.js';
import { FleetStore } from './fleet-store.js';
import type { DesiredState } from './model.js';
import { NodeComponent, type VerifySignature } from './node-component.js';

export interface AgentOptions {
  servers: string[];
  node: string;
  /** The JetStream domain of the fleet's buckets (see ConnectOptions). */
  domain?: string;
  logger: Logger;
  /** Signature check for module bytes (when a trusted key is configured). */
  verify?: VerifySignature;
  /** How often the node re-publishes its reports (the controller's sign of life). */
  heartbeatMs?: number;
  /** How often the desired states are read in full, whatever the watch says. */
  pollMs?: number;
}

export const DEFAULT_HEARTBEAT_MS = 1000;
export const DEFAULT_POLL_MS = 2000;

export class FleetAgent {
  readonly #options: AgentOptions;
  readonly #log: Logger;
  readonly #components = new Map<string, NodeComponent>();
  readonly #timers: NodeJS.Timeout[] = [];
  #store: FleetStore | null = null;
  #stopWatch: (() => void) | null = null;
  #stopped = false;
  #connecting: Promise<void> | null = null;
  /** Components whose report changed since it was last published. */
  readonly #dirty = new Set<string>();

  private constructor(engine: Engine, options: AgentOptions) {
    this.#options = options;
    this.#log = options.logger;
    for (const name of engine.names()) {
      const changed = (): void => this.#publishSoon(name);
      this.#components.set(name, new NodeComponent(engine, name, options.node, options.verify ?? null, this.#log, changed));
    }
    engine.onSwap((report) => this.#components.get(report.component)?.onSwap(report));
    engine.onFault((fault) => this.#components.get(fault.component)?.onFault(fault));
  }

  /** Starts the agent; returns at once, the connection is made (and remade) in the background. */
  static start(engine: Engine, options: AgentOptions): FleetAgent {
    const agent = new FleetAgent(engine, options);
    agent.#connecting = agent.#connect();
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref();
      agent.#timers.push(t);
    };
    every(options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, () => void agent.#publish([...agent.#components.keys()]));
    every(options.pollMs ?? DEFAULT_POLL_MS, () => void agent.#pollAll());
    return agent;
  }

  /** Resolves once connected and the buckets are open (tests and `hotswap start` log it). */
  async connected(): Promise<void> {
    await this.#connecting;
  }

  async #connect(): Promise<void> {
    const { servers, node, domain } = this.#options;
    const name = `hotswap node ${node}`;
    const store = await FleetStore.connect({ servers, name, waitOnFirstConnect: true, ...(domain ? { domain } : {}) }).catch((e: Error) => {
      this.#log.error(`fleet: cannot connect to ${servers.join(',')}: ${e.message}`);
      return null;
    });
    if (!store) return;
    if (this.#stopped) {
      await store.close();
      return;
    }
    this.#store = store;
    this.#log.info(`fleet: node ${node} joined through ${servers.join(',')}`);
    void this.#followStatus(store);
    await this.#rewatch();
    await this.#pollAll();
  }

  /** After a reconnect the watch may be stale or gone: read everything and watch again. */
  async #followStatus(store: FleetStore): Promise<void> {
    for await (const s of store.connection.status()) {
      if (this.#stopped) return;
      if (s.type === 'reconnect') {
        this.#log.info('fleet: reconnected; reading the desired states again');
        await this.#rewatch();
        await this.#pollAll();
      } else if (s.type === 'disconnect') {
        this.#log.warn('fleet: disconnected from NATS; components keep running, retrying');
      }
    }
  }

  async #rewatch(): Promise<void> {
    const store = this.#store;
    if (!store || this.#stopped) return;
    this.#stopWatch?.();
    this.#stopWatch = null;
    try {
      this.#stopWatch = await store.watchDesired(
        (desired) => this.#apply(desired),
        (e) => this.#log.warn(`fleet: desired-state watch: ${e.message}`),
      );
    } catch (e) {
      this.#log.debug(`fleet: cannot watch the desired states yet (${(e as Error).message}); polling`);
    }
  }

  /** Reads every component's desired state (the backstop for a stalled or missed watch). */
  async #pollAll(): Promise<void> {
    const store = this.#store;
    if (!store || this.#stopped) return;
    for (const name of this.#components.keys()) {
      try {
        const desired = await store.readDesired(name);
        if (desired) this.#apply(desired.value);
      } catch (e) {
        this.#log.debug(`fleet: cannot read the desired state of ${name}: ${(e as Error).message}`);
      }
    }
  }

  #apply(desired: DesiredState): void {
    const component = this.#components.get(desired.component);
    const store = this.#store;
    if (!component || !store || this.#stopped) return;
    void component.reconcile(desired, store);
  }

  /** Publishes a changed report on the next turn (several changes in one turn make one put). */
  #publishSoon(name: string): void {
    if (this.#dirty.size === 0) setImmediate(() => void this.#publish([...this.#dirty]));
    this.#dirty.add(name);
  }

  async #publish(names: string[]): Promise<void> {
    const store = this.#store;
    for (const n of names) this.#dirty.delete(n);
    if (!store || this.#stopped) return;
    for (const name of names) {
      const report = this.#components.get(name)?.report();
      if (!report) continue;
      try {
        await store.putReport(report);
      } catch (e) {
        // NATS or JetStream unreachable: the heartbeat publishes the current report when it is back.
        this.#log.debug(`fleet: cannot publish the report of ${name}: ${(e as Error).message}`);
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    for (const c of this.#components.values()) c.close();
    this.#stopWatch?.();
    await this.#store?.close().catch(() => undefined);
    this.#store = null;
  }
}
