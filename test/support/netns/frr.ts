/**
 * FRR zebra + ripd in a lab namespace, each instance with its own directory for config, pid
 * files, the zserv socket, vty sockets and logs, so instances never touch /var/run/frr.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LabHandle, LabProcess } from './lab-process.js';
import { run, waitForFile } from './processes.js';
import { TOOL_PATHS } from './tools.js';

export interface RipTimers {
  update: number;
  timeout: number;
  garbage: number;
}

export interface FrrRipOptions {
  /** `network` statements: prefixes (enable RIP on interfaces inside) or interface names. */
  networks: string[];
  /** `redistribute connected` (how stub networks get advertised). */
  redistributeConnected?: boolean;
  /** Seconds; FRR's floor is 5/15/10 (`timers basic 5 15 10`), which is the default here. */
  timers?: RipTimers;
  /** `passive-interface` statements. */
  passiveInterfaces?: string[];
  /** Explicit `neighbor` statements (unicast updates). */
  neighbors?: string[];
  /** Extra lines inside `router rip` (verbatim). */
  extraRipConfig?: string[];
  /** Extra top-level lines for ripd.conf, e.g. interface auth settings. */
  extraConfig?: string[];
  /** Turn on `debug rip events/packet/zebra` into ripd's log file. */
  debug?: boolean;
  /** Wait this long for the vty sockets to appear (default 10 s). */
  startTimeoutMs?: number;
}

export interface FrrRipInstance {
  readonly ns: string;
  /** Directory holding configs, pid files, vty sockets and logs. */
  readonly dir: string;
  readonly zebra: LabProcess;
  readonly ripd: LabProcess;
  readonly ripdConf: string;
  /** Runs `vtysh -c cmd` against this instance's vty sockets; returns stdout. */
  vtysh(...commands: string[]): Promise<string>;
  /** Stops ripd then zebra (graceful: they flush their kernel routes). */
  stop(): Promise<void>;
  /** Stops only ripd (zebra keeps running), for daemon-restart experiments. */
  stopRipd(): Promise<void>;
}

/**
 * Starts FRR zebra + ripd inside a namespace.
 *
 * Each instance gets its own directory for config, pid files, the zserv API
 * socket (-z, shared by zebra and ripd of that instance) and vty sockets
 * (--vty_socket), so several instances never touch /var/run/frr. The TCP
 * vty is switched off (-P 0). Daemons run in the foreground as user frr, so
 * the directory is chowned to frr.
 */
export async function startFrrRip(lab: LabHandle, host: string, opts: FrrRipOptions): Promise<FrrRipInstance> {
  const full = lab.ns(host);
  const { dir } = lab.instanceDir('frr', host);
  const timers = opts.timers ?? { update: 5, timeout: 15, garbage: 10 };
  if (timers.update < 5 || timers.timeout < 5 || timers.garbage < 5) {
    throw new Error('FRR ripd refuses timers below 5 s (`timers basic 5 15 10` is the floor)');
  }
  const zebraConf = path.join(dir, 'zebra.conf');
  const ripdConf = path.join(dir, 'ripd.conf');
  fs.writeFileSync(zebraConf, `hostname ${host}-zebra\n`);
  const lines: string[] = [`hostname ${host}-ripd`];
  if (opts.debug) lines.push('debug rip events', 'debug rip packet', 'debug rip zebra');
  lines.push(...(opts.extraConfig ?? []));
  lines.push('router rip', ' version 2');
  for (const n of opts.networks) lines.push(` network ${n}`);
  for (const n of opts.neighbors ?? []) lines.push(` neighbor ${n}`);
  for (const p of opts.passiveInterfaces ?? []) lines.push(` passive-interface ${p}`);
  if (opts.redistributeConnected) lines.push(' redistribute connected');
  lines.push(` timers basic ${timers.update} ${timers.timeout} ${timers.garbage}`);
  for (const l of opts.extraRipConfig ?? []) lines.push(` ${l.trim()}`);
  lines.push('exit', '');
  fs.writeFileSync(ripdConf, lines.join('\n'));
  chownToFrr(dir);

  const zserv = path.join(dir, 'zserv.api');
  const common = (name: string): string[] => [
    '-i',
    path.join(dir, `${name}.pid`),
    '-z',
    zserv,
    '--vty_socket',
    dir,
    '-P',
    '0',
    '--log',
    `file:${path.join(dir, `${name}.log`)}`,
  ];
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  const zebra = lab.spawn(host, TOOL_PATHS.zebra, ['-f', zebraConf, ...common('zebra')], { label: `${host}-zebra-${path.basename(dir)}` });
  await waitForFile(path.join(dir, 'zebra.vty'), startTimeoutMs, zebra, () => `zebra in ${full}: ${zebra.log()}`);
  await waitForFile(zserv, startTimeoutMs, zebra, () => `zebra in ${full}: ${zebra.log()}`);
  const ripd = lab.spawn(host, TOOL_PATHS.ripd, ['-f', ripdConf, ...common('ripd')], { label: `${host}-ripd-${path.basename(dir)}` });
  await waitForFile(path.join(dir, 'ripd.vty'), startTimeoutMs, ripd, () => `ripd in ${full}: ${ripd.log()}`);
  lab.note(`FRR ripd up in ${full} (dir ${dir})`);
  return {
    ns: full,
    dir,
    zebra,
    ripd,
    ripdConf,
    vtysh: async (...commands: string[]) =>
      (await run(TOOL_PATHS.vtysh, ['--vty_socket', dir, ...commands.flatMap((c) => ['-c', c])])).stdout,
    stop: async () => {
      await ripd.stop();
      await zebra.stop();
    },
    stopRipd: () => ripd.stop(),
  };
}

function chownToFrr(dir: string): void {
  // Look the ids up in /etc/passwd and /etc/group: no extra dependency.
  const passwd = fs.readFileSync('/etc/passwd', 'utf8');
  const m = /^frr:[^:]*:(\d+):(\d+):/m.exec(passwd);
  if (!m) throw new Error('user frr not found (is the frr package installed?)');
  const uid = Number(m[1]);
  const gid = Number(m[2]);
  fs.chownSync(dir, uid, gid);
  for (const f of fs.readdirSync(dir)) fs.chownSync(path.join(dir, f), uid, gid);
}
