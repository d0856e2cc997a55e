/**
 * One attack, end to end, against a real engine process (test/quota-corpus*.test.ts): kv 1.0.0
 * writes keys; the CLI upgrades to an attack module from build/hostile; the attack is triggered;
 * meanwhile the control API's latency and the engine's RSS are watched; the attack module is
 * rolled back (by the engine itself, or with `hotswap rollback`); then every key must read back
 * and the engine must go idle. Returns what happened, for the test to assert and to print.
 */
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { ControlWatch, cpuSeconds, type LatencySummary, UdpLines } from './attack-watch.js';
import { type RunningEngine, repoRoot } from './engine-process.js';
import { waitFor } from './wait-for.js';

/** The bounds every attack is held to (docs/SAFETY.md states the engine's side of them). */
export const BOUNDS = {
  /** `GET /healthz` p99 over the attack window. */
  controlP99Ms: 100,
  /** The engine's VmRSS at any sample during the attack (it starts near 150 MiB). */
  rssBytes: 1024 * 1024 * 1024,
  /** Idle: CPU time the engine may use in a quiet second (10% of one core). */
  idleCpuPerSecond: 0.1,
} as const;

/** The time all trigger rounds of one attack may take together. */
const ROUNDS_WITHIN_MS = 20_000;

/** How the attack module must leave: by the engine's own decision, or by `hotswap rollback`. */
export type RollbackBy = 'engine' | 'operator';

export interface AttackCase {
  /** build/hostile/<module>.wasm */
  module: string;
  rollback: RollbackBy;
  /** Triggers the attack once (bounded); called up to `repeat` times while the module runs. */
  trigger(ctx: AttackContext, round: number): Promise<void>;
  repeat?: number;
  /**
   * Counters of the component's status (dotted paths, e.g. "quotaHits.sends") of which at least
   * one must grow over the attack: the engine saw and counted it.
   */
  grows: string[];
  /** How long the engine may take to roll back by itself once the rounds are over (default 15 s). */
  rollbackWithinMs?: number;
  /** Checks of the attack window (e.g. another component's clients), before keys and idleness. */
  afterWindow?(): Promise<void>;
}

export interface AttackContext {
  engine: RunningEngine;
  component: string;
  client: UdpLines;
  /** The version the attack module reports. */
  version: string;
  /** What the trigger saw (reply tallies, bytes received), for the report line. */
  notes: string[];
}

export interface AttackOutcome {
  module: string;
  version: string;
  rolledBackBy: string;
  control: LatencySummary & { maxRss: number };
  idleCpu: number;
  quota: Record<string, unknown>;
  notes: string[];
}

type Json = Record<string, unknown>;

/** The sum of the counters at `paths` (dotted) in a status object; missing ones count 0. */
export function counters(status: Json, paths: readonly string[]): number {
  let sum = 0;
  for (const path of paths) {
    const v = path.split('.').reduce<unknown>((o, k) => (o as Json | undefined)?.[k], status);
    if (typeof v === 'number') sum += v;
  }
  return sum;
}

/** Messages handled plus faults: grows by one once the component is done with a request. */
const settled = (status: Json): number => counters(status, ['handled.message', 'faults']);

/** Sends a request with `send` and waits until the component is done with it (answered or not). */
export async function sendAndWait(ctx: AttackContext, send: () => void, timeoutMs = 15_000): Promise<void> {
  const before = settled(await componentStatus(ctx.engine, ctx.component));
  send();
  await waitFor(async () => settled(await componentStatus(ctx.engine, ctx.component)) > before, {
    what: `${ctx.component} to handle the request`,
    timeoutMs,
    intervalMs: 20,
  });
}

export async function componentStatus(engine: RunningEngine, name: string): Promise<Json> {
  const url = `http://${engine.control}/v1/components/${name}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return (await res.json()) as Json;
  } catch (e) {
    throw new Error(`GET ${url} (the component's status): ${(e as Error).message}`);
  }
}

