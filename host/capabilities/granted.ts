import type { Component } from '../component/component.js';
import type { Logger } from '../log.js';
import type { CapabilitiesConfig } from './config.js';
import { InterfaceTable } from './interfaces.js';
import { KernelRoutes } from './kernel-routes.js';
import { NetSockets } from './net-sockets.js';

/**
 * The host capabilities granted to ONE component by its configuration. They belong to the host,
 * not to a module instance: the sockets, the `ip` process and the installed routes survive
 * every swap, exactly like the component's persistent memory and timers.
 */
export class GrantedCapabilities {
  readonly interfaces: InterfaceTable | null;
  readonly routes: KernelRoutes | null;
  readonly settings: ReadonlyMap<string, string> | null;
  readonly #sockets: NetSockets | null;
  #stopping = false;

  private constructor(
    interfaces: InterfaceTable | null,
    sockets: NetSockets | null,
    routes: KernelRoutes | null,
    settings: ReadonlyMap<string, string> | null,
  ) {
    this.interfaces = interfaces;
    this.#sockets = sockets;
    this.routes = routes;
    this.settings = settings;
  }

  /**
   * Opens what the configuration names (nothing else) and registers it for the component's
   * imports. Returns null when nothing is granted. Must run before the first module loads:
   * its INIT may already send on the sockets.
   */
  static async open(component: Component, config: CapabilitiesConfig, log: Logger): Promise<GrantedCapabilities | null> {
    if (!config.net && !config.routes && !config.settings) return null;
    const interfaces = config.net || config.routes ? InterfaceTable.read(config.net?.interfaces) : null;
    const sockets = config.net && interfaces ? await NetSockets.open(component, interfaces, config.net, log) : null;
    let routes: KernelRoutes | null = null;
    try {
      routes = config.routes ? KernelRoutes.start(config.routes, log) : null;
    } catch (e) {
      await sockets?.close();
      throw e;
    }
    const settings = config.settings ? new Map(Object.entries(config.settings)) : null;
    const granted = new GrantedCapabilities(interfaces, sockets, routes, settings);
    grants.set(component, granted);
    return granted;
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

/** Which component holds which capabilities; keyed by the component (the imports' HostServices). */
const grants = new WeakMap<object, GrantedCapabilities>();

/** The capabilities granted to the owner of these host services (undefined: none, e.g. warm-up). */
export function capabilitiesOf(host: object): GrantedCapabilities | undefined {
  return grants.get(host);
}
