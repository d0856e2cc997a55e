/**
 * Crash tests' helpers: the real engine started again and again on one data directory, killed
 * with a real SIGKILL, and load clients that remember which writes were acknowledged.
 */
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TcpLineClient } from './clients.js';
import { type ComponentSpec, type RunningEngine, startEngine } from './engine-process.js';

/** One data directory that outlives the engines started on it. */
export class CrashSite {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'hotswap-crash-'));
  readonly #started: RunningEngine[] = [];

  async start(components: ComponentSpec[]): Promise<RunningEngine> {
    const engine = await startEngine(components, { dataDir: this.dataDir }, 60_000);
    this.#started.push(engine);
    return engine;
  }

  /** SIGKILL, then wait until the process is gone (its own temporary config dir is removed). */
  async kill(engine: RunningEngine): Promise<void> {
    engine.process.kill('SIGKILL');
    await engine.stop();
  }

  /**
   * Removes the data directory, and first kills any engine still running: a test that failed
   * between start() and its kill must end at once, not keep the suite waiting on the child until
   * the runner's timeout.
   */
  remove(): void {
    for (const engine of this.#started) {
      if (engine.process.exitCode === null && engine.process.signalCode === null) engine.process.kill('SIGKILL');
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * A UDP client that sends one request at a time and keeps its socket after the engine died:
 * whatever reaches it with no request outstanding is a repeated (or stray) reply.
 */
export class OneAtATimeUdp {
  readonly #socket = dgram.createSocket('udp4');
  #waiting: ((reply: string) => void) | null = null;
  readonly strays: string[] = [];

  constructor() {
    this.#socket.on('message', (msg) => {
      const w = this.#waiting;
      this.#waiting = null;
      if (w) w(msg.toString());
      else this.strays.push(msg.toString());
    });
  }

  /** The reply, or null when none came within `timeoutMs` (the engine was killed). */
  request(port: number, line: string, timeoutMs = 300): Promise<string | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting = null;
        resolve(null);
      }, timeoutMs);
      this.#waiting = (reply) => {
        clearTimeout(timer);
        resolve(reply);
      };
      this.#socket.send(line, port, '127.0.0.1');
    });
  }

  close(): void {
    this.#socket.close();
  }
}

/** Writes `SET <prefix><n> v<n>` one at a time until the engine stops answering; returns the acknowledged keys. */
export async function writeUntilDeadUdp(client: OneAtATimeUdp, port: number, prefix: string, acked: Map<string, string>): Promise<void> {
  for (let n = 0; n < 100_000; n++) {
    const key = `${prefix}${n}`;
    const reply = await client.request(port, `SET ${key} v${n}`);
    if (reply === null) return;
    if (reply !== 'OK') throw new Error(`SET ${key} answered ${reply}`);
    acked.set(key, `v${n}`);
  }
}

/** The same over one TCP connection (pipelined two at a time), until the connection dies. */
export async function writeUntilDeadTcp(port: number, prefix: string, acked: Map<string, string>): Promise<void> {
  const client = await TcpLineClient.connect(port);
  try {
    for (let n = 0; n < 100_000; n += 2) {
      const lines = [`SET ${prefix}${n} v${n}`, `SET ${prefix}${n + 1} v${n + 1}`];
      let replies: string[];
      try {
        replies = await client.pipeline(lines);
      } catch {
        return; // the engine died: these two were not acknowledged
      }
      replies.forEach((r, i) => {
        if (r !== 'OK') throw new Error(`${lines[i]} answered ${r}`);
        acked.set(`${prefix}${n + i}`, `v${n + i}`);
      });
    }
  } finally {
    client.close();
  }
}
