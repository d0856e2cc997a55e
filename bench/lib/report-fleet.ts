// The fleet section of bench/results/latest.md (bench/cases/fleet.ts, docs/FLEET.md): per fleet
// size, a rollout through NATS against upgrading the same engines one by one over HTTP, and the
// time from a fault on the canary to every node back on the stable version.
import type { Json } from './report.js';

/** The markdown lines of the section; none when the case did not run or failed ("Not measured" lists it). */
export function fleetSection(c: Json | undefined): string[] {
  if (!c || 'error' in c || 'skipped' in c) return [];
  const head = ['', '## Fleet rollouts over NATS JetStream', ''];
  const rows = (c.runs as Json[]).map((r) => [
    String(r.nodes),
    ms(r.rollout_all_on_version_ms),
    ms(r.rollout_done_ms),
    ms(r.http_one_by_one_ms),
    `${(r.http_over_rollout as number).toFixed(2)}×`,
    ms(r.fault_to_reverted_ms),
  ]);
  return [
    ...head,
    `${reps(c)} per size; the engines' probation window is ${c.probation_ms} ms, which every rollout's end waits for on every node.`,
    '',
    '| nodes | rollout: all on the candidate | rollout: done (probation passed) | HTTP, one by one | HTTP ÷ rollout | canary fault → all reverted |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

const ms = (v: unknown): string => (typeof v === 'number' ? `${Math.round(v)} ms` : 'n/a');

/** "Medians of 3 repetitions", or "One repetition" for a quick run. */
function reps(c: Json): string {
  const n = (c.runs as Json[])[0]?.repetitions;
  return n === 1 ? 'One repetition' : `Medians of ${n ?? '?'} repetitions`;
}
