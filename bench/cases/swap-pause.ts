/**
 * Measure 1: the swap pause of a precompiled module.
 *
 *   node --import tsx --expose-gc bench/cases/swap-pause.ts [--quick] [--pause-only]
 *
 * Pause = from the upgrade event leaving the queue until the new module handled the first event
 * that waited behind it (`SwapReport.pauseUs`, with one GET always waiting), broken down by the
 * engine's phases (`SwapReport.phasesUs`). kv 1.0.0 ↔ 2.0.0 alternate (same layout), each
 * prepared once, for an empty store, 10k and 1M keys, under each snapshot policy that changes
 * the work: 'incremental' (the default) copies only the pages written since the checkpoint's
 * last sync, and 'always' copies the persistent bytes in use before every swap.
 *
 * Layout migration: kv 2.0.0 (layout 1) → 3.0.0 (layout 2, `migrate`) over 10k and 1M records,
 * when build/modules/kv/3.0.0.wasm exists; back down with 3.0.0's `migrate_down` when it has one
 * (the 1M-record comparison with Erlang is bench/cases/migration.ts).
 * The instantiate phase is taken apart by bench/lib/instantiate-parts.ts (`instantiate_parts`).
 *
 * A swap instantiates its new module when it is requested and only activates it in the pause
 * (phase `activate`; modules/activation.ts). Every series interleaves, in rounds of two swaps
 * (AABB…, so both versions meet both ways), swaps done that way with swaps of the same modules
 * marked as not instantiable ahead, which instantiate inside the pause (phase `instantiate`):
 * `on_the_spot` is that baseline, measured in the same process at the same time.
 */
import type { Component } from '../../host/component/component.js';
import type { SnapshotPolicy, SwapPhase, SwapReport } from '../../host/component/swap.js';
import type { Engine } from '../../host/engine.js';
import type { PreparedModule } from '../../host/modules/prepared.js';
import { collectGarbage, progress, runCase } from '../lib/case.js';
import { measureInstantiateParts } from '../lib/instantiate-parts.js';
import {
  fillKeys,
  hasKvVersion,
  messageEvent,
  prepareKv,
  ReplyCounter,
  request,
  startKvEngine,
  swapWithWaitingEvent,
  verifyStore,
} from '../lib/kv-engine.js';
import { type Summary, summarize } from '../peers/stats.js';

const WARMUP = 10;

export interface PauseSeries {
  keys: number;
  policy: SnapshotPolicy;
  swaps: number;
  pause_us: Summary;
  /** Per phase: p50/p99 µs (snapshot only appears when a copy was taken). */
  phases_us: Partial<Record<SwapPhase, { p50: number; p99: number }>>;
  snapshot_bytes: number;
  persistent_bytes: number;
  /** The baseline interleaved with them: the same swaps instantiating inside the pause. */
  on_the_spot: { swaps: number; pause_us: Summary; phases_us: Partial<Record<SwapPhase, { p50: number; p99: number }>> };
}

/** The same module, marked as not instantiable ahead: its swap instantiates inside the pause. */
const onTheSpot = (m: PreparedModule): PreparedModule => ({ ...m, deferredActivation: false });

/**
 * Swaps back and forth between the two modules, `swaps` times each way of instantiating
 * (ahead, then on the spot, in rounds of two swaps), after a warm-up of both.
 */
async function alternate(
  component: Component,
  modules: readonly [PreparedModule, PreparedModule],
  swaps: number,
  warmup = WARMUP,
): Promise<{ ahead: SwapReport[]; spot: SwapReport[] }> {
  const ahead: SwapReport[] = [];
  const spot: SwapReport[] = [];
  const spotModules = [onTheSpot(modules[0]), onTheSpot(modules[1])] as const;
  const start = component.module?.version === modules[0].version ? 1 : 0;
  for (let i = 0; i < 2 * (swaps + warmup); i++) {
    const early = Math.floor(i / 2) % 2 === 0;
    const report = await swapWithWaitingEvent(component, (early ? modules : spotModules)[(start + i) % 2]!);
    if (i >= 2 * warmup) (early ? ahead : spot).push(report);
  }
  return { ahead, spot };
}

