/**
 * `npm run testbed`: the paper's test network (section 3.2, Figure 6), for real.
 *
 *   H1 —10.1.0.0/24— A —10.0.1.0/24— B —10.0.2.0/24— C —10.0.3.0/24— D —10.2.0.0/24— H2
 *
 * Every router runs our engine with the RIP component (or, with --variant frr|bird, B to D run
 * FRR ripd or BIRD 2 and only A is ours). H1 pings H2 at 20 per second while router A is
 * upgraded 0.0.1 → 0.0.2 twice: first hot (`hotswap upgrade rip 0.0.2`), then the classic way
 * (stop A's engine, start it again with 0.0.2). Prints and saves the report
 * (docs/testbed-report[-variant].txt) and an RTT timeline (docs/testbed-timeline[-variant].svg);
 * the report's last line is `hot-swap lost X of N pings; restart lost Y of M pings`.
 *
 * Needs root, iproute2, iputils-ping and, for the variants, frr / bird2; and `npm run build`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type EngineInstance,
  type KernelRoute,
  Lab,
  type LinkInfo,
  netnsAvailable,
  type PingResult,
  sleep,
  sweepStaleLabs,
} from '../test/support/netns/index.js';
import { type Panel, timelineSvg } from './timeline.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    variant: { type: 'string', default: 'engine' },
    out: { type: 'string', default: join(root, 'docs') },
    settle: { type: 'string', default: '3' },
  },
});
const variant = values.variant!;
if (!['engine', 'frr', 'bird'].includes(variant)) {
  console.error(`testbed: --variant must be engine, frr or bird (got "${variant}")`);
  process.exit(2);
}
const avail = netnsAvailable();
if (!avail.ok) {
  console.error(`testbed: cannot build the network: ${avail.reason}`);
  process.exit(2);
}
if (!existsSync(join(root, 'build', 'modules', 'rip', '0.0.2.wasm')) || !existsSync(join(root, 'build', 'host', 'cli', 'main.js'))) {
  console.error('testbed: build/ is missing the engine or the rip modules: run `npm run build` first');
  process.exit(2);
}

/** The paper's timers (Table 1); triggered updates as RFC 2453 3.10.1 (1–5 s hold-down). */
const SETTINGS = { update: 30, timeout: 180, garbage: 120 };
const TIMERS = { update: 30, timeout: 180, garbage: 120 };
const INTERVAL_MS = 50; // 20 pings per second
const SETTLE_MS = Number(values.settle) * 1000;

const say = (s: string): void => console.log(s);
const report: string[] = [];
const line = (s = ''): void => {
  report.push(s);
  say(s);
};

function engineConfig(version: string, ripInterfaces: string[]): Record<string, unknown> {
  return {
    logLevel: 'info',
    control: { host: '127.0.0.1', port: 7070 },
    components: [
      {
        name: 'rip',
        module: 'rip',
        version,
        capabilities: { net: { interfaces: ripInterfaces }, routes: { protocol: 'rip' }, settings: SETTINGS },
      },
    ],
  };
}

const ripRoutes = async (lab: Lab, host: string): Promise<string[]> =>
  (await lab.routes(host))
    .filter((r: KernelRoute) => r.protocol !== 'kernel')
    .map((r) => `${r.dst} via ${r.gateway ?? '-'} dev ${r.dev ?? '-'} proto ${r.protocol ?? '-'}`)
    .sort();

function describe(p: PingResult): string {
  return (
    `${p.sent} sent, ${p.received} received, ${p.lost} lost, longest gap ${p.maxOutageMs} ms` +
    (p.rtt ? `, rtt min/avg/max ${p.rtt.min}/${p.rtt.avg}/${p.rtt.max} ms` : '')
  );
}

/** Unix time (s) at which ping sent seq 1, estimated from its replies. */
function firstSendTime(p: PingResult, fallback: number): number {
  const r = p.replies[0];
  return r ? r.at - r.rttMs / 1000 - ((r.seq - 1) * p.intervalMs) / 1000 : fallback;
}

