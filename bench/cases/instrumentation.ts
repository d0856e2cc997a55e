/**
 * What the two rewrites every module gets cost (docs/PERFORMANCE.md, "Instrumentation"):
 * fuel metering (host/modules/fuel.ts) and dirty-page tracking (host/modules/dirty-pages.ts).
 *
 *   node --import tsx --expose-gc bench/cases/instrumentation.ts [--quick]
 *
 * - Per request: kv 1.0.0's `on_message` called in a loop (like dispatch.ts's bare path: inbox
 *   written through cached views, no-op reply; fuel budgets refill inside the module) on the dispatch workload,
 *   64-byte GET/SET alternating, in four builds prepared by ModuleFactory.prepare: plain, fuel only,
 *   dirty tracking only, both (the engine's default). The four run in alternating rounds in this
 *   one process and the median round of each is kept, so machine noise hits all alike.
 * - Instrumentation time: meterFuel and instrumentDirtyPages on kv's bytes, as the preparer runs
 *   them (dirty tracking over the metered bytes), after one warm-up call each.
 */
import { INBOX_DATA, InboxField } from '../../host/abi/abi.js';
import { ModuleFactory } from '../../host/component/module-factory.js';
import { policyOf } from '../../host/engine.js';
import { instrumentDirtyPages } from '../../host/modules/dirty-pages.js';
import { DEFAULT_FUEL, meterFuel } from '../../host/modules/fuel.js';
import type { PreparedModule } from '../../host/modules/prepared.js';
import { BundledModules } from '../../host/repository/bundled.js';
import { collectGarbage, progress, runCase } from '../lib/case.js';
import { bareKv, workload } from '../lib/dispatch-paths.js';
import { engineConfig } from '../lib/kv-engine.js';
import type { Json } from '../lib/report.js';
import { round, summarize } from '../peers/stats.js';

const factory = new ModuleFactory(); // prepares modules outside an engine

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

/** kv@1.0.0 prepared four ways: without either rewrite, with one, with both. */
export async function kvBuilds(): Promise<Record<'plain' | 'fuel' | 'dirty' | 'both', PreparedModule>> {
  const stored = await new BundledModules().get('kv', '1.0.0');
  const policy = policyOf(engineConfig([{ name: 'kv' }]).components[0]!);
  const prepare = (fuel: boolean, dirty: boolean): Promise<PreparedModule> =>
    factory.prepare(stored.bytes, { name: 'kv', version: '1.0.0' }, { ...policy, ...(fuel ? {} : { fuel: null }), trackDirtyPages: dirty });
  return {
    plain: await prepare(false, false),
    fuel: await prepare(true, false),
    dirty: await prepare(false, true),
    both: await prepare(true, true),
  };
}

/**
 * The bare handler of one build: `(total) => requests per second`. The send and loop functions
 * are compiled from source per build (`new Function`), so each build has call sites of its own:
 * sharing one closure's code across builds makes the JS→Wasm call site polymorphic and V8 then
 * stops inlining the call, which cost 10–40 ns per request and drowned the differences measured.
 */
export function bareHandler(module: PreparedModule, payloads: readonly Buffer[], prefill: readonly Buffer[]): (total: number) => number {
  const { onMessage, meta, bytes } = bareKv(module);
  // The host sets no fuel per call: each export's trampoline refills its own budget (fuel.ts).
  const send = new Function(
    'meta',
    'bytes',
    'onMessage',
    `return (p) => {
    meta[${InboxField.length >>> 2}] = p.byteLength;
    bytes.set(p, ${INBOX_DATA});
    onMessage(0, p.byteLength);
  };`,
  )(meta, bytes, onMessage) as (p: Buffer) => void;
  prefill.forEach(send);
  return new Function(
    'send',
    'payloads',
    `return (total) => {
    const t0 = performance.now();
    for (let i = 0; i < total; i++) send(payloads[i % payloads.length]);
    return total / ((performance.now() - t0) / 1000);
  };`,
  )(send, payloads) as (total: number) => number;
}

/**
 * Requests per second of each build's bare handler, `rounds` alternating rounds of `perRound`
 * requests each (after one warm-up pass of every build). Returns every round's rate per build.
 */
