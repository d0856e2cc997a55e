/**
 * The cost of the import quotas on the kv request path (target ≤ 3%): two components running
 * the same prepared kv 1.0.0, one with the default quotas and one without any (ComponentOptions
 * `quotas: false`: the import object is the one without the gate), fed the dispatch case's
 * 64-byte GET/SET workload through the real queue and dispatcher, one reply per request.
 *
 *   node --import tsx --expose-gc bench/cases/quota-cost.ts [--quick]
 *
 * Each round interleaves the two in batches of 4096 events (A B B A ...; quotas on, off) in one
 * process so machine noise hits both alike; the result is the median over rounds of the ratio
 * (time per event with quotas / without − 1) and its spread (min, max). The cost of the checks
 * alone (beginCallback + one send on the gate) is measured too, as a bound noise cannot blur.
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
import { workload } from '../lib/dispatch-paths.js';
import { engineConfig, messageEvent, ReplyCounter } from '../lib/kv-engine.js';
import { round } from '../peers/stats.js';

const BATCH = 4096;

/**
 * One round: `total` events through each component, in batches of BATCH that alternate
 * between them (A B B A A B ...), every reply awaited before the next batch. The time of each
 * side is summed over its batches, so a noisy stretch of the machine hits both sides within
 * milliseconds of each other. Returns events per second for each side.
 */
async function interleaved(
  a: Component,
  b: Component,
  events: readonly ComponentEvent[],
  replies: ReplyCounter,
  total: number,
): Promise<{ wall: [number, number]; cpu: [number, number] }> {
  const spent = [0, 0];
  const cpu = [0, 0];
  const sides = [a, b];
  let sent = 0;
  for (let batch = 0; sent < total; batch++) {
    const n = Math.min(BATCH, total - sent);
    // ABBA order within each pair of batches, so neither side always goes first.
    const order = batch % 2 === 0 ? [0, 1] : [1, 0];
    for (const side of order) {
      const start = replies.count;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) sides[side]!.enqueue(events[(sent + i) % events.length]!);
      await replies.until(start + n);
      spent[side]! += performance.now() - t0;
      const c = process.cpuUsage(c0);
      cpu[side]! += (c.user + c.system) / 1000;
    }
    sent += n;
  }
  const rate = (ms: number) => total / (ms / 1000);
  return { wall: [rate(spent[0]!), rate(spent[1]!)], cpu: [rate(cpu[0]!), rate(cpu[1]!)] };
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

const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]!;
const median = (xs: number[]): number => quantile(xs, 0.5);

export async function measureQuotaCost(quick: boolean): Promise<unknown> {
  // Many short rounds: on a shared machine the noise between rounds is far larger than the
  // effect, and the median of many pairs is what stays put.
  const rounds = quick ? 21 : 81;
  const perRound = quick ? 100_000 : 200_000;
  const factory = new ModuleFactory();
  const policy = policyOf(engineConfig([{ name: 'kv' }]).components[0]!);
  const stored = await new BundledModules().get('kv', '1.0.0');
  const module = await factory.prepare(stored.bytes, { name: 'kv', version: '1.0.0' }, policy);
  const logger = new Logger('bench', 'warn');
  const on = new Component({ name: 'kv-quotas', policy, logger });
  const off = new Component({ name: 'kv-no-quotas', policy, logger, quotas: false });
  try {
    await on.load(module);
    await off.load(module);
    const { prefill, requests } = workload();
    const replies = new ReplyCounter();
    const events = requests.map((p) => messageEvent(p, replies));
    for (const c of [on, off]) for (const p of prefill) c.enqueue(messageEvent(p, replies));
    await replies.until(2 * prefill.length);
    // Warm-up: both paths, so the JIT has seen each before the rounds.
    await interleaved(on, off, events, replies, Math.min(perRound, 100_000));
    const samples = { on: [] as number[], off: [] as number[] };
    const overheads: number[] = [];
    const cpuOverheads: number[] = [];
    for (let r = 0; r < rounds; r++) {
      collectGarbage();
      const { wall, cpu } = await interleaved(on, off, events, replies, perRound);
      const [withQuotas, without] = wall;
      samples.on.push(withQuotas);
      samples.off.push(without);
      overheads.push(without / withQuotas - 1);
      cpuOverheads.push(cpu[1] / cpu[0] - 1);
      progress(
        'quota_cost',
        `round ${r + 1}/${rounds}: quotas ${(samples.on.at(-1)! / 1e6).toFixed(2)}M/s, none ${(samples.off.at(-1)! / 1e6).toFixed(2)}M/s`,
      );
    }
    const gateNs = gateCost(quick ? 5_000_000 : 20_000_000);
    const hits = on.status().quotaHits;
    if (Object.keys(hits).length > 0) throw new Error(`kv met a quota during the benchmark: ${JSON.stringify(hits)}`);
    return {
      mode: quick ? 'quick' : 'full',
      rounds,
      events_per_round: perRound,
      events_per_s: { quotas: Math.round(median(samples.on)), none: Math.round(median(samples.off)) },
      // Time per event with quotas / without − 1, per ABAB pair.
      overhead: round(median(overheads), 4),
      overhead_spread: { min: round(Math.min(...overheads), 4), max: round(Math.max(...overheads), 4) },
      // The same per pair from CPU time (what the machine's other processes do not inflate),
      // with its interquartile range: the tighter figure on a shared machine.
      overhead_cpu: round(median(cpuOverheads), 4),
      overhead_cpu_spread: {
        min: round(Math.min(...cpuOverheads), 4),
        q1: round(quantile(cpuOverheads, 0.25), 4),
        q3: round(quantile(cpuOverheads, 0.75), 4),
        max: round(Math.max(...cpuOverheads), 4),
      },
      // The checks alone, per kv request (beginCallback + one send), and as a share of the
      // time per event with quotas: a bound that machine noise does not blur.
      gate_ns_per_event: round(gateNs, 2),
      gate_share: round((gateNs * median(samples.on)) / 1e9, 4),
      samples,
    };
  } finally {
    on.stop();
    off.stop();
    await factory.close();
  }
}

runCase(import.meta.url, (o) => measureQuotaCost(o.quick));
