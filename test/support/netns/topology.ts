/**
 * Namespace topology commands: a host namespace with forwarding on, veth links between two
 * namespaces, stub networks inside one, link up/down, and waiting for carrier.
 */
import { hostAddr, normalizePrefix, parseCidr } from './addresses.js';
import { run, sleep } from './processes.js';
import { TOOL_PATHS } from './tools.js';

export interface Endpoint {
  /** Full namespace name. */
  ns: string;
  /** Interface name inside that namespace. */
  ifname: string;
  /** Address without length, e.g. "10.0.1.1". */
  addr: string;
  /** Address with length, e.g. "10.0.1.1/24". */
  cidr: string;
}

export interface LinkInfo {
  subnet: string;
  a: Endpoint;
  b: Endpoint;
}

export interface LinkOptions {
  /** Host number of a's address in the subnet (default 1). */
  aHost?: number;
  /** Host number of b's address in the subnet (default 2). */
  bHost?: number;
  /** Interface names (default eth0, eth1, … numbered per namespace). */
  aIfname?: string;
  bIfname?: string;
}

export interface StubInfo {
  ns: string;
  subnet: string;
  /** The addressed end (a connected route for `subnet` appears on it). */
  ifname: string;
  /** The other end, also up and in the same namespace, unaddressed. */
  peerIfname: string;
  addr: string;
  cidr: string;
}

/**
 * Creates namespace `full` with loopback up, IPv4 forwarding on (every host can act as a router)
 * and reverse-path filtering off (failover experiments create asymmetric paths that rp_filter
 * would drop).
 */
export async function addHost(full: string): Promise<void> {
  await run(TOOL_PATHS.ip, ['netns', 'add', full]);
  await run(TOOL_PATHS.ip, ['-n', full, 'link', 'set', 'lo', 'up']);
  await run(TOOL_PATHS.ip, [
    'netns',
    'exec',
    full,
    'sysctl',
    '-qw',
    'net.ipv4.ip_forward=1',
    'net.ipv4.conf.all.rp_filter=0',
    'net.ipv4.conf.default.rp_filter=0',
  ]);
}

/**
 * Joins two namespaces with a veth pair on `subnet`. Both ends are created directly inside their
 * namespaces, so interface names never clash in the root namespace and can be short; the
 * addresses get their broadcast address (`brd +`), which RIP in broadcast mode sends to. Waits until
 * both ends report carrier, because daemons and os.networkInterfaces() ignore an interface
 * without it.
 */
export async function addLink(
  nsA: string,
  nsB: string,
  subnet: string,
  ifA: string,
  ifB: string,
  hosts: { a: number; b: number },
): Promise<LinkInfo> {
  const { len } = parseCidr(subnet);
  const addrA = hostAddr(subnet, hosts.a);
  const addrB = hostAddr(subnet, hosts.b);
  await run(TOOL_PATHS.ip, ['link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
  await run(TOOL_PATHS.ip, ['-n', nsA, 'addr', 'add', `${addrA}/${len}`, 'brd', '+', 'dev', ifA]);
  await run(TOOL_PATHS.ip, ['-n', nsB, 'addr', 'add', `${addrB}/${len}`, 'brd', '+', 'dev', ifB]);
  await run(TOOL_PATHS.ip, ['-n', nsA, 'link', 'set', ifA, 'up']);
  await run(TOOL_PATHS.ip, ['-n', nsB, 'link', 'set', ifB, 'up']);
  await waitCarrier(nsA, ifA);
  await waitCarrier(nsB, ifB);
  return {
    subnet: normalizePrefix(subnet),
    a: { ns: nsA, ifname: ifA, addr: addrA, cidr: `${addrA}/${len}` },
    b: { ns: nsB, ifname: ifB, addr: addrB, cidr: `${addrB}/${len}` },
  };
}

/**
 * A stub network (a connected subnet with no neighbour) inside one namespace. The `dummy` link
 * type is not available on this kernel, so this is a veth pair with both ends in the same
 * namespace; only one end is addressed.
 */
export async function addStub(full: string, subnet: string, ifname: string, hostNum: number): Promise<StubInfo> {
  const peerIfname = `${ifname}p`.slice(0, 15);
  const { len } = parseCidr(subnet);
  const addr = hostAddr(subnet, hostNum);
  await run(TOOL_PATHS.ip, ['-n', full, 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', peerIfname]);
  await run(TOOL_PATHS.ip, ['-n', full, 'addr', 'add', `${addr}/${len}`, 'dev', ifname]);
  await run(TOOL_PATHS.ip, ['-n', full, 'link', 'set', ifname, 'up']);
  await run(TOOL_PATHS.ip, ['-n', full, 'link', 'set', peerIfname, 'up']);
  await waitCarrier(full, ifname);
  return { ns: full, subnet: normalizePrefix(subnet), ifname, peerIfname, addr, cidr: `${addr}/${len}` };
}

/** Sets an interface down or up (link failure experiments). */
export async function setLinkState(full: string, ifname: string, up: boolean): Promise<void> {
  await run(TOOL_PATHS.ip, ['-n', full, 'link', 'set', ifname, up ? 'up' : 'down']);
}

async function waitCarrier(full: string, ifname: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const out = await run(TOOL_PATHS.ip, ['-n', full, '-j', 'link', 'show', 'dev', ifname]);
      const links = JSON.parse(out.stdout) as Array<{ flags?: string[] }>;
      if (links[0]?.flags?.includes('LOWER_UP')) return;
    } catch {
      // retry until the deadline
    }
    if (Date.now() > deadline) throw new Error(`${full}:${ifname} has no carrier after ${timeoutMs} ms`);
    await sleep(20);
  }
}
