/**
 * Turns the cases' JSON results into bench/results/latest.json (the headline keys plus every
 * detail) and latest.md (the target table first, then one table per measure).
 * Pure functions of the results, so the report can be regenerated from a saved latest.json.
 */

import { checkpointTargets, durabilityTargets } from './report-checkpoint.js';
import { fleetSection } from './report-fleet.js';
import { type MigrationHeadline, migrationHeadline, migrationTarget } from './report-migration.js';
import { swapPauseSection, swapTargets } from './report-swap.js';

/** Results as parsed from the cases' JSON lines: loosely typed on purpose, checked where read. */
// biome-ignore lint/suspicious/noExplicitAny: the cases' JSON is untyped data; every read site checks what it uses
export type Json = Record<string, any>;

export interface Pct {
  p50: number;
  p99: number;
}

export interface Headline extends MigrationHeadline {
  swap_pause_us: Pct | null;
  swap_pause_1m_keys_us: Pct | null;
  dispatch_events_per_s: number | null;
  dispatch_ratio_vs_js: number | null;
  udp_ratio_vs_dgram: number | null;
  upgrades_under_load: { upgrades: number; lost: number; duplicated: number; reordered: number } | null;
  fuel_overhead: number | null;
  erlang_identity_pause_us: Pct | null;
}

export interface TargetRow {
  measure: string;
  target: string;
  measured: string;
  met: boolean | null;
}

const pct = (x: Json | undefined | null): Pct | null =>
  x && typeof x.p50 === 'number' && typeof x.p99 === 'number' ? { p50: x.p50, p99: x.p99 } : null;
const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const ok = (c: Json | undefined): c is Json => !!c && !('error' in c) && !('skipped' in c);

export { sameMedian } from './report-swap.js';

export function headline(cases: Json): Headline {
  const swap = ok(cases.swap_pause) ? cases.swap_pause : undefined;
  const dispatch = ok(cases.dispatch) ? cases.dispatch : undefined;
  const udp = ok(cases.udp) ? cases.udp : undefined;
  const erlang = ok(cases.erlang) ? cases.erlang : undefined;
  const load = udp?.upgrades_under_load;
  return {
    swap_pause_us: pct(swap?.swap_pause_us),
    swap_pause_1m_keys_us: pct(swap?.swap_pause_1m_keys_us),
    dispatch_events_per_s: num(dispatch?.dispatch_events_per_s),
    dispatch_ratio_vs_js: num(dispatch?.dispatch_ratio_vs_js),
    udp_ratio_vs_dgram: num(udp?.udp_ratio_vs_dgram),
    upgrades_under_load: load ? { upgrades: load.upgrades, lost: load.lost, duplicated: load.duplicated, reordered: load.reordered } : null,
    fuel_overhead: num(dispatch?.fuel?.handler_overhead),
    erlang_identity_pause_us: pct(erlang?.identity_pause_us?.n0),
    ...migrationHeadline(cases.migration),
  };
}

const us = (x: number | null | undefined): string =>
  x == null ? 'n/a' : x >= 10_000 ? `${(x / 1000).toFixed(1)} ms` : `${Math.round(x)} µs`;
const pp = (p: Pct | null | undefined): string => (p ? `p50 ${us(p.p50)}, p99 ${us(p.p99)}` : 'n/a');
const times = (x: number | null): string => (x == null ? 'n/a' : `${x >= 10 ? Math.round(x) : x.toFixed(2)}×`);
const mps = (x: number | null | undefined): string => (x == null ? 'n/a' : `${(x / 1e6).toFixed(2)}M/s`);
const percent = (x: number | null | undefined): string => (x == null ? 'n/a' : `${(x * 100).toFixed(1)}%`);
const why = (c: Json | undefined): string => (c ? String(c.error ?? c.skipped ?? '') : 'not run');

