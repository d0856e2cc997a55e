/**
 * The control API's latency while a component floods itself (docs/PERFORMANCE.md): a real engine
 * process (`bin/hotswap.js start`) with two components: `flood`, upgraded to
 * build/hostile/flood-self.wasm (every message it handles sends two more to itself over the bus),
 * and a healthy kv next to it. GET /healthz and kv's UDP requests are timed from this process
 * in alternating idle and flooding phases (5 of each, 2 s each; 2 of 1.5 s with --quick), each
 * flood ended by a rollback; each side's latencies are pooled over its phases, so the machine's
 * drift between phases hits both alike (a single idle phase followed by a single flood phase
 * gave extra p99s of 1.3 to 9.4 ms in back-to-back runs at load 3-4). The flooder's `quotaFaults` is raised so that probation, which would roll it
 * back within a fraction of a second, lets the flood last the whole window.
 *
 *   node --import tsx bench/cases/control-latency.ts [--quick]
 *
 * CL_FLOOD and CL_KV set each component's `durability` (default `fsync`, the engine's default):
 * comparing them tells the journal's share of the neighbour's extra latency (docs/DURABILITY.md).
 * CL_FLOOD_QUEUE sets the flooder's `limits.queueEvents` (its bus share is a sixteenth of it) and
 * CL_NODE_ARGS adds node options to the engine process (e.g. GC flags), CL_SHARED_MS sets
 * `dispatch.sharedSliceMs` (5: every slice as long as when alone), CL_ENGINE_LOG names a file
 * for the engine's output (with CL_NODE_ARGS=--trace-gc, its collections): all for experiments.
 */
import { execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progress, runCase } from '../lib/case.js';
import { BENCH_DIR } from '../lib/child.js';
import { summarize } from '../peers/stats.js';

const ROOT = join(BENCH_DIR, '..');
const CLI = join(ROOT, 'bin', 'hotswap.js');

/** GET /healthz every `everyMs` for `ms`; each latency in ms. */
async function healthz(control: string, ms: number, everyMs = 10): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t0 = performance.now();
    const res = await fetch(`http://${control}/healthz`);
    await res.arrayBuffer();
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return out;
}

/**
 * The engine's young-generation collections so far (prom-client's `nodejs_gc_duration_seconds`,
 * kind "minor"): how many, and their total ms. A scavenge holds the whole event loop, so what a
 * flood allocates shows up here as pauses every other component waits through.
 */
async function scavenges(control: string): Promise<{ count: number; ms: number }> {
  const text = await (await fetch(`http://${control}/metrics`)).text();
  // The metric is there from the start; its "minor" series only once a scavenge was observed.
  if (!text.includes('# TYPE nodejs_gc_duration_seconds histogram')) throw new Error('/metrics has no nodejs_gc_duration_seconds');
  const value = (series: string): number =>
    Number(text.match(new RegExp(`^nodejs_gc_duration_seconds_${series}\\{kind="minor"\\} (\\S+)$`, 'm'))?.[1] ?? 0);
  return { count: value('count'), ms: value('sum') * 1000 };
}

const hotswap = (control: string, ...args: string[]): Promise<string> =>
  new Promise((resolve, reject) =>
    execFile(process.execPath, [CLI, ...args, '--control', control], { cwd: ROOT }, (e, stdout, stderr) =>
      e ? reject(new Error(`hotswap ${args.join(' ')}: ${stderr || e.message}`)) : resolve(stdout),
    ),
  );

