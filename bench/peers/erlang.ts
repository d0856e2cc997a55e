/**
 * Peer baseline: Erlang/OTP gen_server hot code upgrade.
 *
 *   node --import tsx bench/peers/erlang.ts [--quick]
 *
 * What it measures (the Erlang side is bench/peers/erlang/peer_bench.erl):
 *  - the pause of an in-place upgrade of a gen_server holding N map entries
 *    (N = 0, 10k, 1M): sys:suspend, code:load_binary of the other version of
 *    the module (compiled ahead of time, different -vsn), sys:change_code,
 *    sys:resume; timed with erlang:monotonic_time(nanosecond) from just before
 *    the suspend to just after the resume. Two flavours: `identity`
 *    code_change (state handed over untouched) and `transform` (every entry
 *    rewritten);
 *  - that no message is lost: a client process sends a cast and a call per
 *    iteration all through the upgrades and checks every reply, and at the end
 *    the server's cast counter must equal the number of casts sent;
 *  - the gen_server call throughput (calls/s) with one and two clients.
 *
 * Needs `erl` and `erlc`. On Debian both come with the `erlang-base` package
 * (it also carries the compiler application; erlang-dev is only C headers).
 * If they are missing and we are root, this installs erlang-base with apt-get;
 * otherwise it prints {"skipped": reason}.
 *
 * The last stdout line is a single JSON object; progress goes to stderr.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { round, type Summary, summarize } from './stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ERL_DIR = join(HERE, 'erlang');
const quick = process.argv.includes('--quick');

function log(msg: string): void {
  process.stderr.write(`[erlang-peer] ${msg}\n`);
}

function hasCommand(cmd: string): boolean {
  // `command -v` is POSIX and needs no extra package (unlike `which`).
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '';
}

function run(cmd: string, args: string[], timeoutMs: number): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/**
 * apt-get, retried while another apt/dpkg holds the lock (another install can
 * be running on a shared machine). Bounded: at most 30 tries, 10 s apart, each
 * try capped in time, so this cannot hang forever.
 */
function aptGet(args: string[]): SpawnSyncReturns<string> {
  let r: SpawnSyncReturns<string> | undefined;
  for (let attempt = 1; attempt <= 30; attempt++) {
    r = run('apt-get', ['-o', 'DPkg::Lock::Timeout=120', ...args], 15 * 60_000);
    const locked = /Could not get lock|Unable to lock|Unable to acquire the dpkg/.test(r.stderr ?? '');
    if (r.status === 0 || !locked) return r;
    log(`apt-get ${args.join(' ')}: lock held by another process, retry ${attempt}/30 in 10 s`);
    spawnSync('sleep', ['10']);
  }
  return r!;
}

/** Returns null when erl/erlc are usable, otherwise the reason to skip. */
function ensureErlang(): string | null {
  if (hasCommand('erl') && hasCommand('erlc')) return null;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return 'erl/erlc not found and not root, cannot apt-get install erlang-base';
  }
  if (!hasCommand('apt-get')) return 'erl/erlc not found and no apt-get';
  log('erl/erlc missing: apt-get update && apt-get install -y erlang-base');
  const upd = aptGet(['update']);
  if (upd.status !== 0) return `apt-get update failed: ${(upd.stderr ?? '').trim().slice(-300)}`;
  const inst = aptGet(['install', '-y', 'erlang-base']);
  if (inst.status !== 0) return `apt-get install erlang-base failed: ${(inst.stderr ?? '').trim().slice(-300)}`;
  if (!(hasCommand('erl') && hasCommand('erlc'))) return 'erlang-base installed but erl/erlc still missing';
  return null;
}

function skip(reason: string): never {
  console.log(JSON.stringify({ skipped: reason }));
  process.exit(0);
}

