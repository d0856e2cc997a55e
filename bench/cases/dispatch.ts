/**
 * Measure 2: in-process dispatch throughput for 64-byte messages, and measure 5's fuel
 * overhead on kv (metered, the engine's default, against the same module unmetered).
 *
 *   node --import tsx --expose-gc bench/cases/dispatch.ts [--quick]
 *
 * The workload: 64-byte kv requests, alternately `GET <60-byte key>` (a stored key, so the reply
 * carries its value) and `SET <40-byte key> <19-byte value>`, each answered through a reply target.
 *
 * Paths, slowest to fastest, each run in alternating rounds so machine noise hits all alike:
 *  - wasm_component: the real path: Component.enqueue → EventQueue → a batch of the queued
 *    messages written to the batch inbox → one on_messages call, in which hs.next_message starts
 *    each message (tap, journal, quotas, reply target; fuel refilled) → kv → hs.reply (copy out)
 *    → reply target;
 *  - wasm_component_single: the same module without its on_messages export (as built before
 *    batches existed): one inbox write and one on_message call per message, the baseline of the
 *    batching;
 *  - js_component: the same EventQueue, drained the same way (setImmediate, peek/shift), handing
 *    each payload to the plain-JS kv handler of bench/peers/dgram-kv-server.ts (Map + strings);
 *  - wasm_instance: no queue: PersistentMemory.writeInbox + ModuleInstance.onMessage + the real
 *    import object, called in a loop — the host glue without the queue;
 *  - wasm_bare: the kv export called in a loop with the inbox views cached and a no-op reply — the
 *    Wasm handler itself (the "bare loop" of docs/PERFORMANCE.md);
 *  - js_bare: the plain-JS handler called in a loop;
 *  - wasm_call_floor: inbox copy + a call of a trivial export: dispatch with an empty handler.
 * The metered/unmetered pair of wasm_component and of wasm_bare gives the fuel overhead.
 * Each path's rate is taken twice: per second of wall time, and per second of the process's CPU
 * time (`cpu_*`), which a busy machine's descheduling does not inflate. Every ratio is the median
 * of the ratios taken round by round (the two paths ran in the same round), with its spread in
 * `*_rounds`: a machine that slows down between rounds moves both sides of a round alike.
 */

import { ModuleFactory } from '../../host/component/module-factory.js';
import { policyOf } from '../../host/engine.js';
import { BundledModules } from '../../host/repository/bundled.js';
import { collectGarbage, progress, runCase } from '../lib/case.js';
import {
  barePath,
  callFloor,
  getKey,
  instancePath,
  JsKvComponent,
  jsHandle,
  loop,
  throughQueue,
  withoutBatchExport,
  workload,
} from '../lib/dispatch-paths.js';
import { messageEvent, ReplyCounter, request, startKvEngine } from '../lib/kv-engine.js';
import { round, spread } from '../peers/stats.js';

const factory = new ModuleFactory(); // prepares modules outside an engine

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

