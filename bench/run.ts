/**
 * `npm run bench [-- --quick] [-- --only a,b] [-- --update-readme]`: every benchmark
 * (docs/PERFORMANCE.md), each in its own process, then bench/results/latest.json and latest.md
 * (partial.json and partial.md for a run of some cases with --only, which leaves latest.* alone).
 * With --update-readme (only then, so a run leaves the working tree's README alone) it also
 * rewrites the README block between `<!-- bench:start -->` and `<!-- bench:end -->`.
 *
 * The full run takes about 10 minutes on 2 cores; --quick is a smoke run of about 1–2 minutes
 * whose numbers are not for quoting. A case that fails or is skipped is reported with its
 * reason; the others still run. Method and decisions: docs/PERFORMANCE.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { instrumentationMarkdown } from './cases/instrumentation.js';
import { BENCH_DIR, runJson } from './lib/child.js';
import { load1 } from './lib/kernel.js';
import { headline, type Json, markdown, targets, targetTable } from './lib/report.js';

interface Case {
  name: string;
  script: string;
  /** Extra Node flags. */
  flags?: string[];
  /** Wall-clock limit for the case, full / quick. */
  limitS: [number, number];
}

const CASES: Case[] = [
  { name: 'swap_pause', script: 'cases/swap-pause.ts', flags: ['--expose-gc'], limitS: [600, 180] },
  { name: 'dispatch', script: 'cases/dispatch.ts', flags: ['--expose-gc'], limitS: [600, 180] },
  { name: 'quota_cost', script: 'cases/quota-cost.ts', flags: ['--expose-gc'], limitS: [600, 180] },
  { name: 'udp', script: 'cases/udp.ts', limitS: [900, 300] },
  { name: 'durability', script: 'cases/durability.ts', limitS: [600, 240] },
  { name: 'safety', script: 'cases/safety.ts', flags: ['--expose-gc'], limitS: [300, 120] },
  { name: 'instrumentation', script: 'cases/instrumentation.ts', limitS: [300, 120] },
  { name: 'memory', script: 'cases/memory.ts', flags: ['--expose-gc'], limitS: [300, 120] },
  { name: 'control_latency', script: 'cases/control-latency.ts', limitS: [180, 90] },
  { name: 'checkpoint', script: 'cases/checkpoint.ts', limitS: [600, 180] },
  { name: 'erlang', script: 'peers/erlang.ts', limitS: [1800, 1800] }, // may apt-get install erlang-base first
  { name: 'migration', script: 'cases/migration.ts', flags: ['--expose-gc'], limitS: [900, 300] }, // after erlang: it may have installed erl
  { name: 'node_restart', script: 'peers/node-restart.ts', limitS: [300, 120] },
  { name: 'fleet', script: 'cases/fleet.ts', limitS: [600, 180] }, // needs nats-server; skipped without
];

const RESULTS = join(BENCH_DIR, 'results');
const README = join(BENCH_DIR, '..', 'README.md');
const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

function argList(name: string): string[] | null {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? '').split(',').filter(Boolean) : null;
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: BENCH_DIR, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

/** Replaces the README's benchmark block, only between existing markers; true when it did. */
function updateReadme(block: string): boolean {
  if (!existsSync(README)) return false;
  const text = readFileSync(README, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) return false;
  writeFileSync(README, `${text.slice(0, a + START.length)}\n${block}\n${text.slice(b)}`);
  return true;
}

/**
 * The cases that ran while the machine had other work: a 1-minute load average above 3/4 of the
 * cores before or after the case. Their absolute numbers are not to be quoted; ratios against a
 * baseline measured interleaved in the same case hold up better, but not always.
 */
function busyCases(loads: Record<string, [number, number]>): string[] {
  const limit = cpus().length * 0.75;
  return Object.entries(loads)
    .filter(([, [before, after]]) => Math.max(before, after) > limit)
    .map(([name]) => name);
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const only = argList('--only');
  const unknown = only?.filter((n) => !CASES.some((c) => c.name === n)) ?? [];
  if (unknown.length) throw new Error(`--only: unknown case(s) ${unknown.join(', ')}; known: ${CASES.map((c) => c.name).join(', ')}`);
  const started = performance.now();
  const loadBefore = load1();
  const cases: Json = {};
  const seconds: Record<string, number> = {};
  /** The 1-minute load average before and after each case: which numbers were taken on a busy machine. */
  const loads: Record<string, [number, number]> = {};
  for (const c of CASES) {
    if (only && !only.includes(c.name)) continue;
    const t0 = performance.now();
    const caseLoad = load1();
    process.stderr.write(`\n=== ${c.name} (${c.script}${quick ? ' --quick' : ''})\n`);
    try {
      cases[c.name] = await runJson(c.script, quick ? ['--quick'] : [], c.limitS[quick ? 1 : 0] * 1000, c.flags ?? []);
    } catch (e) {
      cases[c.name] = { error: (e as Error).message };
    }
    seconds[c.name] = Math.round((performance.now() - t0) / 100) / 10;
    loads[c.name] = [caseLoad, load1()];
    process.stderr.write(`=== ${c.name}: ${seconds[c.name]} s\n`);
  }
  const h = headline(cases);
  const result: Json = {
    ...h,
    dirty_tracking_overhead: cases.instrumentation?.dirty_tracking_overhead ?? null,
    meta: {
      date: new Date().toISOString(),
      quick,
      node: process.version,
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model ?? 'unknown',
      load_before: loadBefore,
      load_after: load1(),
      seconds: Math.round((performance.now() - started) / 1000),
      seconds_per_case: seconds,
      load_per_case: loads,
      busy: busyCases(loads),
      commit: gitCommit(),
    },
    targets: targets(cases, h),
    cases,
  };
  mkdirSync(RESULTS, { recursive: true });
  const md = markdown(result) + instrumentationMarkdown(cases.instrumentation);
  // A run of some cases (--only) must not replace the last full run's record: it goes beside it.
  const base = only ? 'partial' : 'latest';
  writeFileSync(join(RESULTS, `${base}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(RESULTS, `${base}.md`), md);
  const readme =
    !only &&
    process.argv.includes('--update-readme') &&
    updateReadme(
      `${targetTable(result.targets)}\n\n_${quick ? 'Quick smoke run' : 'Full run'} of ${result.meta.date.slice(0, 10)}; details in bench/results/latest.md._`,
    );
  process.stderr.write(
    `\nwrote bench/results/${base}.json and ${base}.md${readme ? ' and the README block' : ''} in ${result.meta.seconds} s\n\n`,
  );
  process.stdout.write(`${targetTable(result.targets)}\n`);
  if (result.meta.busy.length > 0)
    process.stderr.write(
      `\nWARNING: the machine was busy (load average above ${cpus().length * 0.75}) during: ${result.meta.busy.join(', ')}; ` +
        'their numbers are not for quoting (bench/results/latest.json meta.load_per_case)\n',
    );
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
