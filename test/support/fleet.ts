/**
 * A fleet for the fleet tests: real engine processes joined to a real nats-server as named nodes
 * (fast heartbeats, short probation), a writer per node that keeps setting keys over TCP and
 * checks them all at the end, the `hotswap rollout` CLI, and a direct view of the nodes' reports.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetStore } from '../../host/fleet/fleet-store.js';
import type { NodeReport } from '../../host/fleet/model.js';
import { TcpLineClient } from './clients.js';
import { cli, type RunningEngine, repoRoot, startEngine } from './engine-process.js';

/** Probation window of the fleet's engines: a rollout stage passes no sooner than this. */
export const PROBATION_MS = 1000;
/** An engine's start deadline: under a load average of 15 on 2 cores, one took over 15 s. */
const START_TIMEOUT_MS = 60_000;

export interface Node {
  name: string;
  engine: RunningEngine;
}

/** An Ed25519 key pair: the private key in a PEM file (for --sign), the public key as PEM text. */
export function signingKey(): { privateFile: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateFile = join(mkdtempSync(join(tmpdir(), 'hotswap-key-')), 'key.pem');
  writeFileSync(privateFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return { privateFile, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/**
 * Starts `names.length` engines (kv 1.0.0) joined to `servers`, one after the other: started
 * together on a loaded 2-core machine, each took longer than the engine helper's 15 s deadline.
 */
export async function startNodes(names: string[], servers: string[], trustedKey?: string, domain?: string): Promise<Node[]> {
  const nodes: Node[] = [];
  try {
    for (const name of names) nodes.push({ name, engine: await startNode(name, servers, trustedKey, domain) });
  } catch (e) {
    // The caller never gets the started ones: stop them here, or they would outlive the test.
    await Promise.all(nodes.map((n) => n.engine.stop()));
    throw e;
  }
  return nodes;
}

export function startNode(name: string, servers: string[], trustedKey?: string, domain?: string): Promise<RunningEngine> {
  return startEngine(
    [{ name: 'kv', version: '1.0.0', probation: { windowMs: PROBATION_MS, maxFaults: 0 } }],
    {
      logLevel: 'info',
      control: { host: '127.0.0.1', port: 0, ...(trustedKey ? { trustedKey } : {}) },
      fleet: { servers, node: name, heartbeatMs: 250, pollMs: 500, ...(domain ? { domain } : {}) },
    },
    START_TIMEOUT_MS,
  );
}

/** Runs `hotswap rollout …` against the fleet; resolves with its exit code and output. */
const ROLLOUT_CLI_MS = 90_000;

/**
 * Runs `hotswap rollout …` against `fleet`. A rollout that has not ended within `ROLLOUT_CLI_MS`
 * is killed and reported as exit 1 with a line saying so, so a stuck rollout fails its test with
 * the CLI's output instead of holding the file until the runner's deadline.
 */
export function rolloutCli(fleet: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, 'rollout', ...args, '--fleet', fleet],
      { cwd: repoRoot, env: { ...process.env, HOTSWAP_FLEET: '' }, timeout: ROLLOUT_CLI_MS },
      (err, stdout, stderr) => {
        const killed = err !== null && (err as { killed?: boolean }).killed === true;
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({
          code,
          stdout,
          stderr: killed ? `${stderr}\n(hotswap rollout ${args[0]} killed: no end within ${ROLLOUT_CLI_MS} ms)` : stderr,
        });
      },
    );
  });
}

/** Every node's report for `component`, read from the fleet's KV bucket. */
export async function reportsOf(fleet: string, component: string): Promise<Map<string, NodeReport>> {
  const store = await FleetStore.connect({ servers: [fleet], name: 'fleet test' });
  try {
    return new Map((await store.reports(component)).map((r) => [r.value.node, r.value]));
  } finally {
    await store.close();
  }
}

/**
 * Keeps writing keys to one node over TCP (one SET at a time, paced) until stopped, optionally
 * sending `poke` over UDP every tenth write, without waiting for an answer (a request that makes
 * a module trap gets none); `verify` reads every acknowledged key back.
 */
export class Writer {
  readonly node: string;
  readonly #client: TcpLineClient;
  readonly #udp = dgram.createSocket('udp4');
  readonly #udpPort: number;
  readonly acked: number[] = [];
  readonly errors: string[] = [];
  #stop = false;
  #done: Promise<void>;

  private constructor(node: string, client: TcpLineClient, udpPort: number, poke: string | null) {
    this.node = node;
    this.#client = client;
    this.#udpPort = udpPort;
    this.#done = this.#loop(poke);
  }

  static async start(node: Node, poke: string | null = null): Promise<Writer> {
    const ports = node.engine.ports.get('kv');
    if (ports?.tcp === undefined || ports.udp === undefined) throw new Error(`node ${node.name}: kv has no TCP and UDP ports`);
    return new Writer(node.name, await TcpLineClient.connect(ports.tcp), ports.udp, poke);
  }

  async #loop(poke: string | null): Promise<void> {
    for (let n = 0; !this.#stop; n++) {
      try {
        const reply = await this.#client.request(`SET ${this.node}-${n} v${n}`);
        if (reply === 'OK') this.acked.push(n);
        else this.errors.push(`SET ${this.node}-${n}: ${reply}`);
        if (poke && n % 10 === 0) this.#udp.send(poke, this.#udpPort, '127.0.0.1');
      } catch (e) {
        this.errors.push(`SET ${this.node}-${n}: ${(e as Error).message}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Stops writing; then reads back every acknowledged key and returns the ones lost or wrong. */
  async verify(): Promise<string[]> {
    this.#stop = true;
    await this.#done;
    const lines = this.acked.map((n) => `GET ${this.node}-${n}`);
    const replies = lines.length ? await this.#client.pipeline(lines) : [];
    const lost = replies.flatMap((r, i) => (r === `VALUE v${this.acked[i]}` ? [] : [`${lines[i]}: ${r}`]));
    this.#client.close();
    this.#udp.close();
    return [...this.errors, ...lost];
  }

  /** Stops without checking (the node was killed). */
  async abandon(): Promise<void> {
    this.#stop = true;
    await this.#done;
    this.#client.close();
    this.#udp.close();
  }
}
