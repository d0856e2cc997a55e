/**
 * The engine under test, in process: a real `Engine` (config with no listeners or port 0) whose
 * `kv` components are fed through `Component.enqueue`, exactly as the UDP source feeds them.
 * Shared by the in-process benchmarks (swap pause, dispatch, memory, safety).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Component } from '../../host/component/component.js';
import type { ComponentEvent, ReplyTarget } from '../../host/component/events.js';
import type { SnapshotPolicy, SwapReport } from '../../host/component/swap.js';
import type { ComponentConfig, EngineConfig, ListenConfig } from '../../host/config.js';
import type { Durability } from '../../host/durability/levels.js';
import { Engine, type EngineOptions } from '../../host/engine.js';
import type { PreparedModule } from '../../host/modules/prepared.js';
import { bundledModulesDir } from '../../host/paths.js';
import { BundledModules } from '../../host/repository/bundled.js';

export const MEMORY_BYTES = 512 * 1024 * 1024;

export interface KvComponentSpec {
  name: string;
  version?: string;
  snapshot?: SnapshotPolicy;
  listen?: ListenConfig[];
  durability?: Durability;
}

export function engineConfig(components: KvComponentSpec[]): EngineConfig {
  return {
    dataDir: mkdtempSync(join(tmpdir(), 'hotswap-bench-')),
    logLevel: 'warn',
    control: { host: '127.0.0.1', port: 0 },
    components: components.map(
      (c): ComponentConfig => ({
        name: c.name,
        module: 'kv',
        version: c.version ?? '1.0.0',
        listen: c.listen ?? [],
        signals: [],
        limits: { memoryBytes: MEMORY_BYTES, moduleBytes: 4 * 1024 * 1024 },
        snapshot: c.snapshot ?? 'incremental',
        ...(c.durability ? { durability: c.durability } : {}),
        wasi: false,
      }),
    ),
  };
}

export function startKvEngine(components: KvComponentSpec[], options: EngineOptions = {}): Promise<Engine> {
  return Engine.start(engineConfig(components), options);
}

/** True when `build/modules/kv/<version>.wasm` exists. */
export function hasKvVersion(version: string): boolean {
  return existsSync(join(bundledModulesDir, 'kv', `${version}.wasm`));
}

/** Checks, compiles and warms up a stored kv version for a component: the "precompiled module". */
export async function prepareKv(engine: Engine, component: string, version: string): Promise<PreparedModule> {
  const stored = await new BundledModules().get('kv', version);
  return engine.prepare(component, stored.bytes, version);
}

/** Counts replies and resolves a waiter once a given number arrived. */
export class ReplyCounter implements ReplyTarget {
  count = 0;
  last: Buffer | null = null;
  #target = 0;
  #resolve: (() => void) | null = null;

  reply(bytes: Buffer): number {
    this.count++;
    this.last = bytes;
    if (this.#resolve && this.count >= this.#target) {
      const r = this.#resolve;
      this.#resolve = null;
      r();
    }
    return 0;
  }

  /** Resolves when `count` reaches `target` (bounded: rejects after `timeoutMs`). */
  until(target: number, timeoutMs = 120_000): Promise<void> {
    if (this.count >= target) return Promise.resolve();
    this.#target = target;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#resolve = null;
        reject(new Error(`only ${this.count} of ${target} replies within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#resolve = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

export function messageEvent(payload: Buffer, replyTo: ReplyTarget): ComponentEvent {
  return { kind: 'message', channel: 0, peer: '127.0.0.1:40000', payload, replyTo };
}

/** The key and value the bench stores under index i (same shape as bench/peers/udp-load.ts). */
export const keyOf = (i: number): string => `k${i}`;
export const valueAt = (i: number): string => `v${i}`;

/**
 * Stores keys [from, to) through the component's queue and dispatcher, in bounded batches so
 * the queue never holds more than `batch` events, and checks every reply was OK.
 */
export async function fillKeys(component: Component, from: number, to: number, batch = 8192): Promise<void> {
  const replies = new ReplyCounter();
  let expected = 0;
  for (let start = from; start < to; start += batch) {
    const end = Math.min(to, start + batch);
    for (let i = start; i < end; i++) component.enqueue(messageEvent(Buffer.from(`SET ${keyOf(i)} ${valueAt(i)}`), replies));
    expected += end - start;
    await replies.until(expected);
  }
}

/** Sends one request and returns the reply text (for sanity checks). */
export async function request(component: Component, text: string): Promise<string> {
  const replies = new ReplyCounter();
  component.enqueue(messageEvent(Buffer.from(text), replies));
  await replies.until(1, 10_000);
  return replies.last!.toString('latin1');
}

/** Fails loudly when the store does not hold exactly `n` keys with the right values. */
export async function verifyStore(component: Component, n: number): Promise<void> {
  const count = await request(component, 'COUNT');
  if (count !== String(n)) throw new Error(`${component.name}: COUNT is ${count}, expected ${n}`);
  for (const i of n > 0 ? [0, Math.floor(n / 2), n - 1] : []) {
    const got = await request(component, `GET ${keyOf(i)}`);
    if (got !== `VALUE ${valueAt(i)}`) throw new Error(`${component.name}: GET ${keyOf(i)} gave ${got}`);
  }
}

/**
 * One swap whose pause is measured the way docs/PERFORMANCE.md defines it: an event waits behind the
 * upgrade, so `pauseUs` runs from the upgrade leaving the queue until the new module handled
 * that event (Component #afterEvent).
 */
export async function swapWithWaitingEvent(component: Component, module: PreparedModule): Promise<SwapReport> {
  const replies = new ReplyCounter();
  const done = component.upgrade(module);
  component.enqueue(messageEvent(Buffer.from('GET k0'), replies));
  const report = await done;
  if (report.result !== 'ok') throw new Error(`swap to ${module.version} ${report.result}: ${report.cause ?? ''}`);
  if (report.queued !== 1 || replies.count !== 1) {
    throw new Error(`expected exactly one event waiting behind the upgrade, got queued=${report.queued}`);
  }
  return report;
}
