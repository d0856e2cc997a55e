/**
 * The capability imports of the `hs` namespace (declared in host/abi/abi.ts, documented in
 * docs/ABI.md), over the HostCapabilities port that host/capabilities/ implements. Every module
 * can link them; each answers HostResult.denied unless the component's configuration granted the
 * capability, so an ungranted module fails visibly instead of acting on the host. Addresses
 * travel as big-endian u32 values in an i32.
 */
import { HostResult, NET_IF_ACTIVE, NET_IF_RIP, NET_IF_UP } from './abi.js';
import type { ImportGate } from './import-gate.js';
import type { PersistentMemory } from './memory.js';

/** One interface as the imports see it (host/capabilities/interfaces.ts holds the real table). */
export interface CapabilityInterface {
  readonly name: string;
  readonly addr: number;
  readonly prefixLen: number;
  readonly active: boolean;
  /** Link up with an address (NET_IF_UP); absent means up whenever active. */
  readonly up?: boolean;
  /** Named in `net.interfaces` (NET_IF_RIP); absent means the same as active. */
  readonly rip?: boolean;
}

/** hs.net_if_flags of one interface. */
export function interfaceFlags(i: CapabilityInterface): number {
  return (i.active ? NET_IF_ACTIVE : 0) | ((i.up ?? i.active) ? NET_IF_UP : 0) | ((i.rip ?? i.active) ? NET_IF_RIP : 0);
}

/**
 * What a component was granted, as the imports need it. Declared here, below the capabilities
 * layer that implements it (GrantedCapabilities), so the ABI never imports upwards.
 */
export interface HostCapabilities {
  readonly interfaces: { readonly size: number; at(index: number): CapabilityInterface | undefined } | null;
  readonly routes: {
    install(prefix: number, len: number, nextHop: number, dev: string): number;
    withdraw(prefix: number, len: number): number;
  } | null;
  readonly settings: ReadonlyMap<string, string> | null;
  /** True once the engine is shutting down: a TERM now is for good, not for a swap. */
  readonly stopping: boolean;
}

export function capabilityImports(
  caps: HostCapabilities | undefined,
  mem: PersistentMemory,
  gate?: ImportGate,
): Record<string, (...args: number[]) => number> {
  const iface = (i: number) => caps?.interfaces?.at(i);
  const copyOut = (text: string, ptr: number, capacity: number): number => {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.byteLength > capacity) return HostResult.tooLarge;
    mem.fill(ptr, bytes);
    return bytes.byteLength;
  };
  return {
    net_if_count: () => caps?.interfaces?.size ?? HostResult.denied,
    net_if_addr: (i) => (caps?.interfaces ? (iface(i)?.addr ?? 0) | 0 : HostResult.denied),
    net_if_prefix_len: (i) => (caps?.interfaces ? (iface(i)?.prefixLen ?? HostResult.unknownChannel) : HostResult.denied),
    net_if_flags: (i) => {
      if (!caps?.interfaces) return HostResult.denied;
      const found = iface(i);
      return found ? interfaceFlags(found) : 0;
    },
    net_if_name: (i, ptr, capacity) => {
      if (!caps?.interfaces) return HostResult.denied;
      const found = iface(i);
      return found ? copyOut(found.name, ptr, capacity) : HostResult.unknownChannel;
    },
    route_install: (prefix, len, nextHop, i) => {
      if (!caps?.routes) return HostResult.denied;
      const dev = iface(i);
      if (!dev || len < 0 || len > 32) return HostResult.unknownChannel;
      // A route change is a message to the kernel: it counts as a send (0 bytes) against the quotas.
      if (gate?.send(0) === false) return HostResult.quotaExceeded;
      return caps.routes.install(prefix >>> 0, len, nextHop >>> 0, dev.name);
    },
    route_withdraw: (prefix, len) => {
      if (!caps?.routes) return HostResult.denied;
      if (gate?.send(0) === false) return HostResult.quotaExceeded;
      return caps.routes.withdraw(prefix >>> 0, len);
    },
    settings_get: (keyPtr, keyLen, ptr, capacity) => {
      if (!caps?.settings) return HostResult.denied;
      const value = caps.settings.get(mem.readUtf8(keyPtr, keyLen));
      return value === undefined ? -1 : copyOut(value, ptr, capacity);
    },
    engine_stopping: () => (caps?.stopping ? 1 : 0),
  };
}
