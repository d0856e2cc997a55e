// How the CLI prints what the control API answers: swap reports, status, versions and history as
// text for a person (`--json` prints the raw answer instead).
import type { ComponentStatus } from '../component/component.js';
import type { SwapReport } from '../component/swap.js';
import type { HistoryEntry } from '../repository/history.js';
import type { ModuleVersion } from '../repository/store.js';

export const kib = (n: number): string => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`);

export function formatReport(r: SwapReport): string {
  const phases = Object.entries(r.phasesUs)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `${r.component}: ${r.reason === 'rollback' ? 'rollback ' : ''}${r.from ?? '(none)'} -> ${r.to} ${r.result}\n` +
    (r.cause ? `  cause: ${r.cause}\n` : '') +
    `  pause: ${r.pauseUs} µs\n` +
    `  events queued during the swap: ${r.queued}\n` +
    `  phases (µs): ${phases}\n` +
    (r.layout.from !== r.layout.to ? `  data layout: ${r.layout.from} -> ${r.layout.to}\n` : '')
  );
}

export function formatStatus(s: ComponentStatus): string {
  const h = s.handled;
  return (
    `${s.name}: ${s.module}@${s.version} ${s.state}\n` +
    `  queue depth: ${s.queueDepth}${s.dropped > 0 ? `, ${s.dropped} events dropped (queue full)` : ''}\n` +
    `  events handled: ${h.message} messages, ${h.timer} timers, ${h.signal} signals, ${h.upgrade} upgrades\n` +
    `  faults: ${s.faults}, timers set: ${s.timers}, persistent bytes: ${s.persistentBytes}\n` +
    quotaLine(s) +
    (s.lastUpgrade
      ? `  last upgrade: ${s.lastUpgrade.from} -> ${s.lastUpgrade.to} ${s.lastUpgrade.result} (${s.lastUpgrade.pauseUs} µs)\n`
      : '')
  );
}

/** The quota hits by resource, when there were any ("quota hits: logLines 18000, sends 3"). */
function quotaLine(s: ComponentStatus): string {
  const hits = Object.entries(s.quotaHits ?? {}).filter(([, n]) => n > 0);
  if (hits.length === 0) return '';
  return `  quota hits: ${hits.map(([r, n]) => `${r} ${n}`).join(', ')} (${s.quotaViolations} callbacks over a quota)\n`;
}

export function formatVersion(v: ModuleVersion): string {
  return (
    `${v.version} sha256 ${v.sha256.slice(0, 12)}… ${kib(v.size)}, ABI ${v.abiVersion ?? '?'}, layout ${v.layoutVersion ?? '?'}, ` +
    `${v.signature ? 'signed' : 'unsigned'}`
  );
}

/** Aligned columns, like `wrangler versions list` or `docker images`. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    `${cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()}\n`;
  return line(header) + rows.map(line).join('');
}

export function formatVersions(list: (ModuleVersion & { running: boolean })[]): string {
  if (list.length === 0) return '(no versions stored)\n';
  return table(
    ['', 'VERSION', 'SHA256', 'SIZE', 'ABI', 'LAYOUT', 'UPLOADED', 'BY', 'SIGNED'],
    list.map((v) => [
      v.running ? '*' : '',
      v.version,
      v.sha256.slice(0, 12),
      kib(v.size),
      String(v.abiVersion ?? '?'),
      String(v.layoutVersion ?? '?'),
      v.uploadedAt,
      v.uploadedBy,
      v.signature ? 'yes' : 'no',
    ]),
  );
}

export function formatHistory(list: HistoryEntry[]): string {
  if (list.length === 0) return '(no history yet)\n';
  return table(
    ['AT', 'KIND', 'FROM', 'TO', 'RESULT', 'PAUSE_US', 'QUEUED', 'CAUSE'],
    list.map((h) => [
      h.at,
      h.kind,
      h.from ?? '-',
      h.to ?? '-',
      h.result,
      h.pauseUs === null ? '-' : String(h.pauseUs),
      h.queued === null ? '-' : String(h.queued),
      h.cause ?? '',
    ]),
  );
}
