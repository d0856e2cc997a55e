// The host capabilities one component's configuration grants (interfaces, sockets, kernel routes,
// settings), opened before its first module loads and closed after its final TERM.
import type { HostCapabilities } from '../abi/capability-imports.js';
import type { Logger } from '../log.js';
import type { CapabilitiesConfig } from './config.js';
import { InterfaceTable } from './interfaces.js';
import { KernelRoutes } from './kernel-routes.js';
import { NetSockets, type SocketTarget } from './net-sockets.js';

/**
 * The host capabilities granted to ONE component by its configuration. They belong to the host,
 * not to a module instance: the sockets, the `ip` process and the installed routes survive
 * every swap, exactly like the component's persistent memory and timers. The component gets
 * this object explicitly (ComponentOptions.capabilities), and its imports read it through the
 * HostCapabilities port of host/abi/capability-imports.ts.
 */
export class GrantedCapabilities implements HostCapabilities {
  readonly interfaces: InterfaceTable | null;
  readonly routes: KernelRoutes | null;
  readonly settings: ReadonlyMap<string, string> | null;
  readonly #net: CapabilitiesConfig['net'];
  readonly #log: Logger;
  #sockets: NetSockets | null = null;
  #stopping = false;

  private constructor(config: CapabilitiesConfig, interfaces: InterfaceTable | null, routes: KernelRoutes | null, log: Logger) {
    this.interfaces = interfaces;
    this.routes = routes;
    this.settings = config.settings ? new Map(Object.entries(config.settings)) : null;
    this.#net = config.net;
    this.#log = log;
  }

  /**
   * Opens what the configuration names, nothing else (the interface table, the `ip` process).
   * Returns null when nothing is granted. The sockets come with connect(), once the component
   * that receives their datagrams exists.
   */
  static open(config: CapabilitiesConfig, log: Logger): GrantedCapabilities | null {
    if (!config.net && !config.routes && !config.settings) return null;
    const interfaces = config.net || config.routes ? InterfaceTable.read(config.net?.interfaces) : null;
    const routes = config.routes ? KernelRoutes.start(config.routes, log) : null;
    return new GrantedCapabilities(config, interfaces, routes, log);
  }

  /**
   * Binds the granted sockets and attaches their send channels to `target`. Must run before the
   * first module loads: its INIT may already send on them.
   */
  async connect(target: SocketTarget): Promise<void> {
    if (!this.#net || !this.interfaces || this.#sockets) return;
    this.#sockets = await NetSockets.open(target, this.interfaces, this.#net, this.#log);
  }

  /** True once the engine is shutting down: a TERM now is for good, not for a swap. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** Called before the component's final TERM, so the module can poison and withdraw. */
  beginShutdown(): void {
    this.#stopping = true;
  }

  /** After the final TERM: withdraw the routes still installed, close the sockets. */
  async close(): Promise<void> {
    await Promise.all([this.routes?.close(), this.#sockets?.close()]);
  }
}
