// The crash-checkpoint rows of the benchmark's target table (bench/cases/checkpoint.ts,
// docs/CHECKPOINTS.md): the checkpoint pause under load and the recovery time.
import type { Json, TargetRow } from './report.js';

export function checkpointTargets(c: Json | undefined): TargetRow[] {
  const measured = c && !('error' in c) && !('skipped' in c) ? c : undefined;
  const why = `not measured: ${String(c?.error ?? c?.skipped ?? 'not run')}`;
  const p = measured?.pause;
  const r = measured?.recovery;
  return [
    {
      measure: `Checkpoint pause (request()) with ${p?.keys?.toLocaleString('en') ?? '1,000,000'} kv keys under load`,
      target: 'p99 ≤ 5 ms',
      measured: p
        ? `p50 ${p.pause_ms.p50} ms, p99 ${p.pause_ms.p99} ms wall (CPU p99 ${p.pause_cpu_ms?.p99 ?? 'n/a'} ms); longest write slice p99 ${p.max_slice_ms.p99} ms; ${p.checkpoints} checkpoints; SETs/s ${p.load.sets_per_s.ratio}× of none`
        : why,
      met: p ? p.pause_ms.p99 <= 5 : null,
    },
    {
      measure: `Recovery of ${r?.persistent_mib ?? 240} MiB from a checkpoint chain + 100k journal records (warm page cache)`,
      target: '< 1 s',
      measured: r
        ? `${r.ms.total.p50} ms (load ${r.ms.scan_and_check.p50}, restore ${r.ms.restore.p50}, shadow ${r.ms.shadow_sync.p50}, journal read ${r.ms.read_100k_journal_records?.p50 ?? 'n/a'}, replay ${r.ms.replay_100k_sets.p50}); a memcpy of the state took ${r.baseline_ms.memcpy_state} ms`
        : why,
      met: r ? r.ms.total.p50 < 1000 : null,
    },
  ];
}

/** The durability rows (bench/cases/durability.ts, docs/DURABILITY.md): kv over UDP at each setting. */
export function durabilityTargets(c: Json | undefined): TargetRow[] {
  const measured = c && !('error' in c) && !('skipped' in c) ? c : undefined;
  const why = `not measured: ${String(c?.error ?? c?.skipped ?? 'not run')}`;
  const setting = (name: string): Json | undefined => (measured?.settings as Json[] | undefined)?.find((s) => s.durability === name);
  const fsync = setting('fsync');
  const ratios = (s: Json | undefined): string =>
    s
      ? `\`${s.durability}\` ${s.ratio_vs_dgram.median}× dgram (${s.ratio_vs_dgram.min}–${s.ratio_vs_dgram.max}), ${s.ratio_vs_none.median}× none, +${s.added_median_latency_us.median} µs p50`
      : 'n/a';
  const load = measured ? ` (${measured.rounds} rounds, load ${measured.load_average.before} → ${measured.load_average.after})` : '';
  // The target is judged with each side saturated (docs/DURABILITY.md "Which load the target is
  // judged on"); the 32-in-flight ratio, which is latency-bound, is reported beside it.
  const saturated = (measured?.saturated?.settings as Json[] | undefined)?.find((s) => s.durability === 'fsync');
  return [
    {
      measure: `kv over UDP with \`fsync\` durability, against \`none\`, each saturated (${measured?.saturated?.window ?? '?'} in flight)`,
      target: '≥ 0.5×',
      measured: saturated
        ? `${saturated.ratio_vs_none.median}× (spread ${saturated.ratio_vs_none.min}–${saturated.ratio_vs_none.max})${load}`
        : why,
      met: saturated ? saturated.ratio_vs_none.median >= 0.5 : null,
    },
    {
      measure: 'the same with 32 in flight (latency-bound: throughput = 32 / latency)',
      target: 'reported, with the added median latency',
      measured: fsync
        ? `${fsync.ratio_vs_none.median}× (spread ${fsync.ratio_vs_none.min}–${fsync.ratio_vs_none.max}), +${fsync.added_median_latency_us.median} µs p50${load}`
        : why,
      met: null,
    },
    {
      measure: 'UDP kv against the plain dgram server at each durability setting',
      target: 'reported beside the `none` ratio',
      measured: measured ? ['none', 'os', 'fsync'].map((n) => ratios(setting(n))).join('; ') + load : why,
      met: null,
    },
  ];
}
