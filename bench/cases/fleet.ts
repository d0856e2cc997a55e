/**
 * Fleet rollouts (docs/FLEET.md): with a real nats-server (JetStream) and N engines joined as
 * nodes, the time from starting a rollout (kv 1.0.0 -> 2.0.0 from the Object Store, steps 100,
 * no hold) to every node running 2.0.0 and to the rollout's end (probation passed everywhere),
 * against upgrading the same engines one by one through the HTTP API, in the same run; and the
 * time from a fault on the canary to every node back on the stable version.
 *
 * The N engines run in this process (each a ControlPlane, as `hotswap start` runs it, with its
 * own FleetAgent): 20 engine processes would need about 6 GB and minutes to start on 2 cores.
 *
 *   node --import tsx bench/cases/fleet.ts [--quick]
 *
 * FLEET_TRACE=1 prints each rollout's progress with a timestamp (how the 120 s revert below
 * was found: a canary rolled back during its own swap reported itself on probation).
 */
import dgram from 'node:dgram';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlane } from '../../host/control/plane.js';
import { FleetAgent } from '../../host/fleet/agent.js';
import { FleetStore } from '../../host/fleet/fleet-store.js';
import type { ModuleRef } from '../../host/fleet/model.js';
import { stagesOf } from '../../host/fleet/plan.js';
import { type Outcome, Rollout } from '../../host/fleet/rollout.js';
import { Logger } from '../../host/log.js';
import { NatsServer, natsMissing } from '../../test/support/nats-server.js';
import { progress, runCase } from '../lib/case.js';
import { BENCH_DIR } from '../lib/child.js';
import { engineConfig } from '../lib/kv-engine.js';

const ROOT = join(BENCH_DIR, '..');
const TOKEN = 'bench-fleet';
/** The engines' probation window: a rollout's end waits for it on every node. */
const PROBATION_MS = 500;

interface Fleet {
  planes: ControlPlane[];
  agents: FleetAgent[];
}

async function startFleet(n: number, url: string, log: Logger): Promise<Fleet> {
  const planes: ControlPlane[] = [];
  const agents: FleetAgent[] = [];
  for (let i = 0; i < n; i++) {
    const config = engineConfig([{ name: 'kv', listen: [{ proto: 'udp', host: '127.0.0.1', port: 0 }] }]);
    config.control.token = TOKEN;
    config.components[0]!.probation = { windowMs: PROBATION_MS, maxFaults: 0 };
    const plane = await ControlPlane.start(config, { logger: log });
    planes.push(plane);
    const node = `b${String(i).padStart(2, '0')}`;
    agents.push(FleetAgent.start(plane.engine, { servers: [url], node, logger: log, heartbeatMs: 250, pollMs: 500 }));
  }
  await Promise.all(agents.map((a) => a.connected()));
  return { planes, agents };
}

async function stopFleet(fleet: Fleet): Promise<void> {
  for (const a of fleet.agents) await a.stop();
  for (const p of fleet.planes) {
    await p.stop();
    rmSync(p.engine.config.dataDir, { recursive: true, force: true });
  }
}

const versions = (fleet: Fleet): (string | undefined)[] => fleet.planes.map((p) => p.engine.component('kv').module?.version);
const allOn = (fleet: Fleet, v: string): boolean => versions(fleet).every((x) => x === v);

/** Resolves with the time (ms, from t0) at which `cond` first held, polling every 2 ms. */
async function whenTrue(cond: () => boolean, t0: number, timeoutMs = 120_000): Promise<number> {
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error('fleet bench: condition not reached in time');
    await new Promise((r) => setTimeout(r, 2));
  }
  return performance.now() - t0;
}

