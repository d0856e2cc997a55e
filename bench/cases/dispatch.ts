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
 * time (`cpu_*`), which a busy machine's descheduling does not inflate.
 */

import binaryen from 'binaryen';
import { HEADER_OFFSET, INBOX_DATA, INBOX_OFFSET, InboxField } from '../../host/abi/abi.js';
import { buildImports, type HostServices } from '../../host/abi/imports.js';
import { inertHost } from '../../host/abi/inert-host.js';
import { PersistentMemory } from '../../host/abi/memory.js';
import { EventQueue } from '../../host/component/event-queue.js';
import type { ComponentEvent, ReplyTarget } from '../../host/component/events.js';
import { ModuleInstance } from '../../host/component/instance.js';
import { ModuleFactory } from '../../host/component/module-factory.js';
import { policyOf } from '../../host/engine.js';
import type { PreparedModule } from '../../host/modules/prepared.js';
import { BundledModules } from '../../host/repository/bundled.js';
import { collectGarbage, progress, runCase } from '../lib/case.js';
import { messageEvent, ReplyCounter, request, startKvEngine } from '../lib/kv-engine.js';
import { handleKvLine } from '../peers/dgram-kv-server.js';
import { round } from '../peers/stats.js';

const factory = new ModuleFactory(); // prepares modules outside an engine

const DISTINCT = 1024;
const BATCH = 4096;

const pad = (s: string, n: number): string => s + 'x'.repeat(n - s.length);
const getKey = (i: number): string => pad(`g${i}-`, 60);
const setKey = (i: number): string => pad(`s${i}-`, 40);
const setValue = (i: number): string => pad(`v${i}-`, 19);

/** The 64-byte request payloads, GET and SET interleaved; prefill stores the GET keys. */
export function workload(): { prefill: Buffer[]; requests: Buffer[] } {
  const prefill: Buffer[] = [];
  const requests: Buffer[] = [];
  for (let i = 0; i < DISTINCT; i++) {
    prefill.push(Buffer.from(`SET ${getKey(i)} value-${i}`));
    const get = Buffer.from(`GET ${getKey(i)}`);
    const set = Buffer.from(`SET ${setKey(i)} ${setValue(i)}`);
    if (get.byteLength !== 64 || set.byteLength !== 64) throw new Error('requests must be 64 bytes');
    requests.push(get, set);
  }
  return { prefill, requests };
}

/**
 * The plain-JS counterpart of Component: the same EventQueue, the same drain discipline
 * (schedule once with setImmediate, peek/shift until empty), one handler call per event.
 */
class JsKvComponent {
  readonly #queue = new EventQueue<ComponentEvent>();
  readonly #store = new Map<string, string>();
  #scheduled = false;

