// The control plane always answers (docs/SAFETY.md "Bounded queues and fair dispatch"): a real
// engine process runs two components, `flood` (upgraded to test/hostile/src/flood-self.ts: every
// message it handles sends two more to itself over the bus) and a healthy `kv`. While the flood
// runs, GET /healthz and the status route answer within 100 ms at p99, kv's UDP requests see at
// most EXTRA_P99_MS more latency at p99 than before the flood, the engine's RSS stays under
// RSS_GROWTH_BOUND above where it was, and a rollback brings the engine back to idle.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UdpClient } from './support/clients.js';
import { type RunningEngine, repoRoot, startEngine } from './support/engine-process.js';
import { waitFor } from './support/wait-for.js';

/** Control API p99 bound while a component floods itself. */
const CONTROL_P99_MS = 100;
/**
 * kv's extra p99 latency under the flood. The dispatcher's share of it is one flood slice (at
 * most 256 events or 5 ms; ~1 ms here) plus the scavenges the flood's garbage causes: measured
 * 9–17 ms extra at p99 on the 2-core development machine at load average ~7, 0.5 ms before the
 * flood. The rest of the bound is the machine's: a process that keeps a core busy is
 * time-sliced by the kernel against every other busy process, which adds tens of ms when the
 * machine is oversubscribed (34 and 64 ms measured at load average 9–10), and no dispatcher
 * can remove that. Without fair slices kv would not answer at all while the flood lasts.
 */
const EXTRA_P99_MS = 50;
/**
 * The flooder's bus messages are bounded at 4,096 queued (a sixteenth of its queue); what V8's
 * heap keeps growing for the flood's garbage comes on top: measured +208 MiB when the whole
 * 65,536-event queue filled with bus messages, +3.7 GiB with no bound at all.
 */
const RSS_GROWTH_BOUND = 320 * 1024 * 1024;
const FLOOD_MS = 5000;

let engine: RunningEngine;
let kv: UdpClient;
let flood: UdpClient;

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

const rssBytes = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
/** utime + stime of the process, in clock ticks (1/100 s on Linux). */
const cpuTicks = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd on
  return Number(fields[11]) + Number(fields[12]);
};

async function timed(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url);
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return performance.now() - t0;
}

interface Status {
  name: string;
  version: string | null;
  queueDepth: number;
  dropped: number;
  handled: { message: number };
}
const statusOf = async (name: string): Promise<Status> =>
  (await (await fetch(`http://${engine.control}/v1/components/${name}`)).json()) as Status;

/** Sequential kv requests for `ms`; returns each round trip's latency. */
async function kvLatencies(ms: number): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + ms;
  for (let i = 0; performance.now() < end; i++) {
    const t0 = performance.now();
    const reply = await kv.request(i % 2 ? `GET key${i - 1}` : `SET key${i} v${i}`, 2000);
    out.push(performance.now() - t0);
    assert.is(reply, i % 2 ? `VALUE v${i - 1}` : 'OK', `kv request ${i}`);
  }
  return out;
}

/** GETs `path` every `everyMs` for `ms` (hundreds of samples: p99 is not just the worst one). */
async function pollLatencies(path: string, everyMs: number, ms: number): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    out.push(await timed(`http://${engine.control}${path}`));
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return out;
}

test.before(async () => {
  engine = await startEngine([
    // Probation would roll flood-self back within a fraction of a second (its refused bus sends
    // are quota violations; test/quota-corpus-bus-amplify.test.ts): an operator who allows that
    // many violations keeps the flood going for the whole window measured here.
    { name: 'flood', module: 'kv', version: '1.0.0', tcp: false, limits: { quotaFaults: 1_000_000_000 } },
    { name: 'kv', module: 'kv', version: '1.0.0', tcp: false },
  ]);
  kv = new UdpClient(engine.ports.get('kv')!.udp!);
  flood = new UdpClient(engine.ports.get('flood')!.udp!);
});
test.after(async () => {
  kv?.close();
  flood?.close();
  await engine?.stop();
});

