// The 1M-record migration's headline keys and target row (bench/cases/migration.ts: ours and
// Erlang's transforming code_change in alternating rounds; docs/PERFORMANCE.md, "Migration").
import type { Json, TargetRow } from './report.js';

export interface MigrationHeadline {
  migration_1m_ms: number | null;
  erlang_transform_1m_ms: number | null;
  migration_1m_ratio_vs_erlang: number | null;
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const ran = (c: Json | undefined): c is Json => !!c && !('error' in c) && !('skipped' in c);

export function migrationHeadline(c: Json | undefined): MigrationHeadline {
  return {
    migration_1m_ms: ran(c) ? num(c.migration_1m_ms) : null,
    erlang_transform_1m_ms: ran(c) ? num(c.erlang_transform_1m_ms) : null,
    migration_1m_ratio_vs_erlang: ran(c) ? num(c.migration_1m_ratio_vs_erlang) : null,
  };
}

/** The target row from the migration case, or null when it did not run (the caller falls back). */
export function migrationTarget(c: Json | undefined): TargetRow | null {
  if (!ran(c)) return null;
  const r = c.ratio_per_round;
  const erlang = c.erlang?.skipped ? `Erlang skipped: ${c.erlang.skipped}` : `Erlang ${c.erlang_transform_1m_ms} ms`;
  return {
    measure: "Migration of 1M records (kv 2.0.0 → 3.0.0, in place) vs Erlang's transforming code_change, alternating rounds",
    target: '≥ 10× faster',
    measured:
      `pause ${c.migration_1m_ms} ms (total with the rollback copy's catch-up ${c.up?.total_ms?.p50} ms, down ${c.down?.pause_ms?.p50} ms); ${erlang}` +
      (r ? `; ratio median ${r.p50}× over ${r.count} rounds (${r.min}–${r.max}×); load ${c.load?.before}–${c.load?.after}` : ''),
    met: num(c.migration_1m_ratio_vs_erlang) == null ? null : c.migration_1m_ratio_vs_erlang >= 10,
  };
}
