/** The swap procedure (paper, section 2.2) made transactional, and the report it produces. */
import { DIRTY_PAGE_SHIFT, HEADER_OFFSET } from '../abi/abi.js';
import type { DirtyPageCheckpoint } from '../abi/checkpoint.js';
import type { PersistentMemory, PersistentSnapshot } from '../abi/memory.js';
import type { PreparedModule } from '../modules/prepared.js';
import { CallbackTrap, type ModuleInstance, type TrapKind } from './instance.js';
import type { TimerSnapshot } from './timers.js';

/** The phases of a swap, in the order they run (a report lists the ones that ran). */
export const SWAP_PHASES = [
  'snapshot',
  'term',
  'hold',
  'migrate_down',
  'instantiate',
  'activate',
  'bind',
  'migrate',
  'restart',
  'drain',
] as const;
export type SwapPhase = (typeof SWAP_PHASES)[number];

const DIRTY_PAGE_BYTES = 1 << DIRTY_PAGE_SHIFT;

export interface SwapReport {
  component: string;
  /** Module name (as stored in the repository), so a history entry stands on its own. */
  module: string;
  from: string | null;
  to: string;
  reason: 'upgrade' | 'rollback';
  result: 'ok' | 'rolled_back' | 'failed';
  /** Why it was rolled back or failed, naming the phase and module. */
  cause?: string;
  /** The phase that failed, and why the module trapped in it (when it trapped). */
  failedPhase?: SwapPhase;
  trap?: TrapKind;
  /** Set when the component started this swap by itself: the probation verdict that caused it. */
  automatic?: string;
  /** From the upgrade event leaving the queue to the new module being live (and, when events
   * were waiting, having handled the first of them), in microseconds. */
  pauseUs: number;
  phasesUs: Partial<Record<SwapPhase, number>>;
  /** Events that were waiting in the queue behind the upgrade when it finished. */
  queued: number;
  /** Bytes of persistent memory copied for the rollback snapshot (0 when disabled). */
  snapshotBytes: number;
  layout: { from: number | null; to: number };
  /** When the rollback itself could not restart the old version. */
  rollbackError?: string;
  at: string;
}

/**
 * How the rollback copy of persistent memory is kept (docs/SAFETY.md):
 * - 'incremental' (default): a dirty-page checkpoint; a swap copies only the pages written since
 *   the last idle sync, so its cost does not grow with the data;
 * - 'always': a full copy of the bytes in use before every swap;
 * - 'migrations': a full copy only when the data layout changes;
 * - 'never': no copy; a failed swap can only restart the old module over what is there.
 */
export type SnapshotPolicy = 'incremental' | 'always' | 'migrations' | 'never';

/** What the swap needs from its component; kept small so the procedure reads on its own. */
export interface SwapTarget {
  readonly name: string;
  readonly memory: PersistentMemory;
  readonly snapshotPolicy: SnapshotPolicy;
  /** The component's dirty-page checkpoint when the policy is 'incremental'. */
  readonly checkpoint: DirtyPageCheckpoint | null;
  /** The live instance; null only before the first module was loaded. */
  current(): ModuleInstance | null;
  /** Creates an instance of `module` wired to this component's host services, activated. */
  instantiate(module: PreparedModule): ModuleInstance;
  /**
   * The instance of `module` created ahead of the swap (ModuleInstance with activation
   * deferred), handed over once, or null: the swap then instantiates on the spot.
   */
  takeAhead?(module: PreparedModule): ModuleInstance | null;
  /** Makes `instance` the one the dispatcher calls (re-binds the callbacks). */
  bind(instance: ModuleInstance | null): void;
  /** The component's timer table: snapshotted before TERM, restored exactly by a rollback. */
  readonly timers?: { snapshot(): TimerSnapshot; restore(snapshot: TimerSnapshot): void };
}

export class SwapFailure extends Error {
  readonly trap: TrapKind | undefined;

