/**
 * Which external tools the namespace lab runs, and whether this machine can run the lab at all
 * (root, network namespaces, FRR, BIRD, ping), with the exact reason when it cannot.
 *
 * HOTSWAP_TEST_HIDE_TOOLS=ripd,bird (comma-separated basenames) makes the check treat those
 * tools as missing, to see a test's skip path on a machine that has everything.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errText, oneLine } from './processes.js';

/** Paths of external tools, in one place so that a distribution with other paths needs one edit. */
export const TOOL_PATHS = {
  ip: 'ip',
  zebra: '/usr/lib/frr/zebra',
  ripd: '/usr/lib/frr/ripd',
  vtysh: 'vtysh',
  bird: 'bird',
  birdc: 'birdc',
  ping: 'ping',
  tcpdump: 'tcpdump',
} as const;

export type Availability = { ok: true } | { ok: false; reason: string };

/** Tools the environment asks to treat as missing (see the first comment). */
function hiddenTools(): Set<string> {
  return new Set(
    (process.env.HOTSWAP_TEST_HIDE_TOOLS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/** Finds an executable by absolute path or on $PATH. */
function findExecutable(name: string): string | undefined {
  if (hiddenTools().has(path.basename(name))) return undefined;
  const candidates = name.includes('/')
    ? [name]
    : (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
        .split(':')
        .concat(['/usr/sbin', '/sbin']) // root tools live here even when PATH lacks them
        .map((dir) => path.join(dir, name));
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return c;
    } catch {
      // try the next candidate
    }
  }
  return undefined;
}

/**
 * Tells whether this machine can run the lab, and if not, exactly what is missing, so that a
 * test can skip with a useful message instead of failing. Synchronous on purpose: it is meant
 * for test-suite setup code.
 */
export function netnsAvailable(): Availability {
  const missing: string[] = [];
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux, this is ${process.platform}` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    missing.push(`root privileges (running as uid ${process.getuid()})`);
  }
  const tools: Array<[string, string]> = [
    [TOOL_PATHS.ip, 'iproute2 (`ip`)'],
    [TOOL_PATHS.zebra, 'FRR zebra (/usr/lib/frr/zebra, package frr)'],
    [TOOL_PATHS.ripd, 'FRR ripd (/usr/lib/frr/ripd, package frr)'],
    [TOOL_PATHS.vtysh, 'FRR vtysh (package frr)'],
    [TOOL_PATHS.bird, 'BIRD (`bird`, package bird2)'],
    [TOOL_PATHS.birdc, 'BIRD client (`birdc`, package bird2)'],
    [TOOL_PATHS.ping, 'iputils ping (package iputils-ping)'],
  ];
  for (const [tool, label] of tools) {
    if (!findExecutable(tool)) missing.push(label);
  }
  if (missing.length === 0) {
    // `ip netns list` only reads /run/netns; adding and deleting a namespace is the real test
    // (it fails in containers without CAP_SYS_ADMIN).
    const probe = `hsprobe${process.pid}`;
    try {
      execFileSync(TOOL_PATHS.ip, ['netns', 'add', probe], { stdio: 'pipe', timeout: 5000 });
      execFileSync(TOOL_PATHS.ip, ['netns', 'del', probe], { stdio: 'pipe', timeout: 5000 });
    } catch (err) {
      missing.push(`working \`ip netns add\` (${oneLine(errText(err))})`);
      try {
        execFileSync(TOOL_PATHS.ip, ['netns', 'del', probe], { stdio: 'pipe', timeout: 5000 });
      } catch {
        // it was never created
      }
    }
  }
  if (missing.length > 0) return { ok: false, reason: `missing: ${missing.join('; ')}` };
  return { ok: true };
}
