/**
 * Measures 3 and 4 (docs/PERFORMANCE.md): kv over real UDP sockets, with the server and the load generator
 * in separate processes on loopback.
 *
 *   node --import tsx bench/cases/udp.ts [--quick]
 *
 * 3. Throughput: the engine (bench/lib/serve-kv.ts --impl engine: Engine.start, kv 1.0.0 on a
 *    UDP port) against the plain-Node dgram + Map server (--impl dgram), each driven by
 *    bench/peers/udp-load.ts (windowed, 32 in flight) for GET, SET and a 50/50 mix, in
 *    alternating rounds. Besides requests/s it reports the server's CPU time per request: when
 *    the single load generator is the bottleneck, rps alone would hide a server that costs more.
 * 4. Upgrades under load: 1,000 upgrades kv 1.0.0 ↔ 2.0.0 (precompiled), one every 10 ms,
 *    while udp-load sends a 50/50 GET/SET mix paced at 80% of the engine's maximum measured in
 *    3. Reports lost, duplicated, reordered and unexpected replies, keys present afterwards, and
 *    the latency of requests in flight during a swap against all the others (steady state):
 *    the engine reports each swap's window on the machine-wide monotonic clock and udp-load
 *    traces each reply's send time on the same clock. A shorter second pass goes through
 *    engine.upgrade() (prepare included) to show what an upgrade costs when nothing is
 *    precompiled.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progress, runCase } from '../lib/case.js';
import { runJson, ServerProcess, udpLoad } from '../lib/child.js';
import { rcvbufDropsSince, udpCounters } from '../lib/kernel.js';
import { round, type Summary, summarize } from '../peers/stats.js';

type Mix = 'get' | 'set' | 'mixed';
type Impl = 'engine' | 'dgram';

interface LoadRun {
  rps: number;
  received: number;
  lost: number;
  kernel_rcvbuf_drops: number | null;
  latency_us: { p50: number; p99: number };
  server_cpu_us_per_request: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function loadOnce(impl: Impl, mix: Mix, seconds: number): Promise<LoadRun> {
  const server = await ServerProcess.start(impl);
  try {
    await server.command('cpu-reset');
    const counters = udpCounters();
    const r = await udpLoad(server.port, mix, seconds);
    const cpu = await server.command('cpu');
    const received = Number(r.received) + Number((r.prefill as { received?: number } | undefined)?.received ?? 0);
    const lat = r.latency_us as { p50: number; p99: number };
    return {
      rps: Number(r.rps),
      received: Number(r.received),
      lost: Number(r.lost),
      kernel_rcvbuf_drops: rcvbufDropsSince(counters),
      latency_us: { p50: lat.p50, p99: lat.p99 },
      server_cpu_us_per_request: round((Number(cpu.user_us) + Number(cpu.system_us)) / Math.max(1, received), 2),
    };
  } finally {
    await server.close();
  }
}

async function throughput(quick: boolean) {
  const mixes: Mix[] = quick ? ['mixed'] : ['get', 'set', 'mixed'];
  const rounds = quick ? 1 : 2;
  const seconds = quick ? 2 : 5;
  const out: Record<string, unknown> = {};
  for (const mix of mixes) {
    const runs: Record<Impl, LoadRun[]> = { engine: [], dgram: [] };
    for (let r = 0; r < rounds; r++) {
      for (const impl of ['engine', 'dgram'] as const) {
        const run = await loadOnce(impl, mix, seconds);
        progress('udp', `${mix} ${impl}: ${run.rps} rps, p99 ${run.latency_us.p99} µs, ${run.server_cpu_us_per_request} µs CPU/request`);
        runs[impl].push(run);
      }
    }
    const pick = (impl: Impl) => {
      const rs = runs[impl];
      return {
        rps: Math.round(median(rs.map((x) => x.rps))),
        latency_us: { p50: median(rs.map((x) => x.latency_us.p50)), p99: median(rs.map((x) => x.latency_us.p99)) },
        server_cpu_us_per_request: median(rs.map((x) => x.server_cpu_us_per_request)),
        lost: rs.reduce((a, x) => a + x.lost, 0),
        kernel_rcvbuf_drops: rs.reduce((a, x) => a + (x.kernel_rcvbuf_drops ?? 0), 0),
      };
    };
    const engine = pick('engine');
    const dgram = pick('dgram');
    out[mix] = {
      engine,
      dgram,
      ratio_rps: round(engine.rps / dgram.rps, 3),
      // >1 means the engine spends more CPU per request than the plain server.
      ratio_cpu_per_request: round(engine.server_cpu_us_per_request / dgram.server_cpu_us_per_request, 3),
    };
  }
  return out as Record<Mix, { engine: { rps: number }; dgram: { rps: number }; ratio_rps: number; ratio_cpu_per_request: number }>;
}

/** Reads udp-load's trace: (send µs, latency µs) pairs on the monotonic clock. */
function readTrace(file: string): Float64Array {
  const bytes = new Uint8Array(readFileSync(file));
  return new Float64Array(bytes.buffer, 0, bytes.byteLength >>> 3);
}

