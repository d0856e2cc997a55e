/**
 * BIRD 2 with one `protocol rip` in a lab namespace, in the foreground with its own control
 * socket and pid file, its config checked before it starts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { intToIp } from './addresses.js';
import type { RipTimers } from './frr.js';
import type { LabHandle, LabProcess } from './lab-process.js';
import { run, waitForFile } from './processes.js';
import { TOOL_PATHS } from './tools.js';

export interface BirdRipOptions {
  /** Interfaces (names or BIRD patterns like "eth*") that speak RIP. */
  interfaces: string[];
  /**
   * Interfaces whose connected networks are imported by `protocol direct` and
   * exported into RIP (the BIRD equivalent of `redistribute connected`).
   * Default: all interfaces ("*"). Empty array: no protocol direct.
   */
  directInterfaces?: string[];
  /** Router id (default: derived from the lab to stay unique). */
  routerId?: string;
  /**
   * Seconds. Default update 1, timeout 15, garbage 10. BIRD accepts
   * `update time 1`, but its timeout must outlast the NEIGHBOUR's update
   * interval: FRR with `timers basic 5 …` was measured sending 5.0–6.0 s
   * apart (jitter), so a BIRD timeout of 6 s made routes learned from FRR
   * expire and flap.
   */
  timers?: RipTimers;
  /** `kernel { persist; }`: keep kernel routes when BIRD stops. */
  kernelPersist?: boolean;
  /** Extra lines in each RIP `interface` block, e.g. "split horizon off;". */
  extraInterfaceConfig?: string[];
  /** Extra top-level config text (verbatim). */
  extraConfig?: string[];
  /** `debug all` on the RIP protocol. */
  debug?: boolean;
  startTimeoutMs?: number;
}

export interface BirdRipInstance {
  readonly ns: string;
  readonly dir: string;
  readonly bird: LabProcess;
  readonly conf: string;
  readonly socket: string;
  /** Runs `birdc -s <socket> <args…>`; returns stdout. */
  birdc(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts BIRD with one `protocol rip` inside a namespace, in the foreground
 * (-f) with its own control socket (-s) and pid file (-P).
 * The kernel protocol exports everything except device routes (those are the
 * kernel's own connected routes already) into the main table.
 */
export async function startBirdRip(lab: LabHandle, host: string, opts: BirdRipOptions): Promise<BirdRipInstance> {
  const full = lab.ns(host);
  const { dir, n } = lab.instanceDir('bird', host);
  const timers = opts.timers ?? { update: 1, timeout: 15, garbage: 10 };
  const conf = path.join(dir, 'bird.conf');
  const socket = path.join(dir, 'bird.ctl');
  const routerId = opts.routerId ?? intToIp((0x0a_fe_00_00 + (n & 0xffff)) >>> 0);
  const direct = opts.directInterfaces ?? ['*'];
  const q = (s: string): string => JSON.stringify(s);
  const text: string[] = [
    `log ${q(path.join(dir, 'bird.log'))} all;`,
    `router id ${routerId};`,
    // Fast device scan so interface changes are noticed within a second.
    'protocol device { scan time 1; }',
  ];
  if (direct.length > 0) {
    text.push(`protocol direct { ipv4; interface ${direct.map(q).join(', ')}; }`);
  }
  text.push(
    'protocol kernel {',
    '  ipv4 { import none; export filter { if source = RTS_DEVICE then reject; accept; }; };',
    '  scan time 1;',
    ...(opts.kernelPersist ? ['  persist;'] : []),
    '}',
    'protocol rip {',
    ...(opts.debug ? ['  debug all;'] : []),
    '  ipv4 { import all; export all; };',
    ...opts.interfaces.map((i) =>
      [
        `  interface ${q(i)} {`,
        '    version 2;',
        `    update time ${timers.update};`,
        `    timeout time ${timers.timeout};`,
        `    garbage time ${timers.garbage};`,
        ...(opts.extraInterfaceConfig ?? []).map((l) => `    ${l}`),
        '  };',
      ].join('\n'),
    ),
    '}',
    ...(opts.extraConfig ?? []),
    '',
  );
  fs.writeFileSync(conf, text.join('\n'));
  // Parse check first: a config error then surfaces as a clear message.
  const check = await run(TOOL_PATHS.bird, ['-p', '-c', conf], { allowFailure: true });
  if (check.code !== 0) throw new Error(`bird.conf rejected: ${check.stderr || check.stdout}\n${text.join('\n')}`);
  const bird = lab.spawn(host, TOOL_PATHS.bird, ['-f', '-c', conf, '-s', socket, '-P', path.join(dir, 'bird.pid')], {
    label: `${host}-bird-${path.basename(dir)}`,
  });
  await waitForFile(socket, opts.startTimeoutMs ?? 10_000, bird, () => `bird in ${full}: ${bird.log()}`);
  lab.note(`BIRD up in ${full} (dir ${dir})`);
  return {
    ns: full,
    dir,
    bird,
    conf,
    socket,
    birdc: async (...args: string[]) => (await run(TOOL_PATHS.birdc, ['-s', socket, ...args])).stdout,
    stop: () => bird.stop(),
  };
}