function main(): void {
  const reason = ensureErlang();
  if (reason) skip(reason);

  // Compile into a temp dir so the repo stays clean. kv_server is compiled
  // twice, as vsn 1 and vsn 2: the two versions the upgrade alternates between.
  const work = mkdtempSync(join(tmpdir(), 'erlang-peer-'));
  try {
    const v1 = join(work, 'v1');
    const v2 = join(work, 'v2');
    mkdirSync(v1);
    mkdirSync(v2);
    const src = join(ERL_DIR, 'kv_server.erl');
    for (const [out, vsn] of [
      [v1, '1'],
      [v2, '2'],
    ] as const) {
      const c = run('erlc', ['-o', out, `-DVSN=${vsn}`, src], 120_000);
      if (c.status !== 0) skip(`erlc kv_server.erl (vsn ${vsn}) failed: ${c.stderr || c.stdout}`);
    }
    const cb = run('erlc', ['-o', work, join(ERL_DIR, 'peer_bench.erl')], 120_000);
    if (cb.status !== 0) skip(`erlc peer_bench.erl failed: ${cb.stderr || cb.stdout}`);

    log(`running peer_bench (${quick ? 'quick' : 'full'}); the 1M-entry cases take a while`);
    const t0 = Date.now();
    // Hard cap of 20 minutes: the full run takes about a minute on 2 cores.
    const r = run(
      'erl',
      [
        '-noshell',
        '-noinput',
        '-pa',
        work,
        '-run',
        'peer_bench',
        'main',
        join(v1, 'kv_server.beam'),
        join(v2, 'kv_server.beam'),
        quick ? 'quick' : 'full',
      ],
      20 * 60_000,
    );
    log(`peer_bench finished in ${((Date.now() - t0) / 1000).toFixed(1)} s, exit ${r.status}`);
    if (r.status !== 0 || r.error) {
      skip(`peer_bench failed (exit ${r.status}, ${r.error?.message ?? ''}): ${(r.stdout + r.stderr).trim().slice(-2000)}`);
    }
    console.log(JSON.stringify(parse(r.stdout)));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

type ByN = Record<string, Summary>;

function parse(out: string): Record<string, unknown> {
  const info: Record<string, string> = {};
  const pause: Record<string, ByN> = { identity: {}, transform: {} };
  const purge: Record<string, ByN> = { identity: {}, transform: {} };
  const client = { calls_sent: 0, calls_ok: 0, casts_sent: 0, casts_seen: 0 };
  const checks: Record<string, Record<string, number>> = {};
  const throughput: Record<string, number> = {};

  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    switch (f[0]) {
      case 'INFO':
        info[f[1]!] = f.slice(2).join(' ');
        break;
      case 'SAMPLES': // ns -> µs
        pause[f[1]!]![f[2]!] = summarize(f.slice(3).map((x) => Number(x) / 1000));
        break;
      case 'PURGE':
        purge[f[1]!]![f[2]!] = summarize(f.slice(3).map((x) => Number(x) / 1000));
        break;
      case 'CLIENT': {
        const [cs, co, xs, xc] = f.slice(3).map(Number) as [number, number, number, number];
        client.calls_sent += cs;
        client.calls_ok += co;
        client.casts_sent += xs;
        client.casts_seen += xc;
        break;
      }
      case 'CHECK':
        (checks[`${f[1]}_${f[2]}`] ??= {})[f[3]!] = Number(f[4]);
        break;
      case 'THROUGHPUT': {
        const clients = Number(f[1]);
        const calls = Number(f[2]);
        const secs = Number(f[3]) / 1e9;
        throughput[clients === 1 ? 'calls_per_s' : `calls_per_s_${clients}_clients`] = Math.round(calls / secs);
        break;
      }
      default:
        break;
    }
  }

  const lost = client.calls_sent - client.calls_ok + (client.casts_sent - client.casts_seen);
  const transformOk = Object.values(checks).every((c) => c.generation === c.generation_expected);
  const onlyP = (m: ByN) => Object.fromEntries(Object.entries(m).map(([k, s]) => [k, { p50: s.p50, p99: s.p99, count: s.count }]));
  return {
    peer: 'erlang-otp-gen_server',
    mode: quick ? 'quick' : 'full',
    otp_release: info.otp_release,
    erts_version: info.erts_version,
    schedulers_online: Number(info.schedulers_online),
    identity_pause_us: pause.identity,
    transform_pause_us: pause.transform,
    // Purging the previous version's code, done before each upgrade and not
    // part of the pause above (but part of what an OTP upgrade costs).
    purge_before_upgrade_us: { identity: onlyP(purge.identity!), transform: onlyP(purge.transform!) },
    calls_per_s: throughput.calls_per_s,
    calls_per_s_2_clients: throughput.calls_per_s_2_clients,
    lost,
    client_during_upgrades: client,
    entries_rewritten_check_ok: transformOk,
    pause_ms_headline: {
      identity_n0_p50: round((pause.identity!.n0?.p50 ?? NaN) / 1000, 3),
      transform_n10k_p50: round((pause.transform!.n10k?.p50 ?? NaN) / 1000, 3),
      transform_n1m_p50: round((pause.transform!.n1m?.p50 ?? NaN) / 1000, 1),
    },
  };
}

main();