export function targets(cases: Json, h: Headline): TargetRow[] {
  const rows: TargetRow[] = swapTargets(cases, h);
  const swap = ok(cases.swap_pause) ? cases.swap_pause : undefined;
  const erl = ok(cases.erlang) ? cases.erlang : undefined;
  const migs = Array.isArray(swap?.migration) ? (swap!.migration as Json[]).filter((m) => m.policy === 'incremental' && !m.error) : [];
  const mig = migs.find((m) => m.keys === 1_000_000);
  const erlT1m = num(erl?.transform_pause_us?.n1m?.p50);
  const migOk = mig?.result === 'ok';
  const migP50 = migOk ? num(mig?.up?.pause_us?.p50) : null;
  const rm = migP50 && erlT1m ? erlT1m / migP50 : null;
  // When 1M records don't fit, the largest size that did, per record, is shown beside it.
  const fit = migs.filter((m) => m.result === 'ok').sort((a, b) => b.keys - a.keys)[0];
  const perRecord = fit
    ? `${((fit.up.pause_us.p50 / fit.keys) * 1000).toFixed(0)} ns/record at ${fit.keys.toLocaleString('en')} records (${us(fit.up.pause_us.p50)})`
    : '';
  rows.push(
    migrationTarget(cases.migration) ?? {
      measure: 'Migration of 1M records (kv 2.0.0 → 3.0.0, snapshot taken)',
      target: "≥ 10× faster than Erlang's transforming code_change",
      measured: !mig
        ? `not measured: ${swap?.migration?.skipped ?? why(cases.swap_pause)}`
        : migOk
          ? `${us(migP50)} vs Erlang ${us(erlT1m)} = ${times(rm)}`
          : `could not run: ${mig.result} (${mig.cause}) after ${us(mig.up.pause_us.p50)}, store intact; ${perRecord}; Erlang 1M: ${us(erlT1m)}`,
      met: rm == null ? null : rm >= 10,
    },
  );
  const d = ok(cases.dispatch) ? cases.dispatch : undefined;
  rows.push({
    measure: 'Dispatch in process, 64-byte kv requests (queue + dispatch + Wasm)',
    target: '≥ 5M events/s and ≥ 1.5× the plain-JS handler behind the same queue',
    measured: d
      ? `${mps(h.dispatch_events_per_s)}, ${times(h.dispatch_ratio_vs_js)} the JS handler behind the same queue (${mps(d.events_per_s?.js_component)}; median of the per-round ratios over ${d.rounds} rounds, spread ${d.ratio_vs_js_rounds?.min}–${d.ratio_vs_js_rounds?.max}; per CPU second ${times(d.cpu_ratio_vs_js)})`
      : `not measured: ${why(cases.dispatch)}`,
    met:
      h.dispatch_events_per_s != null && h.dispatch_ratio_vs_js != null
        ? h.dispatch_events_per_s >= 5e6 && h.dispatch_ratio_vs_js >= 1.5
        : null,
  });
  const u = ok(cases.udp) ? cases.udp : undefined;
  rows.push({
    measure: 'UDP kv through the engine (50/50 GET/SET)',
    target: '≥ 0.9× the plain dgram server',
    measured: u
      ? `${times(h.udp_ratio_vs_dgram)} (${u.throughput?.mixed?.engine?.rps} vs ${u.throughput?.mixed?.dgram?.rps} req/s; CPU per request ${times(u.throughput?.mixed?.ratio_cpu_per_request)})`
      : `not measured: ${why(cases.udp)}`,
    met: h.udp_ratio_vs_dgram == null ? null : h.udp_ratio_vs_dgram >= 0.9,
  });
  const l = u?.upgrades_under_load;
  rows.push({
    measure: `Upgrades under load (${l ? l.upgrades.toLocaleString('en') : '1,000'} swaps at 80% of the max rate)`,
    target: '0 lost, 0 duplicated, 0 reordered',
    measured: l
      ? `${l.upgrades_ok}/${l.upgrades} swaps; lost ${l.lost} (kernel socket-buffer drops meanwhile: ${l.kernel_rcvbuf_drops ?? 'n/a'}), duplicated ${l.duplicated}, reordered ${l.reordered}, unexpected ${l.unexpected}; p99 ${us(l.latency_us?.during_swaps?.p99)} during swaps vs ${us(l.latency_us?.steady?.p99)} steady`
      : `not measured: ${why(cases.udp)}`,
    met: l ? l.lost === 0 && l.duplicated === 0 && l.reordered === 0 && l.unexpected === 0 && l.upgrades_ok === l.upgrades : null,
  });
  rows.push({
    measure: 'Fuel overhead on kv (Wasm handler, metered vs unmetered)',
    target: '≤ 15%',
    measured: d
      ? `${percent(h.fuel_overhead)} on the handler; ${percent(d.fuel?.component_overhead)} end to end through the component`
      : `not measured: ${why(cases.dispatch)}`,
    met: h.fuel_overhead == null ? null : h.fuel_overhead <= 0.15,
  });
  const q = ok(cases.quota_cost) ? cases.quota_cost : undefined;
  const qOverhead = num(q?.overhead);
  rows.push({
    measure: 'Quota checks on the kv request path (component with quotas vs without, batches interleaved)',
    target: '≤ 3%',
    measured: q
      ? `${percent(qOverhead)} (median of ${q.processes} processes; spread ${percent(q.overhead_spread?.min)} to ${percent(q.overhead_spread?.max)}; two components without quotas: ${(q.null_overhead ?? []).map(percent).join(', ')}; ${mps(q.events_per_s?.quotas)} vs ${mps(q.events_per_s?.none)}); the checks alone: ${q.gate_ns_per_event} ns per request = ${percent(q.gate_share)}`
      : `not measured: ${why(cases.quota_cost)}`,
    met: qOverhead == null ? null : qOverhead <= 0.03,
  });
  const cl = ok(cases.control_latency) ? cases.control_latency : undefined;
  rows.push({
    measure: 'Control API p99 while a component floods itself (GET /healthz)',
    target: '≤ 100 ms',
    measured: cl
      ? `${cl.healthz_ms.flooding.p99} ms flooding vs ${cl.healthz_ms.idle.p99} ms idle (${cl.rounds} idle and ${cl.rounds} flooding phases alternating; the flood handled ${cl.flood.handled_per_s.toLocaleString('en')} bus messages/s${cl.flood.scavenges_per_s != null ? `, the engine's scavenges meanwhile ${cl.flood.scavenges_per_s}/s taking ${cl.flood.scavenge_ms_per_s} ms/s` : ''})`
      : `not measured: ${why(cases.control_latency)}`,
    met: cl ? cl.healthz_ms.flooding.p99 <= 100 : null,
  });
  rows.push({
    measure: "A healthy component's UDP requests while another floods itself: extra p99",
    target: 'a few ms (≤ 3 ms)',
    measured: cl?.neighbour_kv_ms
      ? `+${cl.neighbour_extra_p99_ms} ms: p99 ${cl.neighbour_kv_ms.flooding.p99} ms flooding vs ${cl.neighbour_kv_ms.idle.p99} ms idle (${cl.neighbour_kv_ms.flooding.n} requests; per phase pair ${cl.neighbour_extra_p99_per_round_ms.join(', ')} ms; the flood ${cl.flood_lasted ? 'lasted every phase' : '**ended early**'})`
      : `not measured: ${why(cases.control_latency)}`,
    met: cl?.neighbour_kv_ms ? cl.flood_lasted === true && cl.neighbour_extra_p99_ms <= 3 : null,
  });
  rows.push(...durabilityTargets(cases.durability));
  rows.push(...checkpointTargets(cases.checkpoint));
  return rows;
}

