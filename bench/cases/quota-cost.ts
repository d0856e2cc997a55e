/**
 * The cost of the import quotas on the kv request path (target ≤ 3%): two components running
 * the same prepared kv 1.0.0, one with the default quotas and one without any (ComponentOptions
 * `quotas: false`: the import object is the one without the gate), fed the dispatch case's
 * 64-byte GET/SET workload through the real queue and dispatcher, one reply per request.
 *
 *   node --import ./scripts/loader/register.mjs --expose-gc bench/cases/quota-cost.ts [--quick]
 *
 * What it guards against, each found by measuring (docs/PERFORMANCE.md, "Quota cost"):
 * - Machine noise: the two are interleaved in batches of 4096 events (A B B A ...) in one
 *   process, and the figure is the median, over every pair of adjacent batches, of the ratio
 *   of their times; a noisy stretch hits one pair, not a whole round.
 * - The batch after the per-round GC: it is 20-30% slower than the rest, and it always went to
 *   the quotas side (+0.3 to +0.5% on the old figure). Each round now starts with the side the
 *   last one did not, and the pair after the GC is not counted.
 * - The process: two *identical* components in one process differ by up to ±4.5% (which one is
 *   faster changes from process to process; which property of the process decides it, where
 *   their memories and objects landed or what the JIT made of the code they share, was not
 *   pinned down), more than the effect measured. So the pairs run in
 *   several processes, half of them loading the quotas side first, and the figure is the median
 *   over processes; a few processes run two components *without* quotas (`null_overhead`), to
 *   show how large that difference is in the same run.
 * The cost of the checks alone (beginCallback + one send on the gate) is measured too, as a
 * bound noise cannot blur.
 */
import { Component } from '../../host/component/component.js';
import type { ComponentEvent } from '../../host/component/events.js';
import { ModuleFactory } from '../../host/component/module-factory.js';
import { DEFAULT_QUOTAS, ImportQuotas } from '../../host/component/quotas.js';
import { nodeScheduler } from '../../host/component/timers.js';
import { policyOf } from '../../host/engine.js';
import { Logger } from '../../host/log.js';
import { BundledModules } from '../../host/repository/bundled.js';
import { collectGarbage, progress, runCase } from '../lib/case.js';
import { runJson } from '../lib/child.js';
import { workload } from '../lib/dispatch-paths.js';
import { engineConfig, messageEvent, ReplyCounter } from '../lib/kv-engine.js';
import { round } from '../peers/stats.js';

const BATCH = 4096;

/** What one process measures: side A against side B (each `quotas` or `none`), A loaded first. */
interface ProcessResult {
  sides: [string, string];
  /** Median over pairs of adjacent batches of time(A) / time(B) − 1, by wall and by CPU time. */
  wall: number;
  cpu: number;
  pairs: number;
  /** Events per second of each side, medians over rounds. */
  rates: [number, number];
}

/**
 * One round: `total` events through each side, in batches of BATCH that alternate between them
 * (A B B A ..., or B A A B ... when `flip`), every reply awaited before the next batch. Returns
 * the wall and CPU ms of each batch, per side, in pairs (the first pair is the one after the GC).
 */
async function interleaved(
  sides: readonly Component[],
  events: readonly ComponentEvent[],
  replies: ReplyCounter,
  total: number,
  flip: boolean,
) {
  const wall: [number[], number[]] = [[], []];
  const cpu: [number[], number[]] = [[], []];
  let sent = 0;
  for (let batch = 0; sent < total; batch++) {
    const n = Math.min(BATCH, total - sent);
    // ABBA order within each pair of batches, so neither side always goes first.
    const order = (batch % 2 === 0) !== flip ? [0, 1] : [1, 0];
    for (const side of order) {
      const start = replies.count;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) sides[side]!.enqueue(events[(sent + i) % events.length]!);
      await replies.until(start + n);
      wall[side]!.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[side]!.push((c.user + c.system) / 1000);
    }
    sent += n;
  }
  return { wall, cpu };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const standardError = (xs: readonly number[]): number => {
  const mean = sum(xs) / xs.length;
  return Math.sqrt(sum(xs.map((x) => (x - mean) ** 2)) / (xs.length - 1) / xs.length);
};

/** One process's measurement: `sides` are `quotas` or `none`, created and loaded in that order. */
async function measureProcess(sides: [string, string], rounds: number, perRound: number): Promise<ProcessResult> {
  const factory = new ModuleFactory();
  const policy = policyOf(engineConfig([{ name: 'kv' }]).components[0]!);
  const stored = await new BundledModules().get('kv', '1.0.0');
  const module = await factory.prepare(stored.bytes, { name: 'kv', version: '1.0.0' }, policy);
  const logger = new Logger('bench', 'warn');
  const components = sides.map(
    (s, i) => new Component({ name: `kv-${i}-${s}`, policy, logger, ...(s === 'none' ? { quotas: false as const } : {}) }),
  );
  try {
    for (const c of components) await c.load(module);
    const { prefill, requests } = workload();
    const replies = new ReplyCounter();
    const events = requests.map((p) => messageEvent(p, replies));
    for (const c of components) for (const p of prefill) c.enqueue(messageEvent(p, replies));
    await replies.until(2 * prefill.length);
    // Warm-up: both paths, so the JIT has seen each before the rounds.
    await interleaved(components, events, replies, Math.min(perRound, 100_000), false);
    const wallRatios: number[] = [];
    const cpuRatios: number[] = [];
    const rates: [number[], number[]] = [[], []];
    for (let r = 0; r < rounds; r++) {
      collectGarbage();
      const { wall, cpu } = await interleaved(components, events, replies, perRound, r % 2 === 1);
      // Pair 0 follows the GC: not counted (see the header).
      for (let i = 1; i < wall[0].length; i++) {
        wallRatios.push(wall[0][i]! / wall[1][i]! - 1);
        if (cpu[1][i]! > 0) cpuRatios.push(cpu[0][i]! / cpu[1][i]! - 1);
      }
      for (const s of [0, 1] as const) rates[s].push((perRound * 1000) / sum(wall[s]));
    }
    for (const c of components)
      if (Object.keys(c.status().quotaHits).length > 0) throw new Error(`kv met a quota: ${JSON.stringify(c.status().quotaHits)}`);
    return {
      sides,
      wall: median(wallRatios),
      cpu: median(cpuRatios),
      pairs: wallRatios.length,
      rates: [median(rates[0]), median(rates[1])],
    };
  } finally {
    for (const c of components) c.stop();
    await factory.close();
  }
}

