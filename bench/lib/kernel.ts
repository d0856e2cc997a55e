/**
 * Kernel counters that tell where a lost datagram went: when a socket's receive buffer is full
 * the kernel drops the datagram and counts it in /proc/net/snmp (Udp RcvbufErrors), machine-wide.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

export interface UdpCounters {
  rcvbufErrors: number;
  inErrors: number;
}

/** Udp RcvbufErrors and InErrors, or null where /proc/net/snmp is not readable. */
export function udpCounters(): UdpCounters | null {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp: '));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/).map(Number);
    const at = (n: string): number => values[names.indexOf(n)] ?? NaN;
    return { rcvbufErrors: at('RcvbufErrors'), inErrors: at('InErrors') };
  } catch {
    return null;
  }
}

/** Datagrams the kernel dropped for full receive buffers since `before` (any socket on the machine). */
export function rcvbufDropsSince(before: UdpCounters | null): number | null {
  const now = udpCounters();
  return before && now ? now.rcvbufErrors - before.rcvbufErrors : null;
}

/** The 1-minute load average: other work on the machine shows up as noise in every figure. */
export function load1(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}