export function handlerRates(builds: Record<string, PreparedModule>, rounds: number, perRound: number): Record<string, number[]> {
  const { prefill, requests } = workload();
  const paths = Object.entries(builds).map(([name, module]) => [name, bareHandler(module, requests, prefill)] as const);
  for (const [, run] of paths) run(Math.min(perRound, 100_000));
  const samples: Record<string, number[]> = Object.fromEntries(paths.map(([name]) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    // Rotate the order too, so no build always runs right after a GC or right after another.
    for (let i = 0; i < paths.length; i++) {
      const [name, run] = paths[(r + i) % paths.length]!;
      collectGarbage();
      samples[name]!.push(run(perRound));
    }
    progress(
      'instrumentation',
      `round ${r + 1}/${rounds}: ${paths.map(([n]) => `${n} ${round(1e9 / samples[n]!.at(-1)!, 1)} ns`).join(', ')}`,
    );
  }
  return samples;
}

/** Milliseconds per call of `fn`, `reps` times after one warm-up call. */
function timeMs(reps: number, fn: () => unknown): number[] {
  fn();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return out;
}

export async function measureInstrumentation(quick: boolean): Promise<Json> {
  const rounds = quick ? 5 : 21;
  const perRound = quick ? 100_000 : 400_000;
  const builds = await kvBuilds();
  const samples = handlerRates(builds, rounds, perRound);
  const ns = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, round(1e9 / median(v), 1)])) as Record<
    keyof typeof builds,
    number
  >;
  const over = (a: number, b: number): number => round(a / b - 1, 3);

  const stored = await new BundledModules().get('kv', '1.0.0');
  const reps = quick ? 5 : 20;
  const metered = meterFuel(stored.bytes, DEFAULT_FUEL);
  const fuelMs = summarize(
    timeMs(reps, () => meterFuel(stored.bytes, DEFAULT_FUEL)),
    2,
  );
  const dirtyMs = summarize(
    timeMs(reps, () => instrumentDirtyPages(metered)),
    2,
  );
  progress('instrumentation', `meterFuel p50 ${fuelMs.p50} ms, instrumentDirtyPages p50 ${dirtyMs.p50} ms`);
  return {
    mode: quick ? 'quick' : 'full',
    module: 'kv@1.0.0',
    module_bytes: stored.bytes.byteLength,
    instrumented_bytes: { fuel: metered.byteLength, both: instrumentDirtyPages(metered).byteLength },
    rounds,
    requests_per_round: perRound,
    ns_per_request: ns,
    // Time per request with the rewrite ÷ without it − 1, on the handler alone.
    fuel_alone_overhead: over(ns.fuel, ns.plain),
    dirty_tracking_overhead: over(ns.dirty, ns.plain),
    both_overhead: over(ns.both, ns.plain),
    instrument_ms: {
      fuel: { p50: fuelMs.p50, p99: fuelMs.p99 },
      dirty_pages: { p50: dirtyMs.p50, p99: dirtyMs.p99 },
    },
    samples,
  };
}

/** This case's section of bench/results/latest.md. */
export function instrumentationMarkdown(c: Json | undefined): string {
  if (!c || 'error' in c) return `\n## Instrumentation\n\nnot measured: ${c ? String(c.error) : 'not run'}\n`;
  const ns = c.ns_per_request as Record<string, number>;
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  return [
    '',
    '## Instrumentation (kv handler alone, 64-byte GET/SET)',
    '',
    '| build | ns/request | overhead |',
    '|---|---|---|',
    `| plain | ${ns.plain} | – |`,
    `| fuel metering | ${ns.fuel} | ${pct(c.fuel_alone_overhead)} |`,
    `| dirty-page tracking | ${ns.dirty} | ${pct(c.dirty_tracking_overhead)} |`,
    `| both (the default) | ${ns.both} | ${pct(c.both_overhead)} |`,
    '',
    `Instrumenting kv (${c.module_bytes} bytes): meterFuel p50 ${c.instrument_ms.fuel.p50} ms, instrumentDirtyPages p50 ${c.instrument_ms.dirty_pages.p50} ms.`,
    '',
  ].join('\n');
}

runCase(import.meta.url, (o) => measureInstrumentation(o.quick));
