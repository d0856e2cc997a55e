/**
 * Measure 9: migrating 1M records across a data-layout change, against Erlang/OTP's transforming
 * `code_change` over a 1M-entry map, in alternating rounds of the same run.
 *
 *   node --import tsx --expose-gc bench/cases/migration.ts [--quick]
 *
 * Ours: kv 2.0.0 (layout 1) → 3.0.0 (layout 2: 16 bytes of metadata per record, `migrate`) and
 * back (3.0.0's `migrate_down`), over 1M records `k<i> → v<i>`, under the default snapshot
 * policy ('incremental'). Per swap: the pause (`SwapReport.pauseUs`, one COUNT waiting behind
 * the upgrade), its `migrate` phase, and the total: the pause plus the checkpoint sync that copies
 * the pages the migration wrote into the rollback copy (the engine does that 20 ms later, off the
 * pause; here it is called at once, so it is timed alone).
 * Erlang: peer_bench's `transform1m` mode, a gen_server holding 1M entries upgraded with
 * sys:suspend, code:load_binary, sys:change_code (every entry rewritten), sys:resume
 * (docs/PERFORMANCE.md, "Migration", says why that is the fair comparison).
 * The rounds alternate Erlang, ours, Erlang, ours…; the ratio is taken per round and its median
 * and spread reported, with the load average before and after.
 */

import type { Component } from '../../host/component/component.js';
import type { SwapReport } from '../../host/component/swap.js';
import type { PreparedModule } from '../../host/modules/prepared.js';
import { collectGarbage, progress, runCase } from '../lib/case.js';
import { load1 } from '../lib/kernel.js';
import { fillKeys, hasKvVersion, messageEvent, prepareKv, ReplyCounter, request, startKvEngine, verifyStore } from '../lib/kv-engine.js';
import { CompiledPeer, ensureErlang, pauseSamplesUs } from '../peers/erlang-peer.js';
import { round, summarize } from '../peers/stats.js';

const KEYS = 1_000_000;

interface OursSample {
  pauseMs: number;
  migrateMs: number;
  totalMs: number;
}

/** One migrating swap with a COUNT waiting behind it, then the catch-up sync of the rollback copy. */
async function migratingSwap(component: Component, module: PreparedModule, phase: 'migrate' | 'migrate_down'): Promise<OursSample> {
  collectGarbage();
  const probe = new ReplyCounter();
  const pending = component.upgrade(module);
  component.enqueue(messageEvent(Buffer.from('COUNT'), probe));
  const report: SwapReport = await pending;
  if (report.result !== 'ok') throw new Error(`${module.version}: ${report.result}: ${report.cause ?? ''}`);
  const t0 = performance.now();
  component.pageCheckpoint?.sync();
  const syncMs = performance.now() - t0;
  const migrateUs = report.phasesUs[phase];
  if (migrateUs === undefined) throw new Error(`${module.version}: the swap ran no ${phase} phase`);
  return { pauseMs: report.pauseUs / 1000, migrateMs: migrateUs / 1000, totalMs: report.pauseUs / 1000 + syncMs };
}

const summaryMs = (xs: number[]) => summarize(xs, 2);

export async function measureMigration(quick: boolean): Promise<unknown> {
  if (!hasKvVersion('3.0.0')) return { skipped: 'build/modules/kv/3.0.0.wasm does not exist (npm run build:modules)' };
  const rounds = quick ? 2 : 5;
  const erlangReps = quick ? 2 : 3;
  const ourReps = quick ? 2 : 3;
  const erlangSkipped = ensureErlang();
  let peer: CompiledPeer | null = null;
  if (!erlangSkipped) peer = CompiledPeer.compile();
  const loadBefore = load1();
  const engine = await startKvEngine([{ name: 'mig', version: '2.0.0', snapshot: 'incremental' }]);
  try {
    const component = engine.component('mig');
    const v2 = await prepareKv(engine, 'mig', '2.0.0');
    const v3 = await prepareKv(engine, 'mig', '3.0.0');
    const t0 = performance.now();
    await fillKeys(component, 0, KEYS);
    await verifyStore(component, KEYS);
    progress('migration', `${KEYS} keys stored in ${Math.round(performance.now() - t0)} ms`);
    // Warm-up: the first migration of the process (tier-up, first touch of the checkpoint's shadow).
    await migratingSwap(component, v3, 'migrate');
    await migratingSwap(component, v2, 'migrate_down');
    const up: OursSample[] = [];
    const down: OursSample[] = [];
    const erlang: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let erlangRound: number[] = [];
      if (peer) {
        const out = peer.bench(['transform1m', String(erlangReps)], 10 * 60_000);
        if (out.status !== 0 || out.error)
          throw new Error(`peer_bench transform1m failed (exit ${out.status}): ${(out.stdout + out.stderr).trim().slice(-1000)}`);
        erlangRound = pauseSamplesUs(out.stdout, 'transform', 'n1m').map((us) => us / 1000);
        erlang.push(...erlangRound);
      }
      const ourRound: number[] = [];
      for (let i = 0; i < ourReps; i++) {
        const u = await migratingSwap(component, v3, 'migrate');
        if ((await request(component, 'COUNT')) !== String(KEYS)) throw new Error('after migrate: COUNT is wrong');
        up.push(u);
        ourRound.push(u.pauseMs);
        down.push(await migratingSwap(component, v2, 'migrate_down'));
        await verifyStore(component, KEYS);
      }
      const ours = summaryMs(ourRound).p50;
      const theirs = erlangRound.length ? summaryMs(erlangRound).p50 : null;
      if (theirs !== null) ratios.push(theirs / ours);
      progress(
        'migration',
        `round ${r + 1}: ours p50 ${ours} ms${theirs !== null ? `, Erlang p50 ${theirs} ms, ratio ${round(theirs / ours, 1)}` : ''}`,
      );
    }
    const ratio = ratios.length ? summarize(ratios, 2) : null;
    const upPause = summaryMs(up.map((s) => s.pauseMs));
    return {
      mode: quick ? 'quick' : 'full',
      keys: KEYS,
      rounds,
      migration_1m_ms: upPause.p50,
      erlang_transform_1m_ms: erlang.length ? summaryMs(erlang).p50 : null,
      migration_1m_ratio_vs_erlang: ratio?.p50 ?? null,
      ratio_per_round: ratio ? { ...ratio, rounds: ratios.map((x) => round(x, 2)) } : null,
      up: {
        pause_ms: upPause,
        migrate_ms: summaryMs(up.map((s) => s.migrateMs)),
        total_ms: summaryMs(up.map((s) => s.totalMs)),
      },
      down: {
        pause_ms: summaryMs(down.map((s) => s.pauseMs)),
        migrate_ms: summaryMs(down.map((s) => s.migrateMs)),
        total_ms: summaryMs(down.map((s) => s.totalMs)),
      },
      erlang: erlangSkipped ? { skipped: erlangSkipped } : { pause_ms: summaryMs(erlang), reps_per_round: erlangReps },
      load: { before: loadBefore, after: load1() },
    };
  } finally {
    await engine.stop();
    peer?.remove();
  }
}

runCase(import.meta.url, (o) => measureMigration(o.quick));
