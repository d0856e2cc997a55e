/**
 * THE rule for where a rollback goes. The operator's rollback (engine.rollback, from the CLI or
 * the HTTP API) and the automatic rollback after a failed probation both ask it:
 *  1. the version named, when one is;
 *  2. else the version the running one replaced in its last successful upgrade, kept prepared in
 *     memory: no repository round trip, and it works for modules uploaded as bytes and never
 *     stored (and it is what lets an automatic rollback run before the next waiting event);
 *  3. else the history's previousVersion(component, running): the version the running one
 *     replaced in the newest successful upgrade to it (after an engine restart, or after a
 *     rollback: upgrades only, so repeated rollbacks walk back 3 → 2 → 1 instead of toggling);
 *  4. else NotFound.
 */
import type { SwapReport } from '../component/swap.js';
import type { PreparedModule } from '../modules/prepared.js';
import { NotFound } from '../repository/repository.js';
import type { UpgradeLog } from './attempts.js';

/** Where a rollback goes: a module still prepared in memory, or a version to fetch. */
export type RollbackTarget = { module: PreparedModule } | { version: string };

export class RollbackRule {
  readonly #history: Pick<UpgradeLog, 'previousVersion'> | undefined;
  /** Per component: the version its last successful upgrade went to, and the module it replaced. */
  readonly #replaced = new Map<string, { to: string; module: PreparedModule }>();

  constructor(history: Pick<UpgradeLog, 'previousVersion'> | undefined) {
    this.#history = history;
  }

  /** A swap finished; `replaced` is the module it took out (null unless it succeeded). */
  noteSwap(report: SwapReport, replaced: PreparedModule | null): void {
    if (report.result === 'ok' && report.reason === 'upgrade' && replaced) {
      this.#replaced.set(report.component, { to: report.to, module: replaced });
    }
  }

  /** Where a rollback of `component`, now running `running`, goes; throws NotFound. */
  target(component: string, running: string | null, named?: string): RollbackTarget {
    if (named !== undefined) return { version: named };
    const last = this.#replaced.get(component);
    if (last && running !== null && last.to === running) return { module: last.module };
    const previous = running !== null ? (this.#history?.previousVersion(component, running) ?? null) : null;
    if (previous !== null) return { version: previous };
    throw new NotFound(`a previous version of ${component} to roll back to`);
  }

  forget(component: string): void {
    this.#replaced.delete(component);
  }
}
