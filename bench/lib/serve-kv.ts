/**
 * A kv server in its own process, for the socket benchmarks (measures 3 and 4): either the
 * engine (Engine.start with one kv component on a UDP port 0) or the plain-Node dgram baseline
 * (bench/peers/dgram-kv-server.ts), so both are driven and measured the same way.
 *
 *   node --import tsx bench/lib/serve-kv.ts --impl engine|dgram [--durability none|os|fsync]
 *
 * With --durability the engine keeps kv's journal (a temporary data directory) at that setting
 * (docs/DURABILITY.md); without it, the engine runs as an embedded one does: no journal.
 *
 * Prints `listening <port>`, then answers commands read from stdin, one per line, each with one
 * `result <json>` line on stdout (the engine's own log lines may appear in between):
 *   cpu-reset                    start a CPU-time measurement
 *   cpu                          {user_us, system_us, wall_ms} since cpu-reset
 *   count                        number of keys stored
 *   upgrades N PERIOD_MS MODE    engine only: N upgrades alternating kv 1.0.0 ↔ 2.0.0, one every
 *                                PERIOD_MS; MODE `precompiled` swaps modules prepared once at
 *                                start (the swap alone), `prepare` goes through engine.upgrade()
 *                                (fetch, check, fuel metering, compile, warm-up, then the swap).
 *                                Returns each swap's window on the machine-wide monotonic clock.
 *   quit                         stop and exit
 * Bounded: exits by itself after --max-seconds (default 600).
 */
import { createInterface } from 'node:readline';
import type { SwapReport } from '../../host/component/swap.js';
import type { Durability } from '../../host/durability/levels.js';
import type { Engine } from '../../host/engine.js';
import type { PreparedModule } from '../../host/modules/prepared.js';
import { type KvServer, startKvServer } from '../peers/dgram-kv-server.js';
import { summarize } from '../peers/stats.js';
import { monotonicUs } from '../peers/udp-load.js';
import { prepareKv, request, startKvEngine } from './kv-engine.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const impl = arg('--impl', 'engine');
const durability = arg('--durability', '');
const maxSeconds = Number(arg('--max-seconds', '600'));
const say = (kind: string, value: unknown): void =>
  void process.stdout.write(`${kind} ${typeof value === 'string' ? value : JSON.stringify(value)}\n`);

interface Server {
  port: number;
  count(): Promise<number>;
  upgrades?(n: number, periodMs: number, mode: string): Promise<unknown>;
  close(): Promise<void>;
}

async function engineServer(): Promise<Server> {
  let swapStartUs = 0;
  const level = durability === '' ? undefined : (durability as Durability);
  const engine: Engine = await startKvEngine(
    [{ name: 'kv', listen: [{ proto: 'udp', host: '127.0.0.1', port: 0 }], ...(level ? { durability: level } : {}) }],
    {
      // The swap starts when the upgrade event leaves the queue: the one moment #dispatch sees it.
      tap: { beforeDispatch: (_c, event) => void (event.kind === 'upgrade' && (swapStartUs = monotonicUs())) },
      ...(level ? { durable: true } : {}),
    },
  );
  const component = engine.component('kv');
  const modules: PreparedModule[] = [await prepareKv(engine, 'kv', '1.0.0'), await prepareKv(engine, 'kv', '2.0.0')];
  return {
    port: engine.addresses('kv')[0]!.port,
    count: async () => Number(await request(component, 'COUNT')),
    upgrades: async (n, periodMs, mode) => {
      const windows: [number, number][] = [];
      const reports: SwapReport[] = [];
      const prepareMs: number[] = [];
      for (let i = 0; i < n; i++) {
        const next = modules[(i + 1) % 2]!;
        const due = performance.now() + periodMs;
        let report: SwapReport;
        if (mode === 'prepare') {
          const t0 = performance.now();
          report = await engine.upgrade('kv', { version: next.version });
          prepareMs.push(performance.now() - t0 - report.pauseUs / 1000);
        } else {
          report = await component.upgrade(next);
        }
        reports.push(report);
        windows.push([swapStartUs, swapStartUs + report.pauseUs]);
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      return {
        mode,
        upgrades: n,
        ok: reports.filter((r) => r.result === 'ok').length,
        pause_us: summarize(
          reports.map((r) => r.pauseUs),
          0,
        ),
        queued_behind_upgrade: summarize(
          reports.map((r) => r.queued),
          0,
        ),
        ...(prepareMs.length ? { prepare_ms: summarize(prepareMs, 2) } : {}),
        windows,
      };
    },
    close: () => engine.stop(),
  };
}

async function dgramServer(): Promise<Server> {
  const server: KvServer = await startKvServer({ port: 0 });
  return { port: server.port, count: async () => server.size(), close: () => server.close() };
}

async function main(): Promise<void> {
  const server = impl === 'engine' ? await engineServer() : impl === 'dgram' ? await dgramServer() : null;
  if (!server) throw new Error(`--impl must be engine or dgram, not ${impl}`);
  const safety = setTimeout(() => void server.close().then(() => process.exit(2)), maxSeconds * 1000);
  let cpu0 = process.cpuUsage();
  let wall0 = performance.now();
  say('listening', String(server.port));
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, ...args] = line.trim().split(/\s+/);
    if (cmd === 'cpu-reset') {
      cpu0 = process.cpuUsage();
      wall0 = performance.now();
      say('result', {});
    } else if (cmd === 'cpu') {
      const d = process.cpuUsage(cpu0);
      say('result', { user_us: d.user, system_us: d.system, wall_ms: performance.now() - wall0 });
    } else if (cmd === 'count') {
      say('result', { count: await server.count() });
    } else if (cmd === 'upgrades' && server.upgrades) {
      say('result', await server.upgrades(Number(args[0]), Number(args[1]), args[2] ?? 'precompiled'));
    } else if (cmd === 'quit') {
      break;
    } else {
      say('result', { error: `unknown command ${line}` });
    }
  }
  clearTimeout(safety);
  await server.close();
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`serve-kv: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