  constructor(
    readonly phase: SwapPhase,
    readonly module: PreparedModule,
    cause: unknown,
  ) {
    // A CallbackTrap already names the module and callback.
    super(
      cause instanceof CallbackTrap
        ? `${phase} failed: ${cause.message}`
        : `${phase} of ${module.name}@${module.version} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.trap = cause instanceof CallbackTrap ? cause.kind : undefined;
    this.name = 'SwapFailure';
  }
}

/**
 * The paper's upgrade procedure (section 2.2), made transactional:
 *   snapshot → TERM → HOLD → [migrate_down on the old module] → drop the old instance →
 *   activate the new one (instantiated ahead, while the old one served; else instantiated now)
 *   → bind → [migrate on the new module] → RESTART.
 * Any trap or failure after the snapshot restores the persistent bytes exactly, instantiates the
 * old module again and restarts it, so the running version keeps serving.
 * Runs synchronously: no other event can be dispatched in between.
 */
export function swapModule(target: SwapTarget, next: PreparedModule, reason: SwapReport['reason']): SwapReport {
  const wallMs = Date.now();
  return stampReport(runSwap(target, next, reason), wallMs);
}

/**
 * The report's time, `wallMs` (Date.now() when the swap started) as ISO 8601. SwapRunner calls
 * it once the pause is over (PauseClock): formatting costs ~1 µs, which the pause does not need.
 */
export function stampReport(report: SwapReport, wallMs: number): SwapReport {
  report.at = new Date(wallMs).toISOString();
  return report;
}

/** swapModule without the report's time (`at` is '' until stampReport). */
export function runSwap(target: SwapTarget, next: PreparedModule, reason: SwapReport['reason']): SwapReport {
  const laps = new Laps();
  const old = target.current();
  const header = target.memory.header();
  const fromLayout = header.initialised ? header.layoutVersion : null;
  const layoutChanges = fromLayout !== null && fromLayout !== next.layoutVersion;
  const report: SwapReport = {
    component: target.name,
    module: next.name,
    from: old ? old.module.version : null,
    to: next.version,
    reason,
    result: 'ok',
    pauseUs: 0,
    phasesUs: laps.phasesUs,
    queued: 0,
    snapshotBytes: 0,
    layout: { from: fromLayout, to: next.layoutVersion },
    at: '',
  };

  // The rollback copy. With the checkpoint, syncing copies only the pages written since the
  // last idle sync; rolling back copies back only the pages this swap wrote. (A value, not a
  // closure: under tsx each named closure made costs a defineProperty too.)
  let restore: 'checkpoint' | PersistentSnapshot | null = null;
  const checkpoint = target.checkpoint;
  if (checkpoint && !next.dirtyTracking) {
    report.result = 'rolled_back';
    report.cause = `${next.name}@${next.version} was prepared without dirty-page tracking, which this component's rollback copy needs`;
    report.pauseUs = laps.elapsedUs();
    return report;
  }
  if (header.initialised && checkpoint) {
    report.snapshotBytes = checkpoint.sync() * DIRTY_PAGE_BYTES;
    restore = 'checkpoint';
    laps.lap('snapshot');
  } else if (header.initialised && (target.snapshotPolicy === 'always' || (target.snapshotPolicy === 'migrations' && layoutChanges))) {
    restore = target.memory.snapshot();
    report.snapshotBytes = restore.bytes.length;
    laps.lap('snapshot');
  }
  // Timers are component state too: whatever TERM, HOLD or a failed RESTART set or cancelled is
  // undone with the bytes (docs/SAFETY.md, "Timers and rollback").
  const timersBefore = target.timers?.snapshot();
  try {
    if (old) {
      laps.run('term', old.module, () => old.term());
      laps.run('hold', old.module, () => old.hold());
      if (layoutChanges && fromLayout !== null && next.layoutVersion < fromLayout) {
        // Downgrade across a layout change: the NEWER (outgoing) module knows both layouts.
        laps.run('migrate_down', old.module, () => checkCode('migrate_down', old.migrateDown(next.layoutVersion)));
      }
    }
    target.bind(null); // drop the old instance: nothing can call it any more
    target.memory.ensurePages(next.minPages);
    // Created ahead, it has written nothing yet: its data segments and top-level code run now,
    // after TERM and HOLD, exactly where instantiation used to run them.
    const ahead = target.takeAhead?.(next) ?? null;
    const instance = ahead
      ? laps.run('activate', next, () => ahead.activate())
      : laps.run('instantiate', next, () => target.instantiate(next));
    laps.run('bind', next, () => target.bind(instance));
    if (!header.initialised) {
      laps.run('restart', next, () => checkCode('init', instance.init()));
    } else {
      const layoutNow = target.memory.header().layoutVersion;
      if (layoutNow < next.layoutVersion) {
        if (!next.hasMigrate)
          throw new SwapFailure(
            'migrate',
            next,
            new Error(`data is at layout ${layoutNow}, module expects ${next.layoutVersion} and has no migrate export`),
          );
        laps.run('migrate', next, () => checkCode('migrate', instance.migrate(layoutNow)));
      } else if (layoutNow > next.layoutVersion) {
        throw new SwapFailure(
          'migrate',
          next,
          new Error(
            `data is at layout ${layoutNow}, newer than the module's ${next.layoutVersion}, and the outgoing module did not migrate it down`,
          ),
        );
      }
      laps.run('restart', next, () => checkCode('restart', instance.restart()));
    }
    target.memory.bumpGeneration();
    checkpoint?.markHostWrite(HEADER_OFFSET);
  } catch (e) {
    report.result = 'rolled_back';
    report.cause = e instanceof Error ? e.message : String(e);
    if (e instanceof SwapFailure) {
      report.failedPhase = e.phase;
      if (e.trap) report.trap = e.trap;
    }
    target.bind(null);
    if (restore === 'checkpoint') checkpoint!.rollback();
    else if (restore) target.memory.restore(restore);
    if (timersBefore) target.timers!.restore(timersBefore);
    if (old) {
      try {
        const again = target.instantiate(old.module);
        target.bind(again);
        checkCode('restart', again.restart());
      } catch (e2) {
        target.bind(null);
        report.result = 'failed';
        report.rollbackError = `rollback to ${old.module.version} failed: ${e2 instanceof Error ? e2.message : String(e2)}`;
      }
    } else {
      report.result = 'failed';
    }
  }
  report.pauseUs = laps.elapsedUs();
  return report;
}

/** Throws when a module callback returned a non-zero code. */
function checkCode(what: string, code: number): void {
  if (code !== 0) throw new Error(`${what} returned ${code}`);
}

/**
 * The swap's phase clock. A class rather than closures made per swap: under tsx every named
 * closure is also wrapped in a `defineProperty` call (its `__name`), which the pause paid for.
 */
class Laps {
  readonly phasesUs: SwapReport['phasesUs'] = {};
  readonly #started = performance.now();
  #mark = this.#started;

  /** Ends `phase` now: its time is from the previous lap. */
  lap(phase: SwapPhase): void {
    const now = performance.now();
    this.phasesUs[phase] = Math.round((now - this.#mark) * 1000);
    this.#mark = now;
  }

  /** Runs one phase; a throw becomes the SwapFailure that names it. */
  run<T>(phase: SwapPhase, module: PreparedModule, fn: () => T): T {
    let value: T;
    try {
      value = fn();
    } catch (e) {
      throw new SwapFailure(phase, module, e);
    }
    this.lap(phase);
    return value;
  }

  /** Microseconds since the swap started. */
  elapsedUs(): number {
    return Math.round((performance.now() - this.#started) * 1000);
  }
}
