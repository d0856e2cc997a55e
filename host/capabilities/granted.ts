// The host capabilities one component's configuration grants (interfaces, sockets, kernel routes,
// settings), opened before its first module loads and closed after its final TERM.
import { NET_LINK_CHANNEL } from '../abi/abi.js';
import { type HostCapabilities, interfaceFlags } from '../abi/capability-imports.js';
import type { Logger } from '../log.js';
import type { CapabilitiesConfig } from './config.js';
import { InterfaceTable, type LinkState, type NetInterface } from './interfaces.js';
import { KernelRoutes } from './kernel-routes.js';
import { LinkWatcher } from './link-watcher.js';
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
  #watcher: LinkWatcher | null = null;
  #target: SocketTarget | null = null;
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
    if (!this.interfaces || this.#watcher) return;
    this.#target = target;
    if (this.#net) this.#sockets = await NetSockets.open(target, this.interfaces, this.#net, this.#log);
    const down = this.interfaces.notUp();
    if (down.length > 0) this.#log.info(`net: not up yet: ${down.join(', ')}; starting anyway, they join when they come up`);
    this.#watcher = new LinkWatcher((links) => this.#onLinks(links), this.#log);
    this.#watcher.start();
  }

  /**
   * A fresh reading of the links: sockets first (so a module told "up" can send at once, and one
   * told "down" finds nothing to send on), then one message per changed interface on
   * NET_LINK_CHANNEL (docs/ABI.md).
   */
  async #onLinks(links: LinkState[]): Promise<void> {
    if (!this.interfaces || this.#stopping) return;
    const changed = this.interfaces.update(links);
    if (changed.length === 0) return;
    await this.#sockets?.apply(changed.filter((i) => i.rip));
    for (const i of changed) this.#announce(i);
  }

  #announce(i: NetInterface): void {
    this.#log.info(`net: ${i.name} is ${i.up ? 'up' : 'down'}${i.address ? ` (${i.address}/${i.prefixLen})` : ''}`);
    const payload = Buffer.alloc(4);
    payload.writeUInt32LE(interfaceFlags(i));
    this.#target?.enqueue({ kind: 'message', channel: NET_LINK_CHANNEL, peer: i.name, payload, iface: i.index });
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
    this.#watcher?.stop();
    await Promise.all([this.routes?.close(), this.#sockets?.close()]);
  }
}