/** Sequential kv requests (one in flight) for `ms`; each round trip in ms. */
async function kvRequests(socket: dgram.Socket, port: number, ms: number): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + ms;
  for (let i = 0; performance.now() < end; i++) {
    const t0 = performance.now();
    const reply = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kv request ${i}: no reply within 2 s`)), 2000);
      socket.once('message', (m) => {
        clearTimeout(timer);
        resolve(m.toString());
      });
      socket.send(`SET n${i % 1000} v${i}`, port, '127.0.0.1');
    });
    if (reply !== 'OK') throw new Error(`kv request ${i}: ${reply}`);
    out.push(performance.now() - t0);
  }
  return out;
}

const FLOOD_VERSION = '6.6.6-flood-self';

interface FloodStatus {
  version: string;
  queueDepth: number;
  handled: { message: number };
}
const component = async (control: string): Promise<FloodStatus> =>
  (await (await fetch(`http://${control}/v1/components/flood`)).json()) as FloodStatus;
const depth = async (control: string): Promise<number> => (await component(control)).queueDepth;
const handledBy = async (control: string): Promise<number> => (await component(control)).handled.message;

/** Waits (10 s at most) until the flooder's queue is empty: the rollback's kv drained it. */
async function untilIdle(control: string): Promise<void> {
  const t0 = performance.now();
  while ((await depth(control)) > 0) {
    if (performance.now() - t0 > 10_000) throw new Error('the flooder queue did not drain within 10 s of its rollback');
    await new Promise((r) => setTimeout(r, 10));
  }
}

runCase(import.meta.url, async ({ quick }) => {
  const seconds = quick ? 3 : 10; // per side, over all its phases
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-control-'));
  const config = join(dataDir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      dataDir,
      logLevel: 'info',
      control: { host: '127.0.0.1', port: 0 },
      ...(process.env.CL_SHARED_MS ? { dispatch: { sharedSliceMs: Number(process.env.CL_SHARED_MS) } } : {}),
      components: [
        {
          name: 'flood',
          module: 'kv',
          version: '1.0.0',
          listen: [{ proto: 'udp', host: '127.0.0.1', port: 0 }],
          limits: {
            quotaFaults: 1_000_000_000,
            ...(process.env.CL_FLOOD_QUEUE ? { queueEvents: Number(process.env.CL_FLOOD_QUEUE) } : {}),
          },
          durability: (process.env.CL_FLOOD ?? 'fsync') as 'fsync',
        },
        {
          name: 'kv',
          module: 'kv',
          version: '1.0.0',
          durability: (process.env.CL_KV ?? 'fsync') as 'fsync',
          listen: [{ proto: 'udp', host: '127.0.0.1', port: 0 }],
        },
      ],
    }),
  );
  const engine = spawn(
    process.execPath,
    [...(process.env.CL_NODE_ARGS ? process.env.CL_NODE_ARGS.split(' ') : []), CLI, 'start', '--config', config],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (process.env.CL_ENGINE_LOG) {
    const log = createWriteStream(process.env.CL_ENGINE_LOG);
    engine.stdout.pipe(log);
    engine.stderr.pipe(log);
  }
  let out = '';
  const seen = (re: RegExp): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`engine did not print ${re} within 30 s:\n${out}`)), 30_000);
      const check = (d?: Buffer): void => {
        if (d) out += d.toString();
        const m = out.match(re);
        if (m) {
          clearTimeout(timer);
          engine.stdout.off('data', check);
          engine.stderr.off('data', check);
          resolve(m);
        }
      };
      engine.stdout.on('data', check);
      engine.stderr.on('data', check);
      check();
    });
  const udp = dgram.createSocket('udp4');
  const kvSocket = dgram.createSocket('udp4');
  try {
    const control = (await seen(/control endpoint on http:\/\/([\d.]+:\d+)/))[1]!;
    const port = Number((await seen(/\[flood\] channel 0: udp [\d.]+:(\d+)/))[1]);
    const kvPort = Number((await seen(/\[kv\] channel 0: udp [\d.]+:(\d+)/))[1]);
    await seen(/ready: /);
    // Idle and flooding phases alternate (idle, flood, idle, flood, ...), each `phase` long, and
    // each side's latencies are pooled over its phases: a stretch of machine noise then lands on
    // both sides alike instead of on whichever phase ran during it. The flood is ended between
    // its phases by a rollback to kv 1.0.0 (which drains the flooder's queue) and begun again by
    // an upgrade to the stored flood-self and a kick.
    const rounds = quick ? 2 : 5;
    const phase = (seconds * 1000) / rounds;
    const idle: number[] = [];
    const kvIdle: number[] = [];
    const flooding: number[] = [];
    const kvFlooding: number[] = [];
    const perRound: { idle_p99: number; flooding_p99: number }[] = [];
    const handled: number[] = [];
    const scavenged = { count: 0, ms: 0 };
    let floodLasted = true;
    for (let round = 0; round < rounds; round++) {
      await untilIdle(control);
      progress('control_latency', `round ${round + 1}/${rounds}: idle for ${phase} ms, then flooding for ${phase} ms`);
      const [h0, k0] = await Promise.all([healthz(control, phase), kvRequests(kvSocket, kvPort, phase)]);
      await hotswap(control, 'upgrade', 'flood', round === 0 ? join(ROOT, 'build', 'hostile', 'flood-self.wasm') : FLOOD_VERSION);
      const before = await handledBy(control);
      udp.send('FLOOD flood', port, '127.0.0.1');
      const t0 = performance.now();
      while ((await depth(control)) < (process.env.CL_FLOOD_QUEUE ? 100 : 1000)) {
        if (performance.now() - t0 > 10_000) throw new Error('the flood did not start within 10 s');
        await new Promise((r) => setTimeout(r, 10));
      }
      const gc0 = await scavenges(control);
      const [h1, k1] = await Promise.all([healthz(control, phase), kvRequests(kvSocket, kvPort, phase)]);
      const gc1 = await scavenges(control);
      scavenged.count += gc1.count - gc0.count;
      scavenged.ms += gc1.ms - gc0.ms;
      const f = await component(control);
      if (f.version !== FLOOD_VERSION || f.queueDepth < 1000) {
        progress('control_latency', `round ${round + 1}: the flood did not last (version ${f.version}, queue ${f.queueDepth})`);
        floodLasted = false;
      }
      handled.push(f.handled.message - before);
      await hotswap(control, 'rollback', 'flood');
      idle.push(...h0);
      kvIdle.push(...k0);
      flooding.push(...h1);
      kvFlooding.push(...k1);
      perRound.push({ idle_p99: summarize(k0, 2).p99, flooding_p99: summarize(k1, 2).p99 });
    }
    const ms = (xs: number[]) => {
      const s = summarize(xs, 2);
      return { p50: s.p50, p99: s.p99, max: s.max, n: s.count };
    };
    return {
      seconds,
      healthz_ms: { idle: ms(idle), flooding: ms(flooding) },
      neighbour_kv_ms: { idle: ms(kvIdle), flooding: ms(kvFlooding) },
      neighbour_extra_p99_ms: Math.round((ms(kvFlooding).p99 - ms(kvIdle).p99) * 100) / 100,
      rounds,
      neighbour_extra_p99_per_round_ms: perRound.map((r) => Math.round((r.flooding_p99 - r.idle_p99) * 100) / 100),
      flood_lasted: floodLasted,
      flood: {
        handled_per_s: Math.round(handled.reduce((a, b) => a + b, 0) / seconds),
        // The engine's scavenges while flooding: per second, and their share of the time in ms per s.
        scavenges_per_s: Math.round((scavenged.count / seconds) * 10) / 10,
        scavenge_ms_per_s: Math.round((scavenged.ms / seconds) * 10) / 10,
      },
    };
  } finally {
    udp.close();
    kvSocket.close();
    engine.kill('SIGTERM');
    await new Promise((r) => engine.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
});
