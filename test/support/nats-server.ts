/**
 * Runs real nats-server processes for the fleet tests: JetStream with its own store directory
 * (mkdtemp), on a port the test picks (never 4222), optionally as a leaf-node hub or as a leaf of
 * another server; restartable on the same port and store, killable with real signals.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NATS_SERVER = '/usr/sbin/nats-server';

/** Why the fleet tests cannot run here, or null when they can. */
export function natsMissing(): string | null {
  const hidden = (process.env.HOTSWAP_TEST_HIDE_TOOLS ?? '').split(',').includes('nats-server');
  if (hidden || !existsSync(NATS_SERVER)) return `${NATS_SERVER} is not installed (Debian package nats-server)`;
  return null;
}

/** A free loopback port (asked of the kernel, then released for nats-server to bind). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (port !== 4222) return port;
  }
}

export interface NatsOptions {
  /** Run JetStream here (default true). */
  jetstream?: boolean;
  /** The JetStream domain (a hub needs one for its leaves to reach its JetStream). */
  domain?: string;
  /** Accept leaf nodes (a hub). */
  leafHub?: boolean;
  /** Be a leaf of this hub's leaf port. */
  leafOf?: number;
}

export class NatsServer {
  readonly port: number;
  readonly leafPort: number | null;
  readonly url: string;
  readonly #dir: string;
  readonly #configFile: string;
  #child: ChildProcess | null = null;
  #output = '';

  private constructor(port: number, leafPort: number | null, dir: string, configFile: string) {
    this.port = port;
    this.leafPort = leafPort;
    this.url = `nats://127.0.0.1:${port}`;
    this.#dir = dir;
    this.#configFile = configFile;
  }

  static async start(options: NatsOptions = {}): Promise<NatsServer> {
    const dir = mkdtempSync(join(tmpdir(), 'hotswap-nats-'));
    const port = await freePort();
    const leafPort = options.leafHub ? await freePort() : null;
    const lines = [`host: 127.0.0.1`, `port: ${port}`, `server_name: s${port}`];
    const domain = options.domain ? `, domain: ${options.domain}` : '';
    if (options.jetstream ?? true) lines.push(`jetstream { store_dir: "${join(dir, 'js')}"${domain} }`);
    if (leafPort !== null) lines.push(`leafnodes { host: 127.0.0.1, port: ${leafPort} }`);
    if (options.leafOf !== undefined) lines.push(`leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:${options.leafOf}" } ] }`);
    const configFile = join(dir, 'nats.conf');
    writeFileSync(configFile, `${lines.join('\n')}\n`);
    const server = new NatsServer(port, leafPort, dir, configFile);
    await server.restart();
    return server;
  }

  /** Starts the server (again, after stop or kill) on the same port and store. */
  async restart(): Promise<void> {
    if (this.#child) throw new Error(`nats-server on ${this.port} is already running`);
    this.#output = '';
    const child = spawn(NATS_SERVER, ['-c', this.#configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server on ${this.port} not ready in 15 s:\n${this.#output}`)), 15_000);
      const onData = (b: Buffer): void => {
        this.#output += b.toString();
        if (this.#output.slice(-4096).includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server on ${this.port} exited (${code}):\n${this.#output}`));
      });
    });
    await ready;
  }

  /** Stops the server (SIGTERM, or `signal`) and waits for it to exit; the store stays. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = null;
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  output(): string {
    return this.#output;
  }

  /** Stops the server and removes its store. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
