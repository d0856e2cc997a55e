/**
 * Peer baseline: upgrading a plain Node service by restarting its process.
 *
 *   node --import tsx bench/peers/node-restart.ts [--quick] [--reps N]
 *        [--keys K] [--port P]          (or env NODE_RESTART_PORT=P)
 *
 * Starts bench/peers/dgram-kv-server.ts, fills it with K keys (default 1000),
 * then repeatedly: SIGTERM the server, start it again on the same port, and
 * measure the outage from the kill until the new process answers a UDP
 * request (polled every ~1 ms). After each restart it GETs every key it had
 * stored and counts NOT_FOUND: an in-memory Map does not survive a restart, so
 * all keys are lost — the two things a hot swap is meant to avoid.
 *
 * Two runners are measured:
 *  - `node`: the server transpiled to plain JavaScript ahead of time (with the
 *    typescript package already in devDependencies), started with `node
 *    server.mjs` — what a production deployment runs; this is the headline;
 *  - `tsx`: `node --import tsx dgram-kv-server.ts`, the dev setup, which adds
 *    the loader's start-up cost.
 *
 * All traffic goes to 127.0.0.1. Every wait is bounded in time and every loop
 * in count. The last stdout line is one JSON object; progress goes to stderr.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { type Summary, summarize } from './stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SERVER_TS = join(HERE, 'dgram-kv-server.ts');
const HOST = '127.0.0.1';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const quick = process.argv.includes('--quick');
const REPS = Number(arg('--reps') ?? (quick ? 5 : 20));
const KEYS = Number(arg('--keys') ?? 1000);

function log(msg: string): void {
  process.stderr.write(`[node-restart] ${msg}\n`);
}

/** A free UDP port: bind port 0, read what the kernel chose, release it. */
function freeUdpPort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = dgram.createSocket('udp4');
    s.once('error', rej);
    s.bind(0, HOST, () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Starts the server and resolves once it printed `listening <port>` (bounded 20 s). */
function startServer(cmd: string[], port: number): Promise<{ child: ChildProcess; listeningAt: number }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [...cmd, '--port', String(port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error('server did not print `listening` within 20 s'));
    }, 20_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`server exited early (${code})`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('listening ')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        res({ child, listeningAt: performance.now() });
      }
    });
  });
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
function stopServer(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res();
    const hard = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(hard);
      res();
    });
    child.kill('SIGTERM');
  });
}

/** Sequential request/response client (one socket, one request in flight). */
class Client {
  private readonly sock = dgram.createSocket('udp4');
  private waiting: ((reply: string) => void) | null = null;
  constructor(private readonly port: number) {
    this.sock.on('message', (m) => {
      const w = this.waiting;
      this.waiting = null;
      w?.(m.toString());
    });
  }
  request(msg: string, timeoutMs = 1000): Promise<string> {
    return new Promise((res, rej) => {
      const t = setTimeout(() => {
        this.waiting = null;
        rej(new Error(`timeout: ${msg}`));
      }, timeoutMs);
      this.waiting = (r) => {
        clearTimeout(t);
        res(r);
      };
      this.sock.send(msg, this.port, HOST);
    });
  }
  close(): void {
    this.sock.close();
  }
}

/**
 * Sends `GET __probe` about every millisecond on a fresh socket until any
 * reply arrives; resolves with the time of that reply. Bounded by 20 s (about
 * 20,000 probes). A fresh socket per poll so that replies to extra probes
 * cannot be mistaken later for replies to other requests.
 */
function pollUntilAnswered(port: number): Promise<number> {
  return new Promise((res, rej) => {
    const s = dgram.createSocket('udp4');
    let sent = 0;
    const finish = (err: Error | null, t = 0): void => {
      clearInterval(iv);
      clearTimeout(cap);
      s.close();
      if (err) rej(err);
      else res(t);
    };
    s.on('message', () => finish(null, performance.now()));
    s.on('error', () => {
      /* nothing listens yet: keep polling */
    });
    const probe = (): void => {
      if (++sent > 20_000) {
        finish(new Error('no answer after 20,000 probes'));
        return;
      }
      s.send('GET __probe', port, HOST);
    };
    const iv = setInterval(probe, 1);
    const cap = setTimeout(() => finish(new Error('no answer within 20 s')), 20_000);
    probe();
  });
}

