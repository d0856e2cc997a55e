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
import { CompiledPeer, ensureErlang, log } from './erlang-peer.js';
import { round, type Summary, summarize } from './stats.js';

const quick = process.argv.includes('--quick');

function skip(reason: string): never {
  console.log(JSON.stringify({ skipped: reason }));
  process.exit(0);
}

function main(): void {
  const reason = ensureErlang();
  if (reason) skip(reason);

  // Compiled into a temp dir so the repo stays clean: kv_server twice, as vsn 1 and vsn 2, the
  // two versions the upgrade alternates between.
  let peer: CompiledPeer;
  try {
    peer = CompiledPeer.compile();
  } catch (e) {
    skip((e as Error).message);
  }
  try {
    log(`running peer_bench (${quick ? 'quick' : 'full'}); the 1M-entry cases take a while`);
    const t0 = Date.now();
    // Hard cap of 20 minutes: the full run takes about a minute on 2 cores.
    const r = peer.bench([quick ? 'quick' : 'full'], 20 * 60_000);
    log(`peer_bench finished in ${((Date.now() - t0) / 1000).toFixed(1)} s, exit ${r.status}`);
    if (r.status !== 0 || r.error) {
      skip(`peer_bench failed (exit ${r.status}, ${r.error?.message ?? ''}): ${(r.stdout + r.stderr).trim().slice(-2000)}`);
    }
    console.log(JSON.stringify(parse(r.stdout)));
  } finally {
    peer.remove();
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