const mark = (m: boolean | null): string => (m == null ? '—' : m ? 'yes' : '**no**');

function table(head: string[], rows: (string | number)[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function targetTable(rows: TargetRow[]): string {
  return table(
    ['Measure', 'Target', 'Measured', 'Met'],
    rows.map((r) => [r.measure, r.target, r.measured, mark(r.met)]),
  );
}

/** The whole Markdown report. */
export function markdown(result: Json): string {
  const c = result.cases as Json;
  const m = result.meta as Json;
  const out: string[] = [];
  out.push(`# Benchmark results${m.quick ? ' (quick smoke run: few repetitions, not for quoting)' : ''}`);
  out.push('');
  out.push(
    `${m.date}, Node ${m.node}, ${m.cpus} × ${m.cpu_model}, load average ${m.load_before} before / ${m.load_after} after, ${m.seconds} s. Generated by \`npm run bench${m.quick ? ' -- --quick' : ''}\` (bench/run.ts); see docs/PERFORMANCE.md for method and decisions.`,
  );
  if (Array.isArray(m.busy) && m.busy.length > 0)
    out.push(
      '',
      `**Warning: the machine was busy** (1-minute load average above 3/4 of the cores) during ${m.busy.join(', ')}; those numbers are not for quoting.`,
    );
  out.push('');
  out.push('## Targets');
  out.push('');
  out.push(targetTable(result.targets as TargetRow[]));
  out.push(...swapPauseSection(c.swap_pause));
  const d = c.dispatch;
  if (ok(d)) {
    out.push('', '## In-process dispatch, 64-byte kv requests (GET and SET alternating)', '');
    const rows: [string, string][] = [
      ['wasm_component', 'Component: queue → dispatch → inbox → kv (metered, the default) → reply'],
      ['wasm_component_unmetered', 'the same, kv without fuel metering'],
      ['wasm_component_single', 'the same, kv without its on_messages export: one inbox write and call per message'],
      ['js_component', 'the same EventQueue and drain, plain-JS kv handler (Map)'],
      ['wasm_instance', 'no queue: writeInbox + ModuleInstance.onMessage + real imports'],
      ['wasm_bare', 'kv export called in a loop, metered (no host glue)'],
      ['wasm_bare_unmetered', 'kv export called in a loop, unmetered'],
      ['wasm_call_floor', 'inbox copy + call of a trivial export (empty handler)'],
      ['js_bare', 'plain-JS kv handler called in a loop'],
    ];
    out.push(
      table(
        ['path', 'what runs', 'events/s', 'ns/event'],
        rows.map(([k, what]) => [k, what, mps(d.events_per_s[k]), d.ns_per_event[k]]),
      ),
    );
  }
  const u = c.udp;
  if (ok(u)) {
    out.push('', '## kv over UDP (separate server and load-generator processes, loopback)', '');
    out.push(
      table(
        ['mix', 'engine req/s', 'dgram req/s', 'ratio', 'engine CPU µs/req', 'dgram CPU µs/req', 'engine p50/p99', 'dgram p50/p99'],
        Object.entries(u.throughput as Json).map(([mix, t]) => [
          mix,
          t.engine.rps,
          t.dgram.rps,
          times(t.ratio_rps),
          t.engine.server_cpu_us_per_request,
          t.dgram.server_cpu_us_per_request,
          `${us(t.engine.latency_us.p50)}/${us(t.engine.latency_us.p99)}`,
          `${us(t.dgram.latency_us.p50)}/${us(t.dgram.latency_us.p99)}`,
        ]),
      ),
    );
    out.push('', '### Upgrades under load', '');
    out.push(
      table(
        [
          'upgrade path',
          'swaps',
          'rate',
          'sent',
          'lost',
          'kernel drops',
          'dup',
          'reordered',
          'unexpected',
          'keys kept',
          'pause p50/p99',
          'latency steady p50/p99',
          'latency during swaps p50/p99',
        ],
        [u.upgrades_under_load, u.upgrades_under_load_with_prepare]
          .filter(Boolean)
          .map((l: Json) => [
            l.mode === 'prepare' ? 'engine.upgrade() (prepare + swap)' : 'precompiled swap',
            `${l.upgrades_ok}/${l.upgrades}`,
            `${l.rate_rps}/s`,
            l.sent,
            l.lost,
            l.kernel_rcvbuf_drops ?? 'n/a',
            l.duplicated,
            l.reordered,
            l.unexpected,
            `${l.keys_after}/${l.keys_expected}`,
            `${us(l.pause_us.p50)}/${us(l.pause_us.p99)}`,
            `${us(l.latency_us.steady.p50)}/${us(l.latency_us.steady.p99)}`,
            `${us(l.latency_us.during_swaps.p50)}/${us(l.latency_us.during_swaps.p99)}`,
          ]),
      ),
    );
  }
  const s = c.safety;
  if (ok(s)) {
    out.push('', '## Costs of safety', '');
    out.push(
      table(
        ['persistent data', 'snapshot() p50/p99', 'restore() p50/p99', 'memcpy into a reused buffer p50'],
        (s.snapshot as Json[]).map((x) => [
          `${x.bytes / 1048576} MiB`,
          `${us(x.snapshot_us.p50)}/${us(x.snapshot_us.p99)}`,
          `${us(x.restore_us.p50)}/${us(x.restore_us.p99)}`,
          us(x.memcpy_into_reused_buffer_us.p50),
        ]),
      ),
    );
    const p = s.prepare as Json;
    out.push('', `Preparing kv (${p.module_bytes} bytes, ${p.metered_bytes} metered) before a swap, on the engine's event loop:`, '');
    out.push(
      table(
        ['step', 'p50', 'p99'],
        [
          ['binaryen inspection', us(p.inspect_us.p50), us(p.inspect_us.p99)],
          ['fuel metering (binaryen passes)', us(p.fuel_metering_us.p50), us(p.fuel_metering_us.p99)],
          ['WebAssembly.compile', us(p.compile_us.p50), us(p.compile_us.p99)],
          ['prepareModule, metered (default)', us(p.prepare_module_us.p50), us(p.prepare_module_us.p99)],
          ['prepareModule, unmetered', us(p.prepare_module_unmetered_us.p50), us(p.prepare_module_unmetered_us.p99)],
        ],
      ),
    );
  }
  const mem = c.memory;
  if (ok(mem)) {
    out.push('', '## Memory', '');
    out.push(
      table(
        ['measure', 'value'],
        [
          ['RSS per kv component (empty)', `${mem.rss_per_component_mib} MiB (${mem.components} components)`],
          ['RSS growth storing 1M keys', `${mem.rss_per_1m_keys_mib} MiB`],
          ['persistent bytes for 1M keys', `${mem.persistent_mib_1m_keys} MiB (${mem.persistent_bytes_per_key} B/key)`],
        ],
      ),
    );
  }
  out.push(...fleetSection(c.fleet));
  out.push('', '## Peers', '');
  const e = c.erlang;
  const n = c.node_restart;
  const peerRows: string[][] = [];
  if (ok(e)) {
    for (const flavour of ['identity', 'transform']) {
      for (const [label, size] of [
        ['n0', 'empty'],
        ['n10k', '10k'],
        ['n1m', '1M'],
      ]) {
        const x = e[`${flavour}_pause_us`]?.[label!];
        if (x) peerRows.push([`Erlang/OTP ${e.otp_release} gen_server, ${flavour} code_change, ${size} entries`, `${pp(x)}`]);
      }
    }
    peerRows.push(['Erlang messages lost during upgrades', String(e.lost)]);
  } else {
    peerRows.push(['Erlang/OTP', `skipped: ${why(e)}`]);
  }
  if (ok(n))
    peerRows.push([
      `Node process restart (${n.restarts} restarts)`,
      `p50 ${n.restart_ms.p50} ms, p99 ${n.restart_ms.p99} ms until it answers again; keys lost: ${n.keys_lost}`,
    ]);
  else peerRows.push(['Node process restart', `failed: ${why(n)}`]);
  out.push(table(['peer', 'result'], peerRows));
  const failed = Object.entries(c).filter(([, v]) => !ok(v as Json));
  if (failed.length) {
    out.push('', '## Not measured', '');
    for (const [k, v] of failed) out.push(`- ${k}: ${why(v as Json)}`);
  }
  out.push('');
  return out.join('\n');
}
