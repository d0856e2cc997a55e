/**
 * The test runner behind `npm test`: runs every test/*.test.ts in its own child process, a few at
 * a time, each under a deadline, and ends with one line `N passed, N failed, N skipped`.
 *
 *   tsx scripts/run-tests.ts [--jobs N] [--timeout S] [--quiet] [pattern ...]
 *
 * Why a runner and not `uvu test`: uvu runs every file in one process, one after the other, so a
 * test waiting for a reply that never comes hangs the whole suite. Here a file that overruns its
 * deadline has its process group killed and is reported as failed with its last output.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = join(root, 'test');

interface FileRule {
  /** Deadline in seconds, when the default does not fit. */
  timeoutS?: number;
  /** Run with no other test file at the same time, because the file measures timing. */
  alone?: boolean;
  /**
   * Run after the shared files, `jobs` at a time with the other files of the same group only:
   * files that keep daemons on fast timers or several engines busy, which tolerate each other
   * (each has its own namespaces, ports and servers) but not the CPU-heavy rest of the suite.
   */
  group?: string;
  why: string;
}

/**
 * Files that need more than the default deadline, run in a group, or must run alone. Every other file uses port 0
 * and per-process names (temp dirs, namespaces), so it can run beside any other.
 */
const RULES: Record<string, FileRule> = {
  'swaps-under-load.test.ts': { alone: true, why: 'measures swap pauses while clients keep sending' },
  'prepare-offthread.test.ts': { alone: true, why: 'measures the event-loop stall during prepare' },
  'control-latency.test.ts': { alone: true, why: 'measures latencies while a component floods a core' },
  'quota-corpus-bus-amplify.test.ts': { alone: true, why: 'asserts the control API p99 while a module attacks through its imports' },
  'quota-corpus-self-send.test.ts': { alone: true, why: 'asserts the control API p99 while a module attacks through its imports' },
  'quota-corpus-timer-storm.test.ts': { alone: true, why: 'asserts the control API p99 while a module attacks through its imports' },
  'quota-corpus-log-flood.test.ts': { alone: true, why: 'asserts the control API p99 while a module attacks through its imports' },
  'quota-corpus-huge-status.test.ts': { alone: true, why: 'asserts the control API p99 while a module attacks through its imports' },
  'quota-corpus-reply-udp.test.ts': { alone: true, why: 'asserts the control API p99 while a module attacks through its imports' },
  'quota-corpus-reply-tcp.test.ts': { alone: true, why: 'asserts the control API p99 while a module attacks through its imports' },
  'quota-corpus-wild.test.ts': { alone: true, why: 'asserts the control API p99 while a module attacks through its imports' },
  'quota-corpus-two.test.ts': { alone: true, why: 'asserts the control API p99 while a module attacks through its imports' },
  'authors-scaffold.test.ts': { timeoutS: 300, why: 'npm install and two release builds (asc -O3) in a project outside the repository' },
  'durability-kill.test.ts': {
    timeoutS: 480,
    why: '20 SIGKILLs of the real engine, each followed by a restart (3-5 s on a loaded machine)',
  },
  'durability-upgrade-kill.test.ts': { timeoutS: 300, why: 'three SIGKILLs and restarts of the real engine around CLI upgrades' },
  'fleet-rollout.test.ts': {
    group: 'fleet',
    timeoutS: 300,
    why: 'five engine processes and a nats-server; stage gates wait on probation and heartbeats',
  },
  'fleet-failures.test.ts': {
    group: 'fleet',
    timeoutS: 300,
    why: 'engine processes and a nats-server killed and restarted during rollouts',
  },
  'fleet-leaf.test.ts': {
    group: 'fleet',
    timeoutS: 240,
    why: 'a hub and a leaf nats-server with engine processes; the hub is stopped and restarted',
  },
  'rip-interop.test.ts': {
    alone: true,
    timeoutS: 240,
    why: 'asserts zero ping loss and no route flap across upgrades, with daemons on fast timers',
  },
  ...Object.fromEntries(
    [
      'rip-link-carrier',
      'rip-link-flap',
      'rip-mode-frr-passive',
      'rip-mode-bird-broadcast',
      'rip-auth-frr',
      'rip-auth-bird',
      'rip-auth-wrong-key',
      'rip-scale',
      'rip-auth-bird-sha256',
      'rip-kill',
    ].map((name) => [
      `${name}.test.ts`,
      {
        group: 'rip',
        timeoutS: 240,
        why: 'they assert zero ping loss or convergence bounds, with daemons on fast timers, each in its own namespaces',
      },
    ]),
  ),
};