/** Runs the CLI with --json; the parsed stdout (null when it printed none). */
export async function cliJson(engine: RunningEngine, ...args: string[]): Promise<{ code: number; data: Json | null; stderr: string }> {
  const r = await engine.hotswap(...args, '--json');
  let data: Json | null = null;
  try {
    data = r.stdout.trim() ? (JSON.parse(r.stdout) as Json) : null;
  } catch {
    data = null;
  }
  return { code: r.code, data, stderr: r.stderr };
}

/** Writes `count` keys through kv's UDP port; returns them. */
export async function writeKeys(client: UdpLines, prefix: string, count: number): Promise<string[]> {
  const keys = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  for (const k of keys) assert.is(await client.request(`SET ${k} v-${k}`), 'OK', `SET ${k}`);
  return keys;
}

export async function assertKeys(client: UdpLines, keys: readonly string[]): Promise<void> {
  for (const k of keys) assert.is(await client.request(`GET ${k}`), `VALUE v-${k}`, `key ${k} intact`);
}

/**
 * Waits until the component is idle: nothing queued, `timers` timers, and the engine process
 * using less than BOUNDS.idleCpuPerSecond of CPU over one second. Returns that CPU rate.
 */
export async function waitIdle(engine: RunningEngine, component: string, timers: number, timeoutMs = 15_000): Promise<number> {
  const pid = engine.process.pid!;
  let last = '';
  return waitFor(
    async () => {
      const status = await cliJson(engine, 'status', component);
      assert.is(status.code, 0, `hotswap status: ${status.stderr}`);
      const s = status.data!;
      const before = cpuSeconds(pid);
      const t = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the window the CPU rate is measured over
      const rate = (cpuSeconds(pid) - before) / ((performance.now() - t) / 1000);
      last = `queueDepth ${s.queueDepth}, timers ${s.timers} (want ${timers}), CPU ${(rate * 100).toFixed(0)}%`;
      return s.queueDepth === 0 && s.timers === timers && rate < BOUNDS.idleCpuPerSecond ? rate : null;
    },
    { what: `${component} to go idle`, timeoutMs, intervalMs: 100 },
  ).catch((e: Error) => {
    throw new Error(`${e.message.replace(/ \(last: .*\)$/, '')}: ${last}`);
  });
}

