/**
 * The Erlang/OTP peer's plumbing, shared by bench/peers/erlang.ts (the whole peer) and
 * bench/cases/migration.ts (its 1M-entry transforming upgrade, in rounds alternating with ours):
 * finding or installing `erl`/`erlc`, compiling kv_server.erl as vsn 1 and 2 plus peer_bench.erl
 * into a temp dir, and running peer_bench in a mode.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ERL_DIR = join(HERE, 'erlang');

export function log(msg: string): void {
  process.stderr.write(`[erlang-peer] ${msg}\n`);
}

function hasCommand(cmd: string): boolean {
  // `command -v` is POSIX and needs no extra package (unlike `which`).
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '';
}

export function run(cmd: string, args: string[], timeoutMs: number): SpawnSyncReturns<string> {
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
export function ensureErlang(): string | null {
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

/** The compiled peer in a temp dir: both kv_server versions and peer_bench. */
export class CompiledPeer {
  private constructor(
    readonly dir: string,
    readonly v1Beam: string,
    readonly v2Beam: string,
  ) {}

  /** Compiles into a fresh temp dir; throws with erlc's output when a compile fails. */
  static compile(): CompiledPeer {
    const work = mkdtempSync(join(tmpdir(), 'erlang-peer-'));
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
      if (c.status !== 0) {
        rmSync(work, { recursive: true, force: true });
        throw new Error(`erlc kv_server.erl (vsn ${vsn}) failed: ${c.stderr || c.stdout}`);
      }
    }
    const cb = run('erlc', ['-o', work, join(ERL_DIR, 'peer_bench.erl')], 120_000);
    if (cb.status !== 0) {
      rmSync(work, { recursive: true, force: true });
      throw new Error(`erlc peer_bench.erl failed: ${cb.stderr || cb.stdout}`);
    }
    return new CompiledPeer(work, join(v1, 'kv_server.beam'), join(v2, 'kv_server.beam'));
  }

  /** Runs `peer_bench:main([V1, V2 | mode])` and returns its output (stdout: the text lines). */
  bench(mode: readonly string[], timeoutMs: number): SpawnSyncReturns<string> {
    return run(
      'erl',
      ['-noshell', '-noinput', '-pa', this.dir, '-run', 'peer_bench', 'main', this.v1Beam, this.v2Beam, ...mode],
      timeoutMs,
    );
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The pauses of peer_bench's `SAMPLES <flavour> <label> ns…` line, in µs. */
export function pauseSamplesUs(stdout: string, flavour: string, label: string): number[] {
  for (const line of stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'SAMPLES' && f[1] === flavour && f[2] === label) return f.slice(3).map((ns) => Number(ns) / 1000);
  }
  return [];
}
