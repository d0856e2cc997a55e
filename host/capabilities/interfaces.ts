/** The `net` capability's interface table: the IPv4 interfaces modules see through hs.net_if_*, and address helpers. */
import os from 'node:os';

/** One IPv4 interface as modules see it (hs.net_if_*). Its index is its position in the table. */
export interface NetInterface {
  readonly index: number;
  readonly name: string;
  readonly address: string;
  /** Address as an unsigned 32-bit number (network order value). */
  readonly addr: number;
  readonly prefixLen: number;
  /** True when the interface gets sockets; false: a connected network only (passive). */
  readonly active: boolean;
}

export function ipToU32(ip: string): number {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return -1;
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

export function u32ToIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const maskOf = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/**
 * The interfaces of the namespace the engine runs in, read once when the capability is granted.
 * Node has no IP_PKTINFO (docs/MEASUREMENTS.md), so the interface a datagram came in on is found from its
 * source address: the interface whose connected subnet contains it.
 */
export class InterfaceTable {
  readonly #list: NetInterface[];

  constructor(list: NetInterface[]) {
    this.#list = list;
  }

  /** Reads os.networkInterfaces(): every IPv4, non-loopback address, sorted by name. */
  static read(activeNames: readonly string[] | undefined): InterfaceTable {
    const found: Omit<NetInterface, 'index' | 'active'>[] = [];
    for (const [name, addrs] of Object.entries(os.networkInterfaces()).sort(([a], [b]) => a.localeCompare(b))) {
      for (const a of addrs ?? []) {
        if (a.family !== 'IPv4' || a.internal) continue;
        const prefixLen = Number(a.cidr?.split('/')[1] ?? 32);
        found.push({ name, address: a.address, addr: ipToU32(a.address), prefixLen });
      }
    }
    if (activeNames) {
      const missing = activeNames.filter((n) => !found.some((f) => f.name === n));
      if (missing.length > 0) {
        throw new Error(
          `net: interface ${missing.join(', ')} has no IPv4 address or no carrier ` +
            `(have: ${found.map((f) => `${f.name} ${f.address}/${f.prefixLen}`).join(', ') || 'none'})`,
        );
      }
    }
    return new InterfaceTable(found.map((f, index) => ({ ...f, index, active: activeNames ? activeNames.includes(f.name) : true })));
  }

  get size(): number {
    return this.#list.length;
  }

  at(index: number): NetInterface | undefined {
    return this.#list[index];
  }

  all(): readonly NetInterface[] {
    return this.#list;
  }

  active(): NetInterface[] {
    return this.#list.filter((i) => i.active);
  }

  isOwnAddress(address: string): boolean {
    return this.#list.some((i) => i.address === address);
  }

  /** The interface whose connected subnet holds `address` (not one of our own addresses). */
  findBySource(address: string): NetInterface | undefined {
    const a = ipToU32(address);
    if (a < 0 || this.isOwnAddress(address)) return undefined;
    return this.#list.find((i) => (a & maskOf(i.prefixLen)) >>> 0 === (i.addr & maskOf(i.prefixLen)) >>> 0);
  }
}
