// The swap pause's part of the report (bench/cases/swap-pause.ts): its target rows (the pause by
// snapshot policy, and against Erlang's identity code_change) and its Markdown section (the
// pause by store size and policy, phase by phase, next to the swaps instantiated on the spot).
import type { Json, Pct, TargetRow } from './report.js';

const PAUSE_TARGET = 'median ≤ 25 µs, p99 ≤ 150 µs, the same with 1M keys as with none';
/** The phases shown per series: a swap has `activate` (instantiated ahead) or `instantiate`. */
const PHASES = ['snapshot', 'term', 'hold', 'instantiate', 'activate', 'bind', 'restart', 'drain'];

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const ok = (c: Json | undefined): c is Json => !!c && !('error' in c) && !('skipped' in c);
const why = (c: Json | undefined): string => (c ? String(c.error ?? c.skipped ?? '') : 'not run');
const us = (x: number | null | undefined): string =>
  x == null ? 'n/a' : x >= 10_000 ? `${(x / 1000).toFixed(1)} ms` : `${Math.round(x)} µs`;
const pp = (p: Pct | null | undefined): string => (p ? `p50 ${us(p.p50)}, p99 ${us(p.p99)}` : 'n/a');
const times = (x: number | null): string => (x == null ? 'n/a' : `${x >= 10 ? Math.round(x) : x.toFixed(2)}×`);

function table(head: string[], rows: (string | number)[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Our pause counts as "the same" with 1M keys when its median moved by ≤ 10 µs or ≤ 25%. */
export function sameMedian(a: number, b: number): boolean {
  return Math.abs(a - b) <= Math.max(10, 0.25 * Math.min(a, b));
}

/** The pause rows (one per snapshot policy) and the ratio to Erlang's identity code_change. */
export function swapTargets(cases: Json, h: { swap_pause_us: Pct | null; swap_pause_1m_keys_us: Pct | null }): TargetRow[] {
  const rows: TargetRow[] = [];
  const swap = ok(cases.swap_pause) ? cases.swap_pause : undefined;
  const series = (keys: number, policy: string): Json | undefined =>
    swap?.series?.find((s: Json) => s.keys === keys && s.policy === policy);
  for (const policy of ['incremental', 'always']) {
    const empty = series(0, policy);
    const big = series(1_000_000, policy);
    if (!empty || !big) {
      rows.push({
        measure: `Swap pause, precompiled, layout unchanged (snapshot '${policy}')`,
        target: PAUSE_TARGET,
        measured: `not measured: ${why(cases.swap_pause)}`,
        met: null,
      });
      continue;
    }
    const a = empty.pause_us as Pct;
    const b = big.pause_us as Pct;
    const spot = empty.on_the_spot?.pause_us as Pct | undefined;
    rows.push({
      measure: `Swap pause, precompiled, layout unchanged (snapshot '${policy}'${policy === 'incremental' ? ', the default' : ''})`,
      target: PAUSE_TARGET,
      measured:
        `empty: ${pp(a)}; 1M keys: ${pp(b)}${policy === 'always' ? ` (copies ${(big.snapshot_bytes / 1048576).toFixed(0)} MiB per swap)` : ''}` +
        (spot ? `; instantiated inside the pause instead (same run, empty): ${pp(spot)}` : ''),
      met: a.p50 <= 25 && a.p99 <= 150 && b.p50 <= 25 && b.p99 <= 150 && sameMedian(a.p50, b.p50),
    });
  }
  const erl = ok(cases.erlang) ? cases.erlang : undefined;
  const erlId0 = num(erl?.identity_pause_us?.n0?.p50);
  const erlId1m = num(erl?.identity_pause_us?.n1m?.p50);
  const ours0 = h.swap_pause_us?.p50 ?? null;
  const ours1m = h.swap_pause_1m_keys_us?.p50 ?? null;
  const r0 = erlId0 && ours0 ? erlId0 / ours0 : null;
  const r1m = erlId1m && ours1m ? erlId1m / ours1m : null;
  rows.push({
    measure: "Swap pause vs Erlang's identity code_change (same run)",
    target: '≥ 10× shorter',
    measured: erl
      ? `empty: ${us(ours0)} vs ${us(erlId0)} = ${times(r0)}; 1M entries: ${us(ours1m)} vs ${us(erlId1m)} = ${times(r1m)}`
      : `Erlang skipped: ${why(cases.erlang)}`,
    met: r0 != null && r1m != null ? r0 >= 10 && r1m >= 10 : null,
  });
  return rows;
}

/** The Markdown section of the swap pause case (empty when it did not run). */
export function swapPauseSection(sp: Json | undefined): string[] {
  if (!ok(sp)) return [];
  const out: string[] = ['', '## Swap pause by store size and snapshot policy (µs)', ''];
  out.push(
    'Upgrade event leaving the queue → the new module handled the GET that waited behind it. kv 1.0.0 ↔ 2.0.0, both prepared ' +
      'beforehand; the new instance created when the upgrade is requested and only activated in the pause. "on the spot": the same ' +
      'swaps, interleaved in the same run, with the instance created inside the pause.',
    '',
  );
  const phase = (s: Json, p: string): string => (s[p] ? `${s[p].p50}/${s[p].p99}` : '–');
  out.push(
    table(
      ['keys', 'snapshot policy', 'swaps', 'p50', 'p99', 'max', 'on the spot p50/p99', 'copied', ...PHASES.map((p) => `${p} p50/p99`)],
      (sp.series as Json[]).map((s) => [
        s.keys.toLocaleString('en'),
        s.policy,
        s.swaps,
        s.pause_us.p50,
        s.pause_us.p99,
        s.pause_us.max,
        s.on_the_spot ? `${s.on_the_spot.pause_us.p50}/${s.on_the_spot.pause_us.p99}` : '–',
        `${(s.snapshot_bytes / 1048576).toFixed(1)} MiB`,
        ...PHASES.map((p) => phase(s.phases_us, p)),
      ]),
    ),
  );
  if (Array.isArray(sp.migration)) {
    out.push('', '### Layout migration kv 2.0.0 (layout 1) → 3.0.0 (layout 2)', '');
    out.push(
      table(
        [
          'records',
          'snapshot policy',
          'result',
          'swaps',
          'pause p50',
          'pause p99',
          'migrate p50',
          'snapshot p50',
          'down (migrate_down) p50',
        ],
        (sp.migration as Json[]).map((x) =>
          x.error
            ? [x.keys.toLocaleString('en'), x.policy, `benchmark error: ${x.error}`, '', '', '', '', '', '']
            : [
                x.keys.toLocaleString('en'),
                x.policy,
                x.result === 'ok' ? 'ok' : `${x.result}: ${x.cause}`,
                x.up.swaps,
                us(x.up.pause_us.p50),
                us(x.up.pause_us.p99),
                us(x.up.phases_us.migrate?.p50),
                us(x.up.phases_us.snapshot?.p50 ?? 0),
                x.down ? us(x.down.pause_us.p50) : 'n/a',
              ],
        ),
      ),
    );
  } else {
    out.push('', `Layout migration: not measured (${sp.migration?.skipped}).`);
  }
  return out;
}