/** Splits reply latencies into "in flight while a swap ran" and the rest. */
export function splitBySwaps(trace: Float64Array, windows: readonly [number, number][]): { during: number[]; steady: number[] } {
  const during: number[] = [];
  const steady: number[] = [];
  const sorted = [...windows].sort((a, b) => a[0] - b[0]);
  for (let i = 0; i + 1 < trace.length; i += 2) {
    const sent = trace[i]!;
    const latency = trace[i + 1]!;
    const end = sent + latency;
    // The last window starting before the reply came; earlier ones ended even earlier.
    let lo = 0;
    let hi = sorted.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]![0] <= end) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found >= 0 && sorted[found]![1] >= sent) during.push(latency);
    else steady.push(latency);
  }
  return { during, steady };
}

const brief = (s: Summary) => ({ count: s.count, p50: s.p50, p99: s.p99, max: s.max });

async function underLoad(maxRps: number, upgrades: number, periodMs: number, mode: 'precompiled' | 'prepare') {
  const keys = 4096;
  const rate = Math.round(maxRps * 0.8);
  const seconds = 2 + ((upgrades * periodMs) / 1000) * 1.5 + 2;
  const work = mkdtempSync(join(tmpdir(), 'hotswap-bench-load-'));
  const server = await ServerProcess.start('engine');
  try {
    // Store every key first, so every GET during the run has a known answer.
    await runJson('peers/udp-load.ts', ['--port', String(server.port), '--keys', String(keys), '--count', '1', '--seconds', '1'], 120_000);
    const traceFile = join(work, 'trace.f64');
    const counters = udpCounters();
    const load = runJson(
      'peers/udp-load.ts',
      [
        '--port',
        String(server.port),
        '--mix',
        'mixed',
        '--rate',
        String(rate),
        '--window',
        '256',
        '--keys',
        String(keys),
        '--seconds',
        String(seconds),
        '--count',
        String(Math.ceil(rate * seconds)),
        '--no-prefill',
        '--trace',
        traceFile,
      ],
      (seconds + 90) * 1000,
    );
    await new Promise((r) => setTimeout(r, 1500)); // steady state first
    const swaps = (await server.command(`upgrades ${upgrades} ${periodMs} ${mode}`, (seconds + 120) * 1000)) as {
      upgrades: number;
      ok: number;
      pause_us: Summary;
      prepare_ms?: Summary;
      windows: [number, number][];
    };
    const r = await load;
    const kernelDrops = rcvbufDropsSince(counters);
    const count = Number((await server.command('count')).count);
    const { during, steady } = splitBySwaps(readTrace(traceFile), swaps.windows);
    const duringS = summarize(during, 0);
    const steadyS = summarize(steady, 0);
    return {
      mode,
      rate_rps: rate,
      fraction_of_max: 0.8,
      achieved_rps: Number(r.rps),
      upgrades: swaps.upgrades,
      upgrades_ok: swaps.ok,
      sent: Number(r.sent),
      received: Number(r.received),
      lost: Number(r.lost),
      duplicated: Number(r.duplicated),
      reordered: Number(r.reordered),
      late: Number(r.late),
      unexpected: Number(r.unexpected),
      // Datagrams the kernel dropped for a full socket buffer meanwhile (machine-wide): a lost
      // reply counted here was never handed to the engine or to the client.
      kernel_rcvbuf_drops: kernelDrops,
      keys_after: count,
      keys_expected: keys,
      pause_us: brief(swaps.pause_us),
      ...(swaps.prepare_ms ? { prepare_ms: brief(swaps.prepare_ms) } : {}),
      latency_us: { steady: brief(steadyS), during_swaps: brief(duringS) },
      p99_during_vs_steady: round(duringS.p99 / steadyS.p99, 2),
    };
  } finally {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

export async function measureUdp(quick: boolean): Promise<unknown> {
  const t = await throughput(quick);
  const maxRps = t.mixed.engine.rps;
  const precompiled = await underLoad(maxRps, quick ? 100 : 1000, 10, 'precompiled');
  progress('udp', `under load: ${JSON.stringify(precompiled)}`);
  const prepared = await underLoad(maxRps, quick ? 20 : 100, 50, 'prepare');
  progress('udp', `under load via engine.upgrade(): ${JSON.stringify(prepared)}`);
  return {
    mode: quick ? 'quick' : 'full',
    throughput: t,
    udp_ratio_vs_dgram: t.mixed.ratio_rps,
    upgrades_under_load: precompiled,
    upgrades_under_load_with_prepare: prepared,
  };
}

runCase(import.meta.url, (o) => measureUdp(o.quick));
