/**
 * What crash survival costs (docs/DURABILITY.md): kv over real UDP sockets, the server and the
 * load generator in separate processes, with the engine at each `durability` setting (none, os,
 * fsync) and the plain-Node dgram + Map server as the baseline, in interleaved rounds (the order
 * rotates each round, so a machine getting busier does not favour one side). Reports requests/s,
 * median and p99 latency per setting, and per round each setting's throughput against `none` and
 * against dgram and the median latency it adds over `none`, summarised as the median over the
 * rounds with its spread (min, max), with the load average before and after. This is the one
 * place that measures the UDP ratio against dgram at each setting; bench/cases/udp.ts keeps the
 * engine-without-journal ratio and the upgrades under load.
 *
 *   node --import tsx bench/cases/durability.ts [--quick]
 */
import { progress, runCase } from '../lib/case.js';
import { ServerProcess, udpLoad } from '../lib/child.js';
import { load1 } from '../lib/kernel.js';
import { round } from '../peers/stats.js';

type Side = 'dgram' | 'none' | 'os' | 'fsync';
const SIDES: readonly Side[] = ['dgram', 'none', 'os', 'fsync'];

interface Run {
  rps: number;
  p50: number;
  p99: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function once(side: Side, mix: string, seconds: number): Promise<Run> {
  const server = await ServerProcess.start(side === 'dgram' ? 'dgram' : 'engine', 180_000, side === 'dgram' ? [] : ['--durability', side]);
  try {
    const r = await udpLoad(server.port, mix, seconds);
    const lat = r.latency_us as { p50: number; p99: number };
    return { rps: Number(r.rps), p50: lat.p50, p99: lat.p99 };
  } finally {
    await server.close();
  }
}

/** The median of `xs` and its spread over the rounds. */
const middle = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};
const spread = (xs: number[]) => ({ median: round(middle(xs), 3), min: round(Math.min(...xs), 3), max: round(Math.max(...xs), 3) });

export async function measureDurability(quick: boolean): Promise<unknown> {
  const rounds = quick ? 2 : 5;
  const seconds = quick ? 2 : 4;
  const mix = 'mixed';
  const loadBefore = load1();
  const runs: Record<Side, Run[]> = { dgram: [], none: [], os: [], fsync: [] };
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < SIDES.length; i++) {
      const side = SIDES[(i + r) % SIDES.length]!;
      const run = await once(side, mix, seconds);
      progress('durability', `round ${r + 1} ${side}: ${run.rps} rps, p50 ${run.p50} µs, p99 ${run.p99} µs (load ${load1()})`);
      runs[side].push(run);
    }
  }
  const loadAfter = load1();
  const pick = (side: Side) => ({
    rps: Math.round(median(runs[side].map((x) => x.rps))),
    latency_us: { p50: median(runs[side].map((x) => x.p50)), p99: median(runs[side].map((x) => x.p99)) },
  });
  const sides = Object.fromEntries(SIDES.map((s) => [s, pick(s)])) as Record<Side, ReturnType<typeof pick>>;
  // Ratios are taken within a round (its sides ran back to back), then summarised over rounds.
  const perRound = (side: Side, base: Side) => spread(runs[side].map((x, r) => x.rps / runs[base][r]!.rps));
  const settings = (['none', 'os', 'fsync'] as const).map((s) => ({
    durability: s,
    ...sides[s],
    ratio_vs_none: perRound(s, 'none'),
    ratio_vs_dgram: perRound(s, 'dgram'),
    added_median_latency_us: spread(runs[s].map((x, r) => x.p50 - runs.none[r]!.p50)),
  }));
  return {
    mode: quick ? 'quick' : 'full',
    mix,
    rounds,
    seconds_per_run: seconds,
    load_average: { before: loadBefore, after: loadAfter },
    dgram: sides.dgram,
    settings,
    fsync_ratio_vs_none: settings[2]!.ratio_vs_none.median,
    fsync_added_median_latency_us: settings[2]!.added_median_latency_us.median,
  };
}

runCase(import.meta.url, (o) => measureDurability(o.quick));