interface Options {
  jobs: number;
  timeoutS: number;
  quiet: boolean;
  patterns: string[];
}

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
  /** Why the file failed as a whole (exit code, signal, deadline), if it did. */
  problem?: string;
  skipReasons: string[];
  output: string;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { jobs: 2, timeoutS: 120, quiet: false, patterns: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${arg} needs a positive whole number, got ${argv[i]}`);
      return n;
    };
    if (arg === '--jobs' || arg === '-j') options.jobs = value();
    else if (arg === '--timeout') options.timeoutS = value();
    else if (arg === '--quiet') options.quiet = true;
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg} (known: --jobs N, --timeout S, --quiet)`);
    else options.patterns.push(arg);
  }
  return options;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
const ANSI = /\u001b\[[0-9;]*m/g;

/** uvu prints `Total: N`, `Passed: N`, `Skipped: N` at the end of every file it runs. */
function parseSummary(output: string): { total: number; passed: number; skipped: number } | null {
  const text = output.replace(ANSI, '');
  const count = (label: string): number | null => {
    const m = new RegExp(`^\\s*${label}:\\s+(\\d+)\\s*$`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  const total = count('Total');
  const passed = count('Passed');
  const skipped = count('Skipped');
  return total === null || passed === null || skipped === null ? null : { total, passed, skipped };
}

/** Lines written by test/support/skip.ts: `# skip: <test>: <reason>`. */
const skipReasons = (output: string): string[] => [...output.replace(ANSI, '').matchAll(/^# skip: (.*)$/gm)].map((m) => m[1]!);

/** Signals the process group of each file still running, so Ctrl-C of the runner stops them too. */
type Running = Set<(signal: NodeJS.Signals) => void>;

function runFile(file: string, timeoutS: number, running: Running): Promise<FileResult> {
  const started = performance.now();
  // Own process group (detached), so the deadline can kill the file and whatever it started.
  // tsx, with binaryen kept away from it (scripts/loader/plain-binaryen.mjs: 10-13 s → 0.8 s a file).
  const child = spawn(process.execPath, ['--import', join(root, 'scripts/loader/register.mjs'), join(testDir, file)], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  let timedOut = false;
  // SIGTERM first, so a test's exit handlers can remove its namespaces; SIGKILL 5 s later.
  const deadline = setTimeout(() => {
    timedOut = true;
    signalGroup('SIGTERM');
    setTimeout(() => signalGroup('SIGKILL'), 5000).unref();
  }, timeoutS * 1000);
  running.add(signalGroup);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      running.delete(signalGroup);
      const summary = parseSummary(output);
      const result: FileResult = {
        file,
        passed: summary?.passed ?? 0,
        failed: summary ? summary.total - summary.passed : 0,
        skipped: summary?.skipped ?? 0,
        seconds: (performance.now() - started) / 1000,
        skipReasons: skipReasons(output),
        output,
      };
      if (timedOut) result.problem = `timed out after ${timeoutS} s`;
      else if (code !== 0) result.problem = signal ? `killed by ${signal}` : `exited with code ${code}`;
      else if (!summary) result.problem = 'printed no uvu summary (did it call test.run()?)';
      // A file that failed as a whole counts at least one failed test, even if uvu never said so.
      if (result.problem && result.failed === 0) result.failed = 1;
      resolve(result);
    });
  });
}

function report(result: FileResult, quiet: boolean): void {
  const status = result.problem || result.failed > 0 ? 'FAILED' : 'ok';
  const head = `── ${result.file}: ${status}${result.problem ? ` (${result.problem})` : ''}, ${result.seconds.toFixed(1)} s`;
  if (result.problem?.startsWith('timed out')) {
    const tail = result.output.replace(ANSI, '').trimEnd().split('\n').slice(-40).join('\n');
    console.log(`${head}\n   last output:\n${tail}\n`);
  } else if (status === 'FAILED' || !quiet) {
    console.log(`${head}\n${result.output.trimEnd()}\n`);
  } else {
    console.log(head);
  }
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const files = readdirSync(testDir)
    .filter((f) => f.endsWith('.test.ts'))
    .filter((f) => options.patterns.length === 0 || options.patterns.some((p) => f.includes(p) || new RegExp(p).test(f)))
    .sort();
  if (files.length === 0) throw new Error(`no test file matches ${options.patterns.join(' ')}`);
  const timeoutOf = (f: string): number => RULES[f]?.timeoutS ?? options.timeoutS;
  const alone = files.filter((f) => RULES[f]?.alone);
  const groups = new Map<string, string[]>();
  for (const f of files) {
    const group = RULES[f]?.alone ? undefined : RULES[f]?.group;
    if (group) groups.set(group, [...(groups.get(group) ?? []), f]);
  }
  // The long files first, so that one of them does not start last and run on alone.
  const shared = files
    .filter((f) => !RULES[f]?.alone && !RULES[f]?.group)
    .sort((a, b) => timeoutOf(b) - timeoutOf(a) || a.localeCompare(b));
  const results: FileResult[] = [];
  const finish = (r: FileResult): void => {
    results.push(r);
    report(r, options.quiet);
  };
  const started = performance.now();
  const running: Running = new Set();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const kill of running) kill('SIGTERM');
      process.exit(130);
    });
  }

  const runAll = async (list: string[]): Promise<void> => {
    const queue = [...list];
    const worker = async (): Promise<void> => {
      for (let f = queue.shift(); f !== undefined; f = queue.shift()) finish(await runFile(f, timeoutOf(f), running));
    };
    await Promise.all(Array.from({ length: Math.min(options.jobs, queue.length) }, worker));
  };
  // First the files that may share the machine, `jobs` at a time ...
  await runAll(shared);
  // ... then each group, `jobs` at a time among themselves ...
  for (const [group, list] of groups) {
    console.log(`(running the ${group} files ${options.jobs} at a time, with no other file: ${RULES[list[0]!]!.why})`);
    await runAll(list);
  }
  // ... then the timing-sensitive ones, one at a time, with nothing else running.
  for (const f of alone) {
    console.log(`(running ${f} alone: ${RULES[f]!.why})`);
    finish(await runFile(f, timeoutOf(f), running));
  }

  const sum = (key: 'passed' | 'failed' | 'skipped'): number => results.reduce((n, r) => n + r[key], 0);
  console.log('\nper file:');
  for (const r of [...results].sort((a, b) => b.seconds - a.seconds)) {
    const bad = r.problem ?? (r.failed ? `${r.failed} failed` : '');
    console.log(`  ${r.seconds.toFixed(1).padStart(6)} s  ${r.file}${bad ? `  FAILED: ${bad}` : ''}`);
  }
  const skips = results.flatMap((r) => r.skipReasons.map((reason) => `${r.file}: ${reason}`));
  if (skips.length > 0) console.log(`\nskipped:\n${skips.map((s) => `  ${s}`).join('\n')}`);
  console.log(`\nwall time ${((performance.now() - started) / 1000).toFixed(1)} s with --jobs ${options.jobs}\n`);
  console.log(`${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped`);
  return sum('failed') > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`run-tests: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  },
);
