/** tcpdump in a lab namespace (-nn -vvv -X, line-buffered): what a daemon really puts on the wire. */
import type { LabHandle } from './lab-process.js';
import { signalGroup } from './processes.js';
import { TOOL_PATHS } from './tools.js';

export interface CaptureOptions {
  /** tcpdump filter expression (default "udp port 520"). */
  filter?: string;
  /** Stop after this many packets (tcpdump -c). */
  count?: number;
  /** Hard bound on the capture's life (default 120 s). */
  maxDurationMs?: number;
}

export interface Capture {
  /** Stops tcpdump (if still running) and returns its text output. */
  stop(): Promise<string>;
  /** Resolves when tcpdump has exited by itself (count reached or bound hit). */
  readonly done: Promise<string>;
}

export function startCapture(lab: LabHandle, host: string, ifname: string, opts: CaptureOptions = {}): Capture {
  const maxS = Math.ceil((opts.maxDurationMs ?? 120_000) / 1000);
  const args = ['-i', ifname, '-l', '-nn', '-vvv', '-X'];
  if (opts.count !== undefined) args.push('-c', String(opts.count));
  args.push(...(opts.filter ?? 'udp port 520').split(/\s+/));
  // `timeout` bounds the capture even if nobody calls stop().
  const proc = lab.spawn(host, 'timeout', ['-s', 'INT', String(maxS), TOOL_PATHS.tcpdump, ...args], {
    pipe: true,
    label: `${host}-tcpdump-${ifname}`,
  });
  let out = '';
  proc.child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  proc.child.stderr?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const done = proc.exited.then(() => out);
  return {
    done,
    stop: async () => {
      if (proc.running()) signalGroup(proc.pid, 'SIGINT');
      const t = setTimeout(() => signalGroup(proc.pid, 'SIGKILL'), 3000);
      await proc.exited;
      clearTimeout(t);
      await proc.stop();
      return out;
    },
  };
}