export async function measureDispatch(quick: boolean): Promise<unknown> {
  const rounds = quick ? 3 : 7;
  const perRound = quick ? 200_000 : 1_000_000;
  const { prefill, requests } = workload();

  const engine = await startKvEngine([{ name: 'kv-metered' }, { name: 'kv-unmetered' }, { name: 'kv-single' }]);
  try {
    const stored = await new BundledModules().get('kv', '1.0.0');
    const policy = policyOf(engine.componentConfig('kv-unmetered'));
    const metered = engine.component('kv-metered').module!;
    const unmetered = await factory.prepare(stored.bytes, { name: 'kv', version: '1.0.0' }, { ...policy, fuel: null });
    await engine.component('kv-unmetered').upgrade(unmetered);
    const single = await factory.prepare(withoutBatchExport(stored.bytes), { name: 'kv', version: '1.0.0' }, policy);
    await engine.component('kv-single').upgrade(single);
    if (!metered.fuel || unmetered.fuel) throw new Error('expected kv-metered to run with fuel and kv-unmetered without');

    const replies = new ReplyCounter();
    const events = requests.map((p) => messageEvent(p, replies));
    const js = new JsKvComponent();
    for (const target of [engine.component('kv-metered'), engine.component('kv-unmetered'), engine.component('kv-single'), js]) {
      for (const p of prefill) target.enqueue(messageEvent(p, replies));
    }
    await replies.until(4 * prefill.length);

    const paths: Record<string, (total: number) => Promise<number> | number> = {
      wasm_component: (n) => throughQueue(engine.component('kv-metered'), events, replies, n),
      wasm_component_unmetered: (n) => throughQueue(engine.component('kv-unmetered'), events, replies, n),
      wasm_component_single: (n) => throughQueue(engine.component('kv-single'), events, replies, n),
      js_component: (n) => throughQueue(js, events, replies, n),
      wasm_instance: instancePath(metered, requests, prefill),
      wasm_bare: barePath(metered, requests, prefill),
      wasm_bare_unmetered: barePath(unmetered, requests, prefill),
      wasm_call_floor: callFloor(unmetered, requests),
      js_bare: (() => {
        const store = new Map<string, string>();
        const sink = new ReplyCounter();
        for (const p of prefill) jsHandle(store, p);
        return (n: number) => loop(n, (i) => sink.reply(jsHandle(store, requests[i % requests.length]!)));
      })(),
    };
    // Warm-up: every path once, so the JIT has seen all of them before the rounds.
    for (const run of Object.values(paths)) await run(Math.min(perRound, 100_000));
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(paths).map((k) => [k, []]));
    const cpuSamples: Record<string, number[]> = Object.fromEntries(Object.keys(paths).map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
      for (const [name, run] of Object.entries(paths)) {
        collectGarbage();
        const c0 = process.cpuUsage();
        samples[name]!.push(await run(perRound));
        const cpu = process.cpuUsage(c0);
        cpuSamples[name]!.push(perRound / ((cpu.user + cpu.system) / 1e6));
      }
      progress(
        'dispatch',
        `round ${r + 1}/${rounds}: ${Object.entries(samples)
          .map(([k, v]) => `${k} ${(v.at(-1)! / 1e6).toFixed(2)}M/s`)
          .join(', ')}`,
      );
    }
    for (const name of ['kv-metered', 'kv-unmetered', 'kv-single']) {
      const c = engine.component(name);
      if (c.status().faults !== 0) throw new Error(`${name} trapped during the benchmark`);
    }
    for (const name of ['kv-metered', 'kv-unmetered']) {
      const got = await request(engine.component(name), `GET ${getKey(7)}`);
      if (got !== 'VALUE value-7') throw new Error(`${name}: GET gave ${got}`);
    }
    const rate = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Math.round(median(v))]));
    const cpuRate = Object.fromEntries(Object.entries(cpuSamples).map(([k, v]) => [k, Math.round(median(v))]));
    const ns = Object.fromEntries(Object.entries(rate).map(([k, v]) => [k, round(1e9 / v, 1)]));
    const r = (a: string, b: string): number => round(rate[a]! / rate[b]!, 3);
    // Every ratio is taken round by round (both paths ran in the same round, one after the
    // other) and reported as the median over the rounds: docs/PERFORMANCE.md, "Method and decisions".
    const rounded = (of: Record<string, number[]>, a: string, b: string) => spread(of[a]!.map((x, i) => x / of[b]![i]!));
    const ratio = (a: string, b: string): number => rounded(samples, a, b).median;
    const cpuRatio = (a: string, b: string): number => rounded(cpuSamples, a, b).median;
    const vsJs = rounded(samples, 'wasm_component', 'js_component');
    const cpuVsJs = rounded(cpuSamples, 'wasm_component', 'js_component');
    return {
      mode: quick ? 'quick' : 'full',
      message_bytes: 64,
      events_per_round: perRound,
      rounds,
      events_per_s: rate,
      ns_per_event: ns,
      dispatch_events_per_s: rate.wasm_component,
      // With the spread of the per-round ratios, and the ratio of the two paths' median rates.
      dispatch_ratio_vs_js: vsJs.median,
      ratio_vs_js_rounds: vsJs,
      ratio_of_medians_vs_js: r('wasm_component', 'js_component'),
      batch_ratio_vs_single: ratio('wasm_component', 'wasm_component_single'),
      // Events per second of the process's CPU time (all threads): what a loaded machine's
      // descheduling does not inflate, unlike the wall-clock rates above.
      cpu_events_per_s: cpuRate,
      cpu_ratio_vs_js: cpuVsJs.median,
      cpu_ratio_vs_js_rounds: cpuVsJs,
      cpu_batch_ratio_vs_single: cpuRatio('wasm_component', 'wasm_component_single'),
      handler_ratio_vs_js: ratio('wasm_bare', 'js_bare'),
      fuel: {
        // Time per event metered / unmetered − 1.
        component_overhead: round(ratio('wasm_component_unmetered', 'wasm_component') - 1, 3),
        handler_overhead: round(ratio('wasm_bare_unmetered', 'wasm_bare') - 1, 3),
      },
      samples,
    };
  } finally {
    await engine.stop();
  }
}

runCase(import.meta.url, (o) => measureDispatch(o.quick));
