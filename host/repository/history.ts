// The persistent history of every upgrade, rollback, refusal, fault and quota hits, per component.
import type { FaultRecord, QuotaRecord } from '../component/component.js';
import type { SwapReport } from '../component/swap.js';
import type { Db } from './database.js';

/**
 * What happened: a swap asked for as an upgrade or a rollback, a trap while handling an event,
 * or import calls over a quota (at most one entry per component and resource a minute).
 */
export type HistoryKind = 'upgrade' | 'rollback' | 'fault' | 'quota';
/**
 * A swap's result, 'rejected' when the module never got as far as a swap, 'trapped' for faults,
 * 'over_quota' for quota hits.
 */
export type HistoryResult = SwapReport['result'] | 'rejected' | 'trapped' | 'over_quota';

export interface HistoryEntry {
  id: number;
  component: string;
  at: string;
  kind: HistoryKind;
  from: string | null;
  to: string | null;
  result: HistoryResult;
  /** Why it failed, was rolled back, rejected or trapped; null for a success. */
  cause: string | null;
  pauseUs: number | null;
  queued: number | null;
  /** The full swap report or fault record. */
  detail: unknown;
}

interface Row {
  id: number;
  component: string;
  at: string;
  kind: HistoryKind;
  from_version: string | null;
  to_version: string | null;
  result: HistoryResult;
  cause: string | null;
  pause_us: number | null;
  queued: number | null;
  detail: string | null;
}

const fromRow = (r: Row): HistoryEntry => ({
  id: r.id,
  component: r.component,
  at: r.at,
  kind: r.kind,
  from: r.from_version,
  to: r.to_version,
  result: r.result,
  cause: r.cause,
  pauseUs: r.pause_us,
  queued: r.queued,
  detail: r.detail === null ? null : JSON.parse(r.detail),
});

/**
 * Every upgrade, rollback and failure of every component, in SQLite next to the repository, so
 * it outlives the engine process. Written synchronously when the swap finishes: the entry is on
 * disk before the control API answers.
 */
export class UpgradeHistory {
  readonly #insert;
  readonly #byComponent;
  readonly #lastUpgradeTo;
  readonly #forget;

  constructor(db: Db) {
    this.#insert = db.prepare(
      `INSERT INTO history (component, at, kind, from_version, to_version, result, cause, pause_us, queued, detail)
       VALUES (@component, @at, @kind, @from, @to, @result, @cause, @pauseUs, @queued, @detail)`,
    );
    this.#forget = db.prepare<[string]>('DELETE FROM history WHERE component = ?');
    this.#byComponent = db.prepare<[string, number], Row>('SELECT * FROM history WHERE component = ? ORDER BY id DESC LIMIT ?');
    this.#lastUpgradeTo = db.prepare<[string, string], Row>(
      `SELECT * FROM history WHERE component = ? AND kind = 'upgrade' AND result = 'ok' AND to_version = ?
       ORDER BY id DESC LIMIT 1`,
    );
  }

  #add(entry: Omit<HistoryEntry, 'id'>): HistoryEntry {
    const info = this.#insert.run({ ...entry, detail: entry.detail === null ? null : JSON.stringify(entry.detail) });
    return { id: Number(info.lastInsertRowid), ...entry };
  }

  recordSwap(report: SwapReport): HistoryEntry {
    return this.#add({
      component: report.component,
      at: report.at,
      kind: report.reason,
      from: report.from,
      to: report.to,
      result: report.result,
      cause: report.result === 'ok' ? null : [report.cause, report.rollbackError].filter(Boolean).join('; ') || null,
      pauseUs: report.pauseUs,
      queued: report.queued,
      detail: report,
    });
  }

  recordFault(fault: FaultRecord): HistoryEntry {
    return this.#add({
      component: fault.component,
      at: fault.at,
      kind: 'fault',
      from: fault.version,
      to: null,
      result: 'trapped',
      cause: `${fault.module}@${fault.version} trapped handling ${fault.event}: ${fault.error}`,
      pauseUs: null,
      queued: null,
      detail: fault,
    });
  }

  /** Quota hits of one resource since the previous entry (QuotaReports rate-limits them). */
  recordQuota(record: QuotaRecord): HistoryEntry {
    return this.#add({
      component: record.component,
      at: record.at,
      kind: 'quota',
      from: record.version,
      to: null,
      result: 'over_quota',
      cause:
        `${record.module ?? '?'}@${record.version ?? '?'}: ${record.hits} ${record.resource} quota hits` +
        (record.periodMs > 0 ? ` in the last ${Math.round(record.periodMs / 1000)} s` : '') +
        ` (${record.total} in all)`,
      pauseUs: null,
      queued: null,
      detail: record,
    });
  }

  /** An upgrade or rollback refused before any swap (unknown version, failed checks, damaged blob). */
  recordRejected(component: string, kind: 'upgrade' | 'rollback', from: string | null, to: string | null, cause: string): HistoryEntry {
    return this.#add({
      component,
      at: new Date().toISOString(),
      kind,
      from,
      to,
      result: 'rejected',
      cause,
      pauseUs: null,
      queued: null,
      detail: null,
    });
  }

  /** Drops every entry of a component (removed with its data); returns how many. */
  forget(component: string): number {
    return this.#forget.run(component).changes;
  }

  /** Newest first. */
  list(component: string, limit = 1000): HistoryEntry[] {
    return this.#byComponent.all(component, limit).map(fromRow);
  }

  /**
   * The version a rollback goes back to: the one the running version replaced in its latest
   * successful upgrade. Upgrades only, so repeated rollbacks walk back 3 → 2 → 1 instead of
   * toggling between the last two.
   */
  previousVersion(component: string, current: string): string | null {
    return this.#lastUpgradeTo.get(component, current)?.from_version ?? null;
  }
}