async function httpUpgrade(plane: ControlPlane, version: string, kind: 'upgrade' | 'rollback' = 'upgrade'): Promise<void> {
  const res = await fetch(`http://${plane.server.address}/v1/components/kv/${kind}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ version }),
  });
  if (!res.ok) throw new Error(`HTTP ${kind} to ${version}: ${res.status} ${await res.text()}`);
}

async function oneByOne(fleet: Fleet, version: string): Promise<number> {
  const t0 = performance.now();
  for (const p of fleet.planes) await httpUpgrade(p, version);
  return performance.now() - t0;
}

/** Median of a few samples (the machine is shared; one sample says little). */
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(n: number, url: string, store: FleetStore, log: Logger, reps: number): Promise<Record<string, number>> {
  const fleet = await startFleet(n, url, log);
  try {
    const v2 = readFileSync(join(ROOT, 'build', 'modules', 'kv', '2.0.0.wasm'));
    const candidate = { version: '2.0.0', ...(await store.putModule('kv', '2.0.0', v2)) };
    // Warm-up, untimed: every engine prepares 2.0.0 once, so both methods below find it cached.
    // The HTTP runs come first: once a desired state exists, the agents undo manual upgrades.
    await oneByOne(fleet, '2.0.0');
    const http: number[] = [];
    for (let i = 0; i < reps; i++) {
      for (const p of fleet.planes) await httpUpgrade(p, '1.0.0');
      http.push(await oneByOne(fleet, '2.0.0'));
    }
    for (const p of fleet.planes) await httpUpgrade(p, '1.0.0');
    const allOnMs: number[] = [];
    const doneMs: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const reached = whenTrue(() => allOn(fleet, '2.0.0'), t0);
      await runRollout(store, candidate, 0, 'done');
      doneMs.push(performance.now() - t0);
      allOnMs.push(await reached);
      // Back to 1.0.0 (from each node's repository) for the next repetition, untimed.
      if (i < reps - 1) await runRollout(store, { version: '1.0.0' }, 0, 'done');
    }
    const revert: number[] = [];
    for (let i = 0; i < reps; i++) revert.push(await faultRevert(fleet, store));
    return {
      nodes: n,
      repetitions: reps,
      http_one_by_one_ms: median(http),
      rollout_all_on_version_ms: median(allOnMs),
      rollout_done_ms: median(doneMs),
      fault_to_reverted_ms: median(revert),
    };
  } finally {
    await stopFleet(fleet);
  }
}

async function runRollout(store: FleetStore, candidate: ModuleRef, canary: number, expect: Outcome['result']): Promise<Outcome> {
  const rollout = new Rollout(store, {
    component: 'kv',
    candidate,
    stages: stagesOf(canary, [100]),
    holdMs: 0,
    maxFaults: 0,
    pollMs: 20,
    onProgress: (l) => process.env.FLEET_TRACE && progress('fleet', `${Math.round(performance.now())} ${l}`),
  });
  const outcome = await rollout.run();
  if (outcome.result !== expect) throw new Error(`fleet bench: rollout of ${candidate.version}: ${outcome.result} (${outcome.reason})`);
  return outcome;
}

/** A candidate that traps on RECURSE, poked on the canary: ms from its fault to every node on 2.0.0. */
async function faultRevert(fleet: Fleet, store: FleetStore): Promise<number> {
  const bytes = readFileSync(join(ROOT, 'build', 'hostile', 'deep-recursion.wasm'));
  const candidate = { version: '6.6.6-recurse', ...(await store.putModule('kv', '6.6.6-recurse', bytes)) };
  const canary = fleet.planes[0]!.engine;
  let faultAt = 0;
  // The engine has no way to remove a listener; this one only notes the first fault of this call.
  canary.onFault(() => {
    faultAt ||= performance.now();
  });
  const socket = dgram.createSocket('udp4');
  const port = canary.addresses('kv')[0]!.port;
  const poke = setInterval(() => socket.send('RECURSE', port, '127.0.0.1'), 5);
  try {
    await runRollout(store, candidate, 1, 'reverted');
    const end = performance.now();
    if (!allOn(fleet, '2.0.0') || !faultAt) throw new Error(`fleet bench: the faulting canary was not reverted: ${versions(fleet)}`);
    return end - faultAt;
  } finally {
    clearInterval(poke);
    socket.close();
  }
}

runCase(import.meta.url, async ({ quick }) => {
  const missing = natsMissing();
  if (missing) return { skipped: missing };
  const log = new Logger('bench', 'warn');
  const runs: Record<string, number>[] = [];
  for (const n of quick ? [5] : [5, 20]) {
    // A fresh server per size: each run starts with no desired state and no reports.
    const nats = await NatsServer.start();
    const store = await FleetStore.connect({ servers: [nats.url], name: 'fleet bench' });
    try {
      progress('fleet', `${n} engines`);
      const r = await measure(n, nats.url, store, log, quick ? 1 : 3);
      progress('fleet', JSON.stringify(r));
      runs.push({ ...r, http_over_rollout: r.http_one_by_one_ms! / r.rollout_all_on_version_ms! });
    } finally {
      await store.close();
      await nats.close();
    }
  }
  return { probation_ms: PROBATION_MS, runs };
});
