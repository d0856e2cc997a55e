/**
 * A Node RIP listener inside a lab namespace, set up the way the engine listens, run as a child
 * process (rip-listener-main.ts): a process cannot hold sockets in two namespaces through the
 * dgram API. Every datagram it hears is reported back to this process.
 */
import { fileURLToPath } from 'node:url';
import type { LabHandle } from './lab-process.js';
import type { ListenerLine } from './rip-listener-main.js';

export interface UdpDatagram {
  /** Unix time in ms at reception. */
  at: number;
  from: string;
  port: number;
  data: Buffer;
}

export interface RipListener {
  readonly received: UdpDatagram[];
  /** Resolves once the socket is bound and joined (or rejects with the error). */
  readonly ready: Promise<void>;
  stop(): Promise<UdpDatagram[]>;
}

const MAIN = fileURLToPath(new URL('./rip-listener-main.ts', import.meta.url));
/** tsx, resolved from here: `ip netns exec` keeps the environment, not a package context. */
const TSX = import.meta.resolve('tsx');

export function startRipListener(lab: LabHandle, host: string, ifaddrs: string[], opts: { maxDurationMs?: number } = {}): RipListener {
  const args = ['--import', TSX, MAIN, JSON.stringify(ifaddrs), String(opts.maxDurationMs ?? 120_000)];
  const proc = lab.spawn(host, process.execPath, args, { pipe: true, label: `${host}-riplistener` });
  const received: UdpDatagram[] = [];
  let partial = '';
  let stderr = '';
  let markReady: () => void = () => {};
  let failReady: (e: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  proc.child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  proc.child.stdout?.on('data', (c: Buffer) => {
    partial += c.toString('utf8');
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      const m = JSON.parse(line) as ListenerLine;
      if ('ready' in m) markReady();
      else if ('error' in m) failReady(new Error(`RIP listener in ${proc.ns}: ${m.error}`));
      else received.push({ at: m.at, from: m.from, port: m.port, data: Buffer.from(m.hex, 'hex') });
    }
  });
  void proc.exited.then((code) => failReady(new Error(`RIP listener in ${proc.ns} exited (${code}): ${stderr}`)));
  return {
    received,
    ready,
    stop: async () => {
      await proc.stop();
      return received;
    },
  };
}
