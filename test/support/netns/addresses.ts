/** IPv4 address and prefix arithmetic for the namespace lab (subnets, host addresses, route keys). */

export function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses "10.0.1.0/24" into its network address and length (host bits cleared). */
export function parseCidr(cidr: string): { network: string; len: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?$/.exec(cidr.trim());
  if (!m) throw new Error(`not an IPv4 prefix: ${cidr}`);
  const len = m[2] === undefined ? 32 : Number(m[2]);
  if (len < 0 || len > 32) throw new Error(`bad prefix length in ${cidr}`);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { network: intToIp((ipToInt(m[1]!) & mask) >>> 0), len };
}

/** The n-th host address of a subnet: hostAddr("10.0.1.0/24", 2) = "10.0.1.2". */
export function hostAddr(subnet: string, n: number): string {
  const { network, len } = parseCidr(subnet);
  const size = 2 ** (32 - len);
  if (len < 31 && (n <= 0 || n >= size - 1)) throw new Error(`host ${n} does not fit in ${subnet}`);
  return intToIp((ipToInt(network) + n) >>> 0);
}

/** Normalises "10.0.0.1" and "10.0.0.1/32" (ip -j prints host routes without /32). */
export function normalizePrefix(p: string): string {
  if (p === 'default') return '0.0.0.0/0';
  const { network, len } = parseCidr(p);
  return `${network}/${len}`;
}