test('a component flooding itself over the bus: the control API and the other component keep answering', async () => {
  const pid = engine.process.pid!;
  const up = await engine.hotswap('upgrade', 'flood', join(repoRoot, 'build/hostile/flood-self.wasm'));
  assert.is(up.code, 0, up.stderr);

  // Baseline, before the flood: the same measurements, for as long.
  const [kvBefore, healthBefore] = await Promise.all([kvLatencies(2000), pollLatencies('/healthz', 5, 2000)]);
  const rssBefore = rssBytes(pid);
  const handledBefore = (await statusOf('flood')).handled.message;

  flood.request('FLOOD flood').catch(() => {}); // never answered: it only multiplies
  await waitFor(async () => (await statusOf('flood')).queueDepth > 100, { what: 'the flood to start' });

  let rssMax = rssBefore;
  let depthMax = 0;
  const sampling = (async () => {
    const end = performance.now() + FLOOD_MS;
    while (performance.now() < end) {
      rssMax = Math.max(rssMax, rssBytes(pid));
      depthMax = Math.max(depthMax, (await statusOf('flood')).queueDepth);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const [kvDuring, health, status] = await Promise.all([
    kvLatencies(FLOOD_MS),
    pollLatencies('/healthz', 5, FLOOD_MS),
    pollLatencies('/v1/components', 10, FLOOD_MS), // what `hotswap status --json` asks
    sampling,
  ]);
  const flooded = await statusOf('flood');
  const cli = await engine.hotswap('status', '--json');
  assert.is(cli.code, 0, cli.stderr);

  const report = {
    healthzP99: percentile(health, 99),
    statusP99: percentile(status, 99),
    healthzP99Idle: percentile(healthBefore, 99),
    kvP99Before: percentile(kvBefore, 99),
    kvP99During: percentile(kvDuring, 99),
    kvRequests: kvDuring.length,
    rssBeforeMiB: Math.round(rssBefore / 2 ** 20),
    rssMaxMiB: Math.round(rssMax / 2 ** 20),
    floodHandled: flooded.handled.message - handledBefore,
    floodDropped: flooded.dropped,
    floodDepthMax: depthMax,
  };
  console.log(`  flood: ${JSON.stringify(report)}`);
  assert.ok(report.floodHandled > 1000, `the flooder was busy (${report.floodHandled} bus messages handled)`);
  assert.is(flooded.version, '6.6.6-flood-self', 'the flood lasted the whole window');
  assert.ok(report.healthzP99 < CONTROL_P99_MS, `GET /healthz p99 ${report.healthzP99.toFixed(1)} ms`);
  assert.ok(report.statusP99 < CONTROL_P99_MS, `GET /v1/components p99 ${report.statusP99.toFixed(1)} ms`);
  assert.ok(
    report.kvP99During <= report.kvP99Before + EXTRA_P99_MS,
    `kv p99 ${report.kvP99During.toFixed(2)} ms under the flood vs ${report.kvP99Before.toFixed(2)} ms before`,
  );
  assert.ok(rssMax - rssBefore < RSS_GROWTH_BOUND, `RSS grew from ${report.rssBeforeMiB} to ${report.rssMaxMiB} MiB`);
  assert.ok(depthMax <= 65_536, `the flooder's queue stayed within its bound (${depthMax})`);

  // The operator's way out: a rollback gets into the full queue and ends the flood.
  if ((await statusOf('flood')).version === '6.6.6-flood-self') {
    const back = await engine.hotswap('rollback', 'flood');
    assert.is(back.code, 0, back.stderr);
  }
  assert.is((await statusOf('flood')).version, '1.0.0');
  await waitFor(async () => (await statusOf('flood')).queueDepth === 0, { what: 'the flooder queue to drain', timeoutMs: 10_000 });
  // Idle: under 5% of one core over a whole second (measured in a window, waited for).
  let from = { at: performance.now(), ticks: cpuTicks(pid) };
  await waitFor(
    () => {
      const now = { at: performance.now(), ticks: cpuTicks(pid) };
      if (now.at - from.at < 1000) return false;
      const share = (now.ticks - from.ticks) / 100 / ((now.at - from.at) / 1000);
      from = now;
      return share < 0.05 ? share : false;
    },
    { what: 'the engine to go idle (< 5% CPU over 1 s)', timeoutMs: 15_000, intervalMs: 100 },
  );
  assert.is(await kv.request('GET key0'), 'VALUE v0', 'the healthy component kept its keys');
  assert.is(await flood.request('SET after flood'), 'OK');
});

test.run();
