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
 * Two load shapes on the same server, back to back in every round (their order alternating):
 * 32 requests in flight, the latency-bound figure every UDP comparison of this bench uses
 * (throughput = 32 / latency, so a side's added latency is its lost throughput), and
 * SATURATED_WINDOW in flight, enough to keep each side busy (what the side can carry: the
 * engine's capacity, a group commit's batches then grow with the queue). Both are reported, with
 * their ratios; docs/DURABILITY.md says which one the ≥ 0.5× target is judged on and why.
 *
 *   node --import tsx bench/cases/durability.ts [--quick]
 */
import { progress, runCase } from '../lib/case.js';
import { ServerProcess, udpLoad } from '../lib/child.js';
import { load1 } from '../lib/kernel.js';
import { spread } from '../peers/stats.js';

type Side = 'dgram' | 'none' | 'os' | 'fsync';
const SIDES: readonly Side[] = ['dgram', 'none', 'os', 'fsync'];
/** The closed loop of every UDP comparison (bench/lib/child.ts), and one that saturates each side. */
const WINDOW = 32;
const SATURATED_WINDOW = 256;

interface Run {
  rps: number;
  p50: number;
  p99: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

/** One server of `side`, loaded with 32 in flight and with SATURATED_WINDOW (in `order`). */
async function once(side: Side, mix: string, seconds: number, saturatedFirst: boolean): Promise<{ closed: Run; saturated: Run }> {
  const server = await ServerProcess.start(side === 'dgram' ? 'dgram' : 'engine', 180_000, side === 'dgram' ? [] : ['--durability', side]);
  const run = async (window: number): Promise<Run> => {
    const r = await udpLoad(server.port, mix, seconds, window);
    const lat = r.latency_us as { p50: number; p99: number };
    return { rps: Number(r.rps), p50: lat.p50, p99: lat.p99 };
  };
  try {
    if (saturatedFirst) {
      const saturated = await run(SATURATED_WINDOW);
      return { closed: await run(WINDOW), saturated };
    }
    const closed = await run(WINDOW);
    return { closed, saturated: await run(SATURATED_WINDOW) };
  } finally {
    await server.close();
  }
}

export async function measureDurability(quick: boolean): Promise<unknown> {
  const rounds = quick ? 2 : 5;
  const seconds = quick ? 2 : 4;
  const mix = 'mixed';
  const loadBefore = load1();
  const runs: Record<Side, Run[]> = { dgram: [], none: [], os: [], fsync: [] };
  const saturatedRuns: Record<Side, Run[]> = { dgram: [], none: [], os: [], fsync: [] };
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < SIDES.length; i++) {
      const side = SIDES[(i + r) % SIDES.length]!;
      const { closed, saturated } = await once(side, mix, seconds, r % 2 === 1);
      const say = (w: number, x: Run) => `${w} in flight ${x.rps} rps, p50 ${x.p50} µs, p99 ${x.p99} µs`;
      progress('durability', `round ${r + 1} ${side}: ${say(WINDOW, closed)}; ${say(SATURATED_WINDOW, saturated)} (load ${load1()})`);
      runs[side].push(closed);
      saturatedRuns[side].push(saturated);
    }
  }
  const loadAfter = load1();
  const closed = summarise(runs);
  const saturated = summarise(saturatedRuns);
  return {
    mode: quick ? 'quick' : 'full',
    mix,
    rounds,
    seconds_per_run: seconds,
    load_average: { before: loadBefore, after: loadAfter },
    window: WINDOW,
    ...closed,
    fsync_ratio_vs_none: closed.settings[2]!.ratio_vs_none.median,
    fsync_added_median_latency_us: closed.settings[2]!.added_median_latency_us.median,
    saturated: { window: SATURATED_WINDOW, ...saturated },
    fsync_ratio_vs_none_saturated: saturated.settings[2]!.ratio_vs_none.median,
    os_ratio_vs_none_saturated: saturated.settings[1]!.ratio_vs_none.median,
  };
}

/** Per side the medians over the rounds, and per setting its ratios against none and dgram. */
function summarise(runs: Record<Side, Run[]>) {
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
  return { dgram: sides.dgram, settings };
}

runCase(import.meta.url, (o) => measureDurability(o.quick));