export function phaseSummary(reports: readonly SwapReport[]): PauseSeries['phases_us'] {
  const phases = new Set(reports.flatMap((r) => Object.keys(r.phasesUs) as SwapPhase[]));
  const out: PauseSeries['phases_us'] = {};
  for (const phase of phases) {
    const s = summarize(
      reports.map((r) => r.phasesUs[phase] ?? 0),
      0,
    );
    out[phase] = { p50: s.p50, p99: s.p99 };
  }
  return out;
}

function series(
  component: Component,
  keys: number,
  policy: SnapshotPolicy,
  runs: { ahead: SwapReport[]; spot: SwapReport[] },
): PauseSeries {
  const reports = runs.ahead;
  return {
    keys,
    policy,
    swaps: reports.length,
    pause_us: summarize(
      reports.map((r) => r.pauseUs),
      0,
    ),
    phases_us: phaseSummary(reports),
    snapshot_bytes: reports[0]?.snapshotBytes ?? 0,
    persistent_bytes: component.memory.persistentBytesInUse(),
    on_the_spot: {
      swaps: runs.spot.length,
      pause_us: summarize(
        runs.spot.map((r) => r.pauseUs),
        0,
      ),
      phases_us: phaseSummary(runs.spot),
    },
  };
}

interface MigrationResult {
  keys: number;
  policy: SnapshotPolicy;
  /** 'ok', or how the first attempt ended ('rolled_back' with its cause: the store stays intact). */
  result: SwapReport['result'];
  cause?: string;
  up: { swaps: number; pause_us: Summary; phases_us: PauseSeries['phases_us'] };
  down: { swaps: number; pause_us: Summary; phases_us: PauseSeries['phases_us'] } | null;
  snapshot_bytes: number;
  persistent_bytes_before: number;
}

/**
 * kv 2.0.0 → 3.0.0 (layout 1 → 2) over `keys` records; back with migrate_down when 3.0.0 has
 * it. A migration that fails is a result too: its report (rolled back, with the cause and the
 * time the attempt and the rollback took) is kept, and the store must still be intact.
 */
async function migrations(engine: Engine, name: string, policy: SnapshotPolicy, keys: number, reps: number): Promise<MigrationResult> {
  const component = engine.component(name);
  const v2 = await prepareKv(engine, name, '2.0.0');
  const v3 = await prepareKv(engine, name, '3.0.0');
  await fillKeys(component, 0, keys);
  const before = component.memory.persistentBytesInUse();
  const up: SwapReport[] = [];
  const down: SwapReport[] = [];
  let failure: SwapReport | null = null;
  for (let rep = 0; rep < reps; rep++) {
    // Without migrate_down there is no way back to layout 1 in place: one run only.
    if (rep > 0 && !v3.hasMigrateDown) break;
    collectGarbage();
    const probe = new ReplyCounter();
    const pending = component.upgrade(v3);
    component.enqueue(messageEvent(Buffer.from('COUNT'), probe));
    const report = await pending;
    up.push(report);
    if (report.result !== 'ok') {
      failure = report;
      await verifyStore(component, keys); // rolled back: layout 1 and every key still there
      break;
    }
    if (report.layout.from !== 1 || report.layout.to !== 2)
      throw new Error(`expected a layout 1→2 migration, got ${JSON.stringify(report.layout)}`);
    const count = await request(component, 'COUNT');
    if (count !== String(keys)) throw new Error(`after migrate: COUNT ${count}, expected ${keys}`);
    if (v3.hasMigrateDown) {
      collectGarbage();
      down.push(await swapWithWaitingEvent(component, v2));
      await verifyStore(component, keys);
    }
  }
  const side = (rs: SwapReport[]) => ({
    swaps: rs.length,
    pause_us: summarize(
      rs.map((r) => r.pauseUs),
      0,
    ),
    phases_us: phaseSummary(rs),
  });
  return {
    keys,
    policy,
    result: failure ? failure.result : 'ok',
    ...(failure?.cause ? { cause: failure.cause } : {}),
    up: side(up),
    down: down.length ? side(down) : null,
    snapshot_bytes: up[0]?.snapshotBytes ?? 0,
    persistent_bytes_before: before,
  };
}