/** Everything in a status object or /metrics text that speaks of quotas, for the report. */
export async function quotaEvidence(engine: RunningEngine, component: string): Promise<Record<string, unknown>> {
  const status = await componentStatus(engine, component);
  const found: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(status)) if (/quota|dropped/i.test(k)) found[k] = v;
  const metrics = await (await fetch(`http://${engine.control}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const lines = metrics.split('\n').filter((l) => /quota/i.test(l) && !l.startsWith('#') && !/\s0$/.test(l));
  if (lines.length) found.metrics = lines.slice(0, 20);
  return found;
}

export const attackPath = (module: string): string => join(repoRoot, 'build', 'hostile', `${module}.wasm`);

/**
 * The whole scenario for one attack on `component` (running kv 1.0.0 with `keys` written).
 * Asserts the bounds; returns the outcome for the test's report line.
 */
export async function runAttack(engine: RunningEngine, component: string, c: AttackCase, keys: readonly string[]): Promise<AttackOutcome> {
  const pid = engine.process.pid!;
  const client = new UdpLines(engine.ports.get(component)!.udp!);
  const notes: string[] = [];
  try {
    const before = await componentStatus(engine, component);
    const baseVersion = before.version as string;
    const baseTimers = before.timers as number;
    assert.ok(!baseVersion.startsWith('6.6.6-'), `${component} must start on kv, not on ${baseVersion} (an earlier case failed)`);
    const watch = new ControlWatch(engine.control, pid);
    let control: Awaited<ReturnType<ControlWatch['stop']>>;
    let rolledBackBy = '';
    let version = '';
    try {
      const up = await cliJson(engine, 'upgrade', component, attackPath(c.module));
      const report = (up.data ?? {}) as Json;
      version = String(report.to ?? '');
      assert.ok(version.startsWith('6.6.6-attack'), `upgrade to ${c.module}: ${up.stderr}`);
      if (report.result === 'rolled_back') {
        rolledBackBy = `the swap itself (${report.cause})`;
      } else {
        assert.is(up.code, 0, up.stderr);
        const ctx: AttackContext = { engine, component, client, version, notes };
        // Bounded in count and in time, so a file fails within its deadline if nothing stops the attack.
        const deadline = performance.now() + ROUNDS_WITHIN_MS;
        let round = 0;
        for (; round < (c.repeat ?? 1) && performance.now() < deadline; round++) {
          if ((await componentStatus(engine, component)).version !== version) break;
          await c.trigger(ctx, round);
        }
        notes.push(`${round} trigger round(s)`);
      }
      if (!rolledBackBy && c.rollback === 'engine') {
        await waitFor(async () => (await componentStatus(engine, component)).version === baseVersion, {
          what: `the engine to roll ${component} back from ${version} by itself`,
          timeoutMs: c.rollbackWithinMs ?? 15_000,
          intervalMs: 50,
        });
        const history = (await cliJson(engine, 'history', component, '--limit', '5')).data as unknown as Json[];
        const back = history.find((h) => h.kind === 'rollback' || (h.from === version && h.to === baseVersion));
        rolledBackBy = `the engine (${String(back?.cause ?? (back?.detail as Json | undefined)?.automatic ?? 'no cause recorded')})`;
      } else if (!rolledBackBy) {
        assert.is((await componentStatus(engine, component)).version, version, `${version} still runs: nothing rolled it back yet`);
        const back = await cliJson(engine, 'rollback', component);
        assert.is(back.code, 0, `hotswap rollback: ${back.stderr}`);
        assert.is(back.data?.to, baseVersion);
        rolledBackBy = 'hotswap rollback';
      }
    } finally {
      control = await watch.stop();
      console.log(describeWindow(c.module, rolledBackBy || 'nothing (yet)', control, notes));
    }
    assert.is(engine.process.exitCode, null, 'the engine is still running');
    assert.is(control.failures.length, 0, `the control API always answered: ${control.failures.slice(0, 3).join('; ')}`);
    assert.ok(control.p99 < BOUNDS.controlP99Ms, `control API p99 ${control.p99.toFixed(1)} ms < ${BOUNDS.controlP99Ms} ms`);
    assert.ok(
      control.maxRss < BOUNDS.rssBytes,
      `engine RSS ${(control.maxRss / 2 ** 20).toFixed(0)} MiB < ${BOUNDS.rssBytes / 2 ** 20} MiB`,
    );
    const after = await componentStatus(engine, component);
    assert.is(after.version, baseVersion, 'back on the version before the attack');
    assert.ok(
      counters(after, c.grows) > counters(before, c.grows),
      `the engine counted the attack in ${c.grows.join(' or ')}: ${JSON.stringify(await quotaEvidence(engine, component))}`,
    );
    await c.afterWindow?.();
    await assertKeys(client, keys);
    const idleCpu = await waitIdle(engine, component, baseTimers);
    const quota = await quotaEvidence(engine, component);
    console.log(`${c.module}: idle afterwards (CPU ${(idleCpu * 100).toFixed(1)}%); quota evidence ${JSON.stringify(quota)}`);
    return { module: c.module, version, rolledBackBy, control, idleCpu, quota, notes };
  } finally {
    client.close();
  }
}

/** One line on the attack window: how it ended, the control API's latency, the engine's memory. */
export function describeWindow(
  module: string,
  rolledBackBy: string,
  c: LatencySummary & { maxRss: number },
  notes: readonly string[],
): string {
  return (
    `${module}: rolled back by ${rolledBackBy}; healthz p50 ${c.p50.toFixed(1)} ms, p99 ${c.p99.toFixed(1)} ms, ` +
    `max ${c.max.toFixed(1)} ms over ${c.samples} requests (${c.failures.length} failed); max RSS ${(c.maxRss / 2 ** 20).toFixed(0)} MiB` +
    (notes.length ? `; ${notes.join('; ')}` : '')
  );
}