interface RunnerResult {
  runner: string;
  restart_ms: Summary;
  kill_to_exit_ms: Summary;
  exit_to_listening_ms: Summary;
  keys_lost_per_restart: Summary;
}

async function measure(runner: string, cmd: string[], port: number, reps: number): Promise<RunnerResult> {
  const restart: number[] = [],
    toExit: number[] = [],
    toListening: number[] = [],
    lostKeys: number[] = [];
  let { child } = await startServer(cmd, port);
  const client = new Client(port);
  try {
    for (let rep = 0; rep < reps; rep++) {
      // Fill the store (sequential; K is small) and check it answers.
      for (let i = 0; i < KEYS; i++) {
        const r = await client.request(`SET k${i} v${i}`);
        if (r !== 'OK') throw new Error(`SET k${i}: ${r}`);
      }
      const check = await client.request(`GET k${KEYS - 1}`);
      if (check !== `VALUE v${KEYS - 1}`) throw new Error(`GET before restart: ${check}`);

      // The upgrade: stop the old process, start the new one, wait until it answers.
      const t0 = performance.now();
      await stopServer(child);
      const tExit = performance.now();
      const polled = pollUntilAnswered(port);
      const started = await startServer(cmd, port);
      const tUp = await polled;
      child = started.child;
      restart.push(tUp - t0);
      toExit.push(tExit - t0);
      toListening.push(started.listeningAt - tExit);

      // State after the restart: every key should be gone.
      let lost = 0;
      for (let i = 0; i < KEYS; i++) {
        const r = await client.request(`GET k${i}`);
        if (r === 'NOT_FOUND') lost++;
        else if (r !== `VALUE v${i}`) throw new Error(`GET k${i} after restart: ${r}`);
      }
      lostKeys.push(lost);
      log(`${runner} restart ${rep + 1}/${reps}: ${(tUp - t0).toFixed(1)} ms, ${lost}/${KEYS} keys lost`);
    }
  } finally {
    client.close();
    await stopServer(child);
  }
  return {
    runner,
    restart_ms: summarize(restart, 2),
    kill_to_exit_ms: summarize(toExit, 2),
    exit_to_listening_ms: summarize(toListening, 2),
    keys_lost_per_restart: summarize(lostKeys, 0),
  };
}

async function main(): Promise<void> {
  const port = Number(arg('--port') ?? process.env.NODE_RESTART_PORT ?? (await freeUdpPort()));
  // Plain-JS build of the server: type-stripped, nothing else changed.
  const work = mkdtempSync(join(tmpdir(), 'node-restart-'));
  try {
    const js = ts.transpileModule(readFileSync(SERVER_TS, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const serverJs = join(work, 'dgram-kv-server.mjs');
    writeFileSync(serverJs, js);

    log(`port ${port}, ${REPS} restarts per runner, ${KEYS} keys`);
    const node = await measure('node', [serverJs], port, REPS);
    const tsx = await measure('tsx', ['--import', 'tsx', SERVER_TS], port, REPS);
    const keysLost = [node, tsx].every((r) => r.keys_lost_per_restart.min === KEYS);
    console.log(
      JSON.stringify({
        peer: 'node-process-restart',
        node_version: process.version,
        port,
        restarts: REPS,
        keys_stored_before_restart: KEYS,
        // Headline: production-style plain JS. Outage = SIGTERM until first reply.
        restart_ms: { p50: node.restart_ms.p50, p99: node.restart_ms.p99 },
        keys_lost: keysLost ? 'all' : 'some',
        state_survives_restart: [node, tsx].some((r) => r.keys_lost_per_restart.max === 0),
        runners: { node, tsx },
      }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`node-restart: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