export async function measureSwapPause(quick: boolean, pauseOnly = false): Promise<unknown> {
  const big = 1_000_000;
  const reps = quick
    ? { empty: 200, k10: 200, m1Cheap: 100, m1Copy: 5, migrate10k: 5, migrate500k: 1, migrate1m: 1 }
    : { empty: 2000, k10: 2000, m1Cheap: 1000, m1Copy: 40, migrate10k: 30, migrate500k: 5, migrate1m: 5 };
  // 'incremental' is the default (dirty-page checkpoint); 'always' shows what a full copy costs.
  const policies: SnapshotPolicy[] = ['incremental', 'always'];
  const engine = await startKvEngine(policies.map((p) => ({ name: `kv-${p}`, snapshot: p })));
  const results: PauseSeries[] = [];
  try {
    for (const policy of policies) {
      const name = `kv-${policy}`;
      const component = engine.component(name);
      const modules = [await prepareKv(engine, name, '1.0.0'), await prepareKv(engine, name, '2.0.0')] as const;
      let stored = 0;
      for (const [keys, swaps] of [
        [0, reps.empty],
        [10_000, reps.k10],
        [big, policy === 'always' ? reps.m1Copy : reps.m1Cheap],
      ] as const) {
        const t0 = performance.now();
        await fillKeys(component, stored, keys);
        stored = keys;
        await verifyStore(component, keys);
        progress('swap-pause', `${name}: ${keys} keys stored in ${Math.round(performance.now() - t0)} ms; ${swaps} swaps`);
        collectGarbage();
        const s = series(component, keys, policy, await alternate(component, modules, swaps));
        await verifyStore(component, keys);
        progress(
          'swap-pause',
          `${name} ${keys} keys: pause p50 ${s.pause_us.p50} µs p99 ${s.pause_us.p99} µs; ` +
            `instantiated on the spot: p50 ${s.on_the_spot.pause_us.p50} µs p99 ${s.on_the_spot.pause_us.p99} µs`,
        );
        results.push(s);
      }
    }
  } finally {
    await engine.stop();
  }
  collectGarbage();

  let migration: { skipped: string } | (MigrationResult | { keys: number; policy: SnapshotPolicy; error: string })[];
  if (pauseOnly) {
    migration = { skipped: '--pause-only' };
  } else if (!hasKvVersion('3.0.0')) {
    migration = { skipped: 'build/modules/kv/3.0.0.wasm does not exist (kv 3.0.0 with migrate not built yet: npm run build:modules)' };
  } else {
    migration = [];
    for (const policy of ['incremental', 'never'] as const) {
      // 500k as well: the largest round size whose copying migration fits the persistent arena
      // next to the old data, should 1M not fit (docs/PERFORMANCE.md).
      for (const [keys, n] of [
        [10_000, reps.migrate10k],
        [500_000, reps.migrate500k],
        [big, reps.migrate1m],
      ] as const) {
        const name = `mig-${policy}-${keys}`;
        const e = await startKvEngine([{ name, version: '2.0.0', snapshot: policy }]);
        try {
          const m = await migrations(e, name, policy, keys, n).catch((err: Error) => ({ keys, policy, error: err.message }));
          if ('error' in m) {
            progress('swap-pause', `migrate ${keys} records (${policy}) broke the benchmark: ${m.error}`);
            migration.push(m);
            continue;
          }
          progress(
            'swap-pause',
            `migrate ${keys} records (${policy}): ${m.result}, up p50 ${m.up.pause_us.p50} µs${m.cause ? ` (${m.cause})` : ''}`,
          );
          migration.push(m);
        } finally {
          await e.stop();
        }
        collectGarbage();
      }
    }
  }
  // The instantiate phase taken apart: V8's instantiation, the start function, the floor.
  const instantiateParts = pauseOnly ? { skipped: '--pause-only' } : measureInstantiateParts(quick ? 300 : 2000);
  progress('swap-pause', `instantiate parts (µs p50): ${JSON.stringify(instantiateParts)}`);
  const pick = (keys: number, policy: SnapshotPolicy) => results.find((r) => r.keys === keys && r.policy === policy)!;
  return {
    mode: quick ? 'quick' : 'full',
    headline_policy: 'incremental',
    swap_pause_us: { p50: pick(0, 'incremental').pause_us.p50, p99: pick(0, 'incremental').pause_us.p99 },
    swap_pause_1m_keys_us: { p50: pick(big, 'incremental').pause_us.p50, p99: pick(big, 'incremental').pause_us.p99 },
    series: results,
    instantiate_parts: instantiateParts,
    migration,
  };
}

// --pause-only: the pause series alone (no migrations, no instantiate parts), for a short run.
runCase(import.meta.url, (o) => measureSwapPause(o.quick, process.argv.includes('--pause-only')));