sweepStaleLabs();
const lab = new Lab();
const started = Date.now();
let exitCode = 0;
try {
  say(`testbed: variant ${variant}: building H1 - A - B - C - D - H2`);
  for (const h of ['H1', 'A', 'B', 'C', 'D', 'H2']) await lab.host(h);
  const h1 = await lab.link('H1', 'A', '10.1.0.0/24', { aHost: 2, bHost: 1 });
  const ab = await lab.link('A', 'B', '10.0.1.0/24');
  const bc = await lab.link('B', 'C', '10.0.2.0/24');
  const cd = await lab.link('C', 'D', '10.0.3.0/24');
  const h2 = await lab.link('D', 'H2', '10.2.0.0/24', { aHost: 1, bHost: 2 });
  await lab.exec('H1', 'ip', ['route', 'add', 'default', 'via', h1.b.addr]);
  await lab.exec('H2', 'ip', ['route', 'add', 'default', 'via', h2.a.addr]);

  // Router name → its RIP-speaking links (the host-facing links are passive, redistributed).
  const core: Record<string, LinkInfo[]> = { B: [ab, bc], C: [bc, cd], D: [cd] };
  const endOf = (router: string, l: LinkInfo): string => (l.a.ns === lab.ns(router) ? l.a.ifname : l.b.ifname);
  const engines: Record<string, EngineInstance> = {};
  await Promise.all([
    lab.startEngine('A', { config: engineConfig('0.0.1', [ab.a.ifname]), startTimeoutMs: 30_000 }).then((e) => (engines.A = e)),
    ...['B', 'C', 'D'].map(async (r) => {
      const links = core[r]!;
      if (variant === 'engine') {
        engines[r] = await lab.startEngine(r, {
          config: engineConfig(
            '0.0.1',
            links.map((l) => endOf(r, l)),
          ),
          startTimeoutMs: 30_000,
        });
      } else if (variant === 'frr') {
        await lab.startFrrRip(r, { networks: links.map((l) => l.subnet), redistributeConnected: true, timers: TIMERS });
      } else {
        await lab.startBirdRip(r, { interfaces: links.map((l) => endOf(r, l)), timers: TIMERS });
      }
    }),
  ]);
  const conv = await Promise.all([lab.waitForRoute('A', '10.2.0.0/24', 60_000), lab.waitForRoute('D', '10.1.0.0/24', 60_000)]);
  if (!conv[0].route || !conv[1].route) throw new Error('the network did not converge within 60 s');
  const warm = await lab.ping('H1', h2.b.addr, { count: 5, intervalMs: 200 });
  say(
    `testbed: converged (A has H2's subnet after ${conv[0].elapsedMs} ms, D has H1's after ${conv[1].elapsedMs} ms); ${warm.received}/5 warm-up pings answered`,
  );

  const a = engines.A!;
  line(
    `Testbed: H1 - A - B - C - D - H2, router A = our engine (rip), B..D = ${variant === 'engine' ? 'our engine' : variant === 'frr' ? 'FRR ripd' : 'BIRD 2'}`,
  );
  line(
    `Timers: update ${SETTINGS.update} s (+/-50%), timeout ${SETTINGS.timeout} s, garbage ${SETTINGS.garbage} s; ping H1 -> H2 (${h2.b.addr}) every ${INTERVAL_MS} ms`,
  );
  line();

  // ---- 1. hot swap -------------------------------------------------------------------------
  const t1 = Date.now() / 1000;
  const ping1 = lab.startPing('H1', h2.b.addr, { intervalMs: INTERVAL_MS, maxDurationMs: 120_000 });
  await sleep(SETTLE_MS);
  const before = await ripRoutes(lab, 'A');
  const show1 = await a.cli('show', 'rip');
  const upgradeAt = Date.now() / 1000;
  const upgradeOut = await a.cli('upgrade', 'rip', '0.0.2');
  const upgradeMs = Date.now() - upgradeAt * 1000;
  const show2 = await a.cli('show', 'rip');
  const after = await ripRoutes(lab, 'A');
  await sleep(SETTLE_MS);
  const hot = await ping1.stop();

  line('== 1. Hot swap: hotswap upgrade rip 0.0.2 (router A keeps running) ==');
  line(upgradeOut.trimEnd());
  line(`CLI round trip: ${upgradeMs} ms`);
  line(`ping: ${describe(hot)}`);
  line();
  line('show rip before:');
  line(show1.trimEnd());
  line();
  line('show rip after:');
  line(show2.trimEnd());
  line();
  line(`Kernel routing table of A before the hot swap (${before.length} routes):`);
  for (const r of before) line(`  ${r}`);
  line(`Kernel routing table of A after the hot swap (${after.length} routes):`);
  for (const r of after) line(`  ${r}`);
  const equal = JSON.stringify(before) === JSON.stringify(after);
  line(`Routing tables before and after the hot swap are ${equal ? 'EQUAL' : 'DIFFERENT'}`);
  if (!equal) exitCode = 1;
  line();

  // ---- 2. classic restart ------------------------------------------------------------------
  // Same upgrade, the old way: back to 0.0.1 first (hot, not measured), then stop A's engine
  // (clean shutdown: it poisons its routes and withdraws them) and start it with 0.0.2.
  await a.cli('upgrade', 'rip', '0.0.1');
  const before2 = await ripRoutes(lab, 'A');
  const t2 = Date.now() / 1000;
  const ping2 = lab.startPing('H1', h2.b.addr, { intervalMs: INTERVAL_MS, maxDurationMs: 180_000 });
  await sleep(SETTLE_MS);
  const stopAt = Date.now() / 1000;
  await a.stop();
  const startAt = Date.now() / 1000;
  const a2 = await lab.startEngine('A', {
    config: engineConfig('0.0.2', [ab.a.ifname]),
    label: 'A-engine-restarted',
    startTimeoutMs: 30_000,
  });
  const readyAt = Date.now() / 1000;
  // Wait (bounded) until pings flow again, then as long again as before.
  const deadline = Date.now() + 120_000;
  const answeredAt = (): number => ping2.replies.filter((r) => r.at > readyAt).length;
  while (answeredAt() < 10 && Date.now() < deadline) await sleep(100);
  await sleep(SETTLE_MS);
  const restart = await ping2.stop();
  const after2 = await ripRoutes(lab, 'A');
  line("== 2. Classic restart: stop router A's engine, start it with 0.0.2 ==");
  line(
    `engine stopped in ${Math.round((startAt - stopAt) * 1000)} ms, new engine ready after ${Math.round((readyAt - startAt) * 1000)} ms`,
  );
  line(`ping: ${describe(restart)}`);
  line(
    `Kernel routing table of A before the restart (${before2.length} routes), after (${after2.length} routes): ${JSON.stringify(before2) === JSON.stringify(after2) ? 'EQUAL once relearned' : 'DIFFERENT'}`,
  );
  line();

  const stamp = variant === 'engine' ? '' : `-${variant}`;
  mkdirSync(values.out!, { recursive: true });
  const svgFile = join(values.out!, `testbed-timeline${stamp}.svg`);
  const panels: Panel[] = [
    {
      title: 'Hot swap (hotswap upgrade rip 0.0.2)',
      ping: hot,
      startedAt: firstSendTime(hot, t1),
      markers: [{ at: upgradeAt, label: 'upgrade 0.0.1 → 0.0.2' }],
    },
    {
      title: 'Classic restart (stop engine, start 0.0.2)',
      ping: restart,
      startedAt: firstSendTime(restart, t2),
      markers: [
        { at: stopAt, label: 'stop' },
        { at: readyAt, label: 'new engine ready' },
      ],
    },
  ];
  writeFileSync(
    svgFile,
    timelineSvg(panels, `Ping H1 → H2 (20/s) across router A's upgrade; B..D: ${variant === 'engine' ? 'our engine' : variant}`),
  );
  line(`Timeline: ${svgFile.slice(root.length + 1)}`);
  line(`Run took ${Math.round((Date.now() - started) / 1000)} s`);
  line(`hot-swap lost ${hot.lost} of ${hot.sent} pings; restart lost ${restart.lost} of ${restart.sent} pings`);
  writeFileSync(join(values.out!, `testbed-report${stamp}.txt`), `${report.join('\n')}\n`);
  void a2;
} catch (e) {
  exitCode = 1;
  console.error(`testbed failed: ${(e as Error).stack ?? e}`);
} finally {
  await lab.cleanup();
}
process.exit(exitCode);
