/**
 * Watches an engine process from outside while a module attacks it: how fast the control API
 * answers, how much memory and CPU the process uses (read from /proc), and a UDP line client
 * that keeps every reply, so a request whose handler trapped (no reply) costs only a timeout.
 */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

/** The p-th percentile (0..100) of `values` (0 for none). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Resident memory of a process, in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Clock ticks per second of /proc/<pid>/stat's times (asked once; 100 on Linux in practice). */
const ticksPerSecond = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) a process has used so far, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

export interface LatencySummary {
  samples: number;
  p50: number;
  p99: number;
  max: number;
  /** Requests that failed or got no answer within the probe's timeout. */
  failures: string[];
}

/**
 * Polls `GET /healthz` one request after another (a pause of `gapMs` between them) until
 * stopped, and the process's RSS every `gapMs`; bounded by `maxMs` in any case. A request that
 * does not answer within `timeoutMs` counts as a failure with its full timeout as latency.
 */
export class ControlWatch {
  readonly latencies: number[] = [];
  readonly failures: string[] = [];
  maxRss = 0;
  #running = true;
  readonly #loop: Promise<void>;
  readonly #rssTimer: NodeJS.Timeout;

  constructor(control: string, pid: number, options: { gapMs?: number; timeoutMs?: number; maxMs?: number } = {}) {
    const gapMs = options.gapMs ?? 20;
    const timeoutMs = options.timeoutMs ?? 3000;
    const deadline = performance.now() + (options.maxMs ?? 60_000);
    const sampleRss = (): void => {
      try {
        this.maxRss = Math.max(this.maxRss, rssBytes(pid));
      } catch {
        // the process is gone: the test's liveness check says so
      }
    };
    sampleRss();
    this.#rssTimer = setInterval(sampleRss, gapMs);
    this.#loop = (async () => {
      while (this.#running && performance.now() < deadline) {
        const t = performance.now();
        try {
          const res = await fetch(`http://${control}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
          await res.arrayBuffer();
          this.latencies.push(performance.now() - t);
          if (res.status !== 200) this.failures.push(`healthz answered ${res.status}`);
        } catch (e) {
          this.latencies.push(Math.max(timeoutMs, performance.now() - t));
          this.failures.push(`healthz: ${(e as Error).message}`);
        }
        await new Promise((resolve) => setTimeout(resolve, gapMs));
      }
    })();
  }

  async stop(): Promise<LatencySummary & { maxRss: number }> {
    this.#running = false;
    await this.#loop;
    clearInterval(this.#rssTimer);
    const l = this.latencies;
    return {
      samples: l.length,
      p50: percentile(l, 50),
      p99: percentile(l, 99),
      max: l.length ? Math.max(...l) : 0,
      failures: this.failures,
      maxRss: this.maxRss,
    };
  }
}

/**
 * A UDP client that keeps every reply in arrival order. `request` waits for the next reply
 * that matches, so a request that got none (its handler trapped) fails alone, by its timeout,
 * without shifting the replies of later requests.
 */
export class UdpLines {
  readonly #socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  readonly #port: number;
  readonly lines: string[] = [];
  /** Bytes received in total (a flood's long replies are counted, not kept). */
  bytes = 0;
  received = 0;
  lastAt = 0;
  #seen = 0;

  constructor(port: number) {
    this.#port = port;
    this.#socket.on('message', (msg) => {
      this.bytes += msg.byteLength;
      this.received++;
      this.lastAt = performance.now();
      if (msg.byteLength < 512) this.lines.push(msg.toString());
    });
  }

  send(line: string): void {
    this.#socket.send(line, this.#port, '127.0.0.1');
  }

  /** The first reply after the ones already consumed that `match`es; consumes up to it. */
  async next(match: (line: string) => boolean, what: string, timeoutMs = 5000): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      for (let i = this.#seen; i < this.lines.length; i++) {
        if (match(this.lines[i]!)) {
          this.#seen = i + 1;
          return this.lines[i]!;
        }
      }
      if (performance.now() > deadline) throw new Error(`no UDP reply ${what} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Sends `line` and waits for the next reply that matches (default: any). */
  request(line: string, match: (reply: string) => boolean = () => true, timeoutMs = 5000): Promise<string> {
    this.#seen = this.lines.length;
    this.send(line);
    return this.next(match, `to "${line}"`, timeoutMs);
  }

  close(): void {
    this.#socket.close();
  }
}

/**
 * A paced UDP client: one `SET` every `intervalMs` (each on its own key), bounded by `limit`
 * requests. Replies come back in order on one socket, so each is matched to the oldest request
 * waiting, and its latency is the time since that request was sent.
 */
export class PacedUdp {
  readonly #socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  readonly #sentAt: number[] = [];
  readonly latencies: number[] = [];
  readonly unexpected: string[] = [];
  sent = 0;
  #running = true;
  readonly #loop: Promise<void>;

  constructor(
    port: number,
    readonly prefix: string,
    options: { intervalMs?: number; limit?: number } = {},
  ) {
    const intervalMs = options.intervalMs ?? 2;
    const limit = options.limit ?? 20_000;
    this.#socket.on('message', (msg) => {
      const at = this.#sentAt.shift();
      if (at === undefined || msg.toString() !== 'OK') this.unexpected.push(msg.toString());
      if (at !== undefined) this.latencies.push(performance.now() - at);
    });
    this.#loop = (async () => {
      const start = performance.now();
      while (this.#running && this.sent < limit) {
        const i = this.sent++;
        this.#sentAt.push(performance.now());
        this.#socket.send(`SET ${prefix}${i} v${i}`, port, '127.0.0.1');
        // Paced from the start time, not from the last send, so a late timer does not slow the rate.
        const wait = start + this.sent * intervalMs - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    })();
  }

  /** Stops sending, waits (up to `timeoutMs`) for every reply; returns the summary. */
  async stop(timeoutMs = 5000): Promise<{ sent: number; replied: number; p50: number; p99: number; max: number }> {
    this.#running = false;
    await this.#loop;
    const deadline = performance.now() + timeoutMs;
    while (this.#sentAt.length > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    this.#socket.close();
    const l = this.latencies;
    return { sent: this.sent, replied: l.length, p50: percentile(l, 50), p99: percentile(l, 99), max: l.length ? Math.max(...l) : 0 };
  }
}