/** ns per kv request spent in the quota checks themselves: beginCallback() and one send(). */
function gateCost(n: number): number {
  // Per-second limits lifted: this loop makes millions of sends a second; the code path is the same.
  const limits = { ...DEFAULT_QUOTAS, sendsPerSecond: Number.POSITIVE_INFINITY, sendBytesPerSecond: Number.POSITIVE_INFINITY };
  const q = new ImportQuotas({ limits, scheduler: nodeScheduler, violated: () => {}, windowEnded: () => {} });
  let admitted = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    q.beginCallback();
    if (q.send(20 + (i & 7))) admitted++;
  }
  const ns = ((performance.now() - t0) * 1e6) / n;
  q.stop();
  if (admitted !== n) throw new Error(`the gate refused ${n - admitted} sends`);
  return ns;
}

/** A process's result as the overhead of quotas: time(quotas) / time(none) − 1, whichever side loaded first. */
function overheadOf(p: ProcessResult): { wall: number; cpu: number } {
  if (p.sides[0] === 'quotas') return { wall: p.wall, cpu: p.cpu };
  return { wall: 1 / (1 + p.wall) - 1, cpu: 1 / (1 + p.cpu) - 1 };
}

export async function measureQuotaCost(quick: boolean): Promise<unknown> {
  // Processes: A/B with the quotas side loaded first and second alternately, then the A/A controls.
  // The spread between processes is what limits the figure (a process's own ~700 pairs pin it
  // to ±0.2%), so more and shorter processes: 12 give the median a standard error near 0.5%.
  const abProcesses = quick ? 4 : 12;
  const aaProcesses = quick ? 2 : 4;
  const rounds = quick ? 7 : 15;
  const perRound = quick ? 100_000 : 200_000;
  const plan: [string, string][] = [];
  for (let i = 0; i < abProcesses; i++) plan.push(i % 2 === 0 ? ['quotas', 'none'] : ['none', 'quotas']);
  for (let i = 0; i < aaProcesses; i++) plan.push(['none', 'none']);
  const results: ProcessResult[] = [];
  for (const [i, sides] of plan.entries()) {
    const r = (await runJson('cases/quota-cost.ts', ['--process', sides.join(','), String(rounds), String(perRound)], 300_000, [
      '--expose-gc',
    ])) as unknown as ProcessResult;
    results.push(r);
    progress(
      'quota_cost',
      `process ${i + 1}/${plan.length} (${sides.join(' vs ')}): ${(r.wall * 100).toFixed(2)}% wall, ${(r.cpu * 100).toFixed(2)}% CPU`,
    );
  }
  const ab = results.filter((r) => r.sides.includes('quotas'));
  const aa = results.filter((r) => !r.sides.includes('quotas'));
  const wall = ab.map((r) => overheadOf(r).wall);
  const cpu = ab.map((r) => overheadOf(r).cpu);
  const rateOf = (side: string) => median(ab.map((r) => r.rates[r.sides.indexOf(side)]!));
  const gateNs = gateCost(quick ? 5_000_000 : 20_000_000);
  return {
    mode: quick ? 'quick' : 'full',
    processes: ab.length,
    rounds,
    // Pairs of batches counted per process (its figure is the median over them).
    pairs_per_process: ab[0]?.pairs ?? 0,
    events_per_round: perRound,
    events_per_s: { quotas: Math.round(rateOf('quotas')), none: Math.round(rateOf('none')) },
    // Time per event with quotas / without − 1: the median over processes, and its spread.
    overhead: round(median(wall), 4),
    overhead_spread: { min: round(Math.min(...wall), 4), max: round(Math.max(...wall), 4) },
    // The mean over processes and its standard error: how far the figure may be off.
    overhead_mean: round(sum(wall) / wall.length, 4),
    overhead_se: round(standardError(wall), 4),
    overhead_cpu: round(median(cpu), 4),
    overhead_cpu_spread: { min: round(Math.min(...cpu), 4), max: round(Math.max(...cpu), 4) },
    // Two components without quotas, the first against the second: what "no difference" reads as.
    null_overhead: aa.map((r) => round(r.wall, 4)),
    per_process: ab.map((r) => ({ first: r.sides[0], wall: round(overheadOf(r).wall, 4), cpu: round(overheadOf(r).cpu, 4) })),
    // The checks alone, per kv request (beginCallback + one send), and as a share of the
    // time per event with quotas: a bound that machine noise does not blur.
    gate_ns_per_event: round(gateNs, 2),
    gate_share: round((gateNs * rateOf('quotas')) / 1e9, 4),
  };
}

runCase(import.meta.url, (o) => {
  const at = process.argv.indexOf('--process');
  if (at < 0) return measureQuotaCost(o.quick);
  const [sides, rounds, perRound] = process.argv.slice(at + 1);
  return measureProcess(sides!.split(',') as [string, string], Number(rounds), Number(perRound));
});