  enqueue(event: ComponentEvent): void {
    this.#queue.push(event);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#drain);
    }
  }

  readonly #drain = (): void => {
    this.#scheduled = false;
    let event: ComponentEvent | undefined;
    while ((event = this.#queue.peek()) !== undefined) {
      this.#queue.shift();
      if (event.kind === 'message') event.replyTo?.reply(jsHandle(this.#store, event.payload));
    }
  };
}

/** The JS handler: the dgram baseline's protocol code, with the reply as bytes like hs.reply gives. */
function jsHandle(store: Map<string, string>, payload: Buffer): Buffer {
  return Buffer.from(handleKvLine(store, payload.toString('latin1')), 'latin1');
}

interface Enqueuer {
  enqueue(event: ComponentEvent): void;
}

/** Events per second through a queue: enqueue in bounded batches, wait for every reply. */
async function throughQueue(target: Enqueuer, events: readonly ComponentEvent[], replies: ReplyCounter, total: number): Promise<number> {
  const start = replies.count;
  const t0 = performance.now();
  for (let sent = 0; sent < total; ) {
    const n = Math.min(BATCH, total - sent);
    for (let i = 0; i < n; i++) target.enqueue(events[(sent + i) % events.length]!);
    sent += n;
    await replies.until(start + sent);
  }
  return total / ((performance.now() - t0) / 1000);
}

/** Calls `step(i)` `total` times and returns calls per second. */
function loop(total: number, step: (i: number) => void): number {
  const t0 = performance.now();
  for (let i = 0; i < total; i++) step(i);
  return total / ((performance.now() - t0) / 1000);
}

/** A HostServices with no effects except counting replies (for the no-queue paths). */
export function replyingHost(memory: PersistentMemory, replies: ReplyTarget): HostServices {
  return inertHost(memory, { reply: (bytes) => replies.reply(bytes) });
}

/** ModuleInstance over its own memory, with the real import object: the glue without the queue. */
function instancePath(module: PreparedModule, payloads: readonly Buffer[], prefill: readonly Buffer[]) {
  const memory = new PersistentMemory({ maxBytes: 512 * 1024 * 1024 });
  memory.ensurePages(module.minPages);
  const replies = new ReplyCounter();
  const instance = new ModuleInstance(module, buildImports(replyingHost(memory, replies)), { memory });
  if (instance.init() !== 0) throw new Error('init failed');
  const send = (p: Buffer): void => {
    memory.writeInbox(0, p, '127.0.0.1:40000', undefined);
    instance.onMessage(0, p.byteLength);
  };
  prefill.forEach(send);
  return (total: number): number => loop(total, (i) => send(payloads[i % payloads.length]!));
}

/**
 * A kv instance on its own memory, initialised, with hs.reply a no-op: what the bare-handler
 * measures here and in cases/instrumentation.ts start from. The host sets no fuel: each export's
 * trampoline refills its own budget (host/modules/fuel.ts), as in a component.
 */
export function bareKv(module: PreparedModule): {
  onMessage: (channel: number, len: number) => number;
  meta: Uint32Array;
  bytes: Uint8Array;
} {
  const memory = new PersistentMemory({ maxBytes: 512 * 1024 * 1024 });
  memory.ensurePages(module.minPages);
  const imports = buildImports(replyingHost(memory, new ReplyCounter()));
  (imports.hs as Record<string, unknown>).reply = (): number => 0;
  const ex = new WebAssembly.Instance(module.compiled, imports).exports as Record<string, (...a: number[]) => number>;
  if (ex.init!(HEADER_OFFSET) !== 0) throw new Error('init failed');
  return {
    onMessage: ex.on_message!,
    meta: new Uint32Array(memory.memory.buffer, INBOX_OFFSET, 4),
    bytes: new Uint8Array(memory.memory.buffer),
  };
}

/** The kv export itself: inbox written through cached views, hs.reply a no-op. */
function barePath(module: PreparedModule, payloads: readonly Buffer[], prefill: readonly Buffer[]) {
  const { onMessage, meta, bytes } = bareKv(module);
  const send = (p: Buffer): void => {
    meta[InboxField.length >>> 2] = p.byteLength;
    bytes.set(p, INBOX_DATA);
    onMessage(0, p.byteLength);
  };
  prefill.forEach(send);
  return (total: number): number => loop(total, (i) => send(payloads[i % payloads.length]!));
}

/**
 * The floor the ABI itself sets: copy the 64 bytes into the inbox and call a trivial export
 * (`layout_version`), i.e. what dispatch would cost with a handler that does nothing.
 */
function callFloor(module: PreparedModule, payloads: readonly Buffer[]) {
  const memory = new PersistentMemory({ maxBytes: 512 * 1024 * 1024 });
  memory.ensurePages(module.minPages);
  const ex = new WebAssembly.Instance(module.compiled, buildImports(replyingHost(memory, new ReplyCounter()))).exports as Record<
    string,
    () => number
  >;
  const trivial = ex.layout_version!;
  const bytes = new Uint8Array(memory.memory.buffer);
  const meta = new Uint32Array(memory.memory.buffer, INBOX_OFFSET, 4);
  return (total: number): number =>
    loop(total, (i) => {
      const p = payloads[i % payloads.length]!;
      meta[InboxField.length >>> 2] = p.byteLength;
      bytes.set(p, INBOX_DATA);
      trivial();
    });
}

/** The module's bytes without its on_messages export: a module built before batches existed. */
function withoutBatchExport(bytes: Uint8Array): Uint8Array {
  const mod = binaryen.readBinary(bytes);
  try {
    mod.removeExport('on_messages');
    return new Uint8Array(mod.emitBinary());
  } finally {
    mod.dispose();
  }
}

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
    const cpuRatio = (a: string, b: string): number => round(cpuRate[a]! / cpuRate[b]!, 3);
    const ns = Object.fromEntries(Object.entries(rate).map(([k, v]) => [k, round(1e9 / v, 1)]));
    const r = (a: string, b: string): number => round(rate[a]! / rate[b]!, 3);
    return {
      mode: quick ? 'quick' : 'full',
      message_bytes: 64,
      events_per_round: perRound,
      rounds,
      events_per_s: rate,
      ns_per_event: ns,
      dispatch_events_per_s: rate.wasm_component,
      dispatch_ratio_vs_js: r('wasm_component', 'js_component'),
      batch_ratio_vs_single: r('wasm_component', 'wasm_component_single'),
      // Events per second of the process's CPU time (all threads): what a loaded machine's
      // descheduling does not inflate, unlike the wall-clock rates above.
      cpu_events_per_s: cpuRate,
      cpu_ratio_vs_js: cpuRatio('wasm_component', 'js_component'),
      cpu_batch_ratio_vs_single: cpuRatio('wasm_component', 'wasm_component_single'),
      handler_ratio_vs_js: r('wasm_bare', 'js_bare'),
      fuel: {
        // Time per event metered / unmetered − 1.
        component_overhead: round(rate.wasm_component_unmetered! / rate.wasm_component! - 1, 3),
        handler_overhead: round(rate.wasm_bare_unmetered! / rate.wasm_bare! - 1, 3),
      },
      samples,
    };
  } finally {
    await engine.stop();
  }
}

runCase(import.meta.url, (o) => measureDispatch(o.quick));
