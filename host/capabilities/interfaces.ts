/** The `net` capability's interface table: the IPv4 interfaces modules see through hs.net_if_*, kept current as links change. */
import { execFileSync } from 'node:child_process';

/** One IPv4 interface as modules see it (hs.net_if_*). Its index never changes while the engine runs. */
export interface NetInterface {
  readonly index: number;
  readonly name: string;
  /** Its (first) IPv4 address, "" while it has none. */
  readonly address: string;
  /** Address as an unsigned 32-bit number (network order value); 0 while it has none. */
  readonly addr: number;
  readonly prefixLen: number;
  /** Named in `net.interfaces` (or no list was given): it speaks the protocol whenever it is up. */
  readonly rip: boolean;
  /** Administratively up, with carrier and an IPv4 address. */
  readonly up: boolean;
  /** Speaks the protocol now: `rip` and `up` (its sockets are open). */
  readonly active: boolean;
}

/** One link as `ip -j addr show` reports it. */
export interface LinkState {
  name: string;
  address: string;
  prefixLen: number;
  up: boolean;
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

interface IpAddrJson {
  ifname?: string;
  flags?: string[];
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

/**
 * Parses `ip -j addr show`: every non-loopback link with its first IPv4 address. A link counts as
 * up when it is administratively UP and has carrier (LOWER_UP) and an address; unlike
 * os.networkInterfaces(), links without carrier are listed too, so an interface can be known
 * (and keep its index) before its cable is in.
 */
export function parseIpAddr(json: string): LinkState[] {
  const links = JSON.parse(json) as IpAddrJson[];
  const out: LinkState[] = [];
  for (const l of links) {
    const flags = l.flags ?? [];
    if (!l.ifname || flags.includes('LOOPBACK')) continue;
    const inet = (l.addr_info ?? []).find((a) => a.family === 'inet' && a.local);
    const address = inet?.local ?? '';
    out.push({
      name: l.ifname,
      address,
      prefixLen: inet?.prefixlen ?? 0,
      up: flags.includes('UP') && flags.includes('LOWER_UP') && address !== '',
    });
  }
  return out;
}

/** Reads the links of the engine's namespace now (synchronous: used once, when the capability is granted). */
export function readLinksSync(): LinkState[] {
  return parseIpAddr(execFileSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8', timeout: 5000 }));
}

/**
 * The interfaces of the namespace the engine runs in. Indices are stable for the engine's life:
 * the first table is sorted by name, and an interface that appears later is appended, so a route
 * that a module stored with an interface index keeps meaning the same link after the link went
 * down, came back, or was deleted and re-created with the same name. Interfaces named in
 * `net.interfaces` are listed even before they exist. Node has no IP_PKTINFO
 * (docs/MEASUREMENTS.md), so the interface a datagram came in on is found from its source
 * address: the up interface whose connected subnet contains it.
 */
export class InterfaceTable {
  readonly #list: NetInterface[] = [];
  readonly #ripNames: readonly string[] | undefined;

  constructor(ripNames: readonly string[] | undefined, links: readonly LinkState[]) {
    this.#ripNames = ripNames;
    const names = new Set([...links.filter((l) => l.address || ripNames?.includes(l.name)).map((l) => l.name), ...(ripNames ?? [])]);
    for (const name of [...names].sort((a, b) => a.localeCompare(b))) this.#append(name);
    this.update(links);
  }

  /** The table of the namespace now; `ripNames` are the interfaces that speak the protocol (all when omitted). */
  static read(ripNames: readonly string[] | undefined): InterfaceTable {
    return new InterfaceTable(ripNames, readLinksSync());
  }

  /**
   * Applies the links as they are now; returns the interfaces whose address, prefix or state
   * changed (a link that vanished is down, and keeps its index).
   */
  update(links: readonly LinkState[]): NetInterface[] {
    const changed: NetInterface[] = [];
    const seen = new Map(links.map((l) => [l.name, l]));
    for (const l of links) if (l.address && !this.#list.some((i) => i.name === l.name)) this.#append(l.name);
    for (const [index, old] of this.#list.entries()) {
      const l = seen.get(old.name);
      const address = l?.address ?? old.address;
      const prefixLen = l?.address ? l.prefixLen : old.prefixLen;
      const up = l?.up ?? false;
      if (address === old.address && prefixLen === old.prefixLen && up === old.up) continue;
      const next: NetInterface = { ...old, address, addr: address ? ipToU32(address) : 0, prefixLen, up, active: old.rip && up };
      this.#list[index] = next;
      changed.push(next);
    }
    return changed;
  }

  #append(name: string): void {
    const rip = this.#ripNames ? this.#ripNames.includes(name) : true;
    this.#list.push({ index: this.#list.length, name, address: '', addr: 0, prefixLen: 0, rip, up: false, active: false });
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

  /** Interfaces named in `net.interfaces` that are not up, as text for a log line. */
  notUp(): string[] {
    return this.#list
      .filter((i) => i.rip && !i.up)
      .map((i) => `${i.name} (${i.address ? `${i.address}/${i.prefixLen}` : 'no IPv4 address'})`);
  }

  isOwnAddress(address: string): boolean {
    return this.#list.some((i) => i.address === address);
  }

  /** The up interface whose connected subnet holds `address` (not one of our own addresses). */
  findBySource(address: string): NetInterface | undefined {
    const a = ipToU32(address);
    if (a < 0 || this.isOwnAddress(address)) return undefined;
    return this.#list.find((i) => i.up && (a & maskOf(i.prefixLen)) >>> 0 === (i.addr & maskOf(i.prefixLen)) >>> 0);
  }
}
