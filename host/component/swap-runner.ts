/**
 * Queues swaps as events and runs them when their turn comes (gen_server style): one swap in
 * flight at a time, the transactional procedure of swap.ts, the state and probation that
 * follow, the timer table an upgrade's rollback puts back, and the hand-over to the PauseClock
 * that finishes the report.
 */
import type { DirtyPageCheckpoint } from '../abi/checkpoint.js';
import type { PersistentMemory } from '../abi/memory.js';
import type { Logger } from '../log.js';
import type { PreparedModule } from '../modules/prepared.js';
import type { Dispatcher } from './dispatcher.js';
import type { UpgradeEvent } from './events.js';
import type { ModuleInstance } from './instance.js';
import type { Instantiator } from './instantiator.js';
import type { PauseClock } from './pause-clock.js';
import type { Probation } from './probation.js';
import { runSwap, type SnapshotPolicy, type SwapReport, type SwapTarget } from './swap.js';
import type { TimerSnapshot, TimerTable } from './timers.js';

/** The timer table just before an upgrade from `from` to `to`: what rolling it back restores. */
interface UpgradeUndo {
  from: string;
  to: string;
  timers: TimerSnapshot;
}

/** Upgrades whose timer tables are kept for a rollback (3 → 2 → 1 walks back this far). */
const UNDO_DEPTH = 16;

export class UpgradeInProgress extends Error {
  constructor(readonly component: string) {
    super(`an upgrade of ${component} is already in progress`);
    this.name = 'UpgradeInProgress';
  }
}

export class SwapRunner {
  readonly #name: string;
  readonly #memory: PersistentMemory;
  readonly #snapshotPolicy: SnapshotPolicy;
  readonly #checkpoint: DirtyPageCheckpoint | null;
  readonly #dispatcher: Dispatcher;
  readonly #instantiator: Instantiator;
  readonly #pause: PauseClock;
  readonly #probation: Probation | null;
  readonly #log: Logger;
  readonly #timers: TimerTable;
  readonly #hooks: { started(): void; finished(): void };
  readonly #undo: UpgradeUndo[] = [];
  #inFlight = false;
  /**
   * The queued swap's new instance, created when the swap was requested (Instantiator.createAhead):
   * instantiating takes ~20 µs that would otherwise sit inside the pause. Taken by the swap, or
   * dropped when it ends, so no instance outlives its swap.
   */
  #ahead: { module: PreparedModule; instance: ModuleInstance } | null = null;
  /** Why the queued swap was started by the component itself (probation), for its report. */
  #automatic: string | undefined;
  #upgrades = 0;
  #last: SwapReport | null = null;
  /**
   * What swapModule sees of this component, made once: building it (and its closures) for every
   * swap was ~1 µs of the pause, several under tsx, which wraps each named closure it makes.
   */
  readonly #target: SwapTarget;
  /** The timer table the running swap snapshotted before TERM (null until it did). */
  #timersTaken: TimerSnapshot | null = null;

  constructor(options: {
    name: string;
    memory: PersistentMemory;
    snapshotPolicy: SnapshotPolicy;
    checkpoint: DirtyPageCheckpoint | null;
    dispatcher: Dispatcher;
    instantiator: Instantiator;
    pause: PauseClock;
    probation: Probation | null;
    log: Logger;
    timers: TimerTable;
    /**
     * Told when a swap starts and when its report is done (after probation began and the swap
     * is no longer in flight): FaultRecovery judges the quota violations of TERM and RESTART then.
     */
    hooks?: { started(): void; finished(): void };
  }) {
    this.#name = options.name;
    this.#memory = options.memory;
    this.#snapshotPolicy = options.snapshotPolicy;
    this.#checkpoint = options.checkpoint;
    this.#dispatcher = options.dispatcher;
    this.#instantiator = options.instantiator;
    this.#pause = options.pause;
    this.#probation = options.probation;
    this.#log = options.log;
    this.#timers = options.timers;
    this.#hooks = options.hooks ?? { started: () => {}, finished: () => {} };
    const dispatcher = this.#dispatcher;
    const table = this.#timers;
    this.#target = {
      name: this.#name,
      memory: this.#memory,
      snapshotPolicy: this.#snapshotPolicy,
      checkpoint: this.#checkpoint,
      current: () => dispatcher.instance,
      instantiate: (m) => this.#instantiator.create(m),
      takeAhead: (m) => {
        const ahead = this.#ahead;
        this.#ahead = null;
        return ahead && ahead.module === m ? ahead.instance : null;
      },
      bind: (instance) => dispatcher.bind(instance),
      timers: {
        snapshot: () => (this.#timersTaken = table.snapshot()),
        restore: (snapshot) => table.restore(snapshot),
      },
    };
  }

  get inFlight(): boolean {
    return this.#inFlight;
  }
  /** Successful swaps so far. */
  get upgrades(): number {
    return this.#upgrades;
  }
  get last(): SwapReport | null {
    return this.#last;
  }

  /**
   * Queues a swap to `module` behind the events already waiting. Resolves with the swap report
   * once the new module runs and the events queued meanwhile were dispatched. `automatic` (the
   * probation verdict) marks a rollback the component asked for: it jumps the queue, so that no
   * waiting event meets the version judged faulty.
   */
  request(module: PreparedModule, reason: SwapReport['reason'], automatic?: string): Promise<SwapReport> {
    if (this.#inFlight) return Promise.reject(new UpgradeInProgress(this.#name));
    this.#inFlight = true;
    return new Promise((resolve) => {
      const event: UpgradeEvent = {
        kind: 'upgrade',
        module,
        reason,
        done: (report) => {
          this.#inFlight = false;
          this.#hooks.finished();
          resolve(report);
        },
      };
      this.#automatic = automatic; // one swap in flight at a time: run() puts it in the report
      this.#ahead = this.#instantiateAhead(module);
      // A failed component has no module to run the waiting events: its recovery goes first.
      if (this.#dispatcher.state === 'failed' || automatic !== undefined) this.#dispatcher.enqueueFirst(event);
      else this.#dispatcher.enqueue(event);
    });
  }

  /**
   * The new instance, created now while the running module keeps serving: a prepared module's
   * instantiation writes no memory and runs no code (modules/activation.ts). When it fails (or
   * would not be safe), the swap instantiates on the spot and meets the same failure there,
   * where it is rolled back and reported as before.
   */
  #instantiateAhead(module: PreparedModule): { module: PreparedModule; instance: ModuleInstance } | null {
    try {
      const instance = this.#instantiator.createAhead(module);
      return instance ? { module, instance } : null;
    } catch {
      return null;
    }
  }

  /** Runs the swap of `event` now (the dispatcher's turn has come to it). */
  run(event: UpgradeEvent): void {
    const { module, reason, done } = event;
    const dispatcher = this.#dispatcher;
    const started = performance.now();
    const wallMs = Date.now(); // the report's time, formatted once the pause is over
    const wasFailed = dispatcher.state === 'failed';
    const previousModule = dispatcher.module;
    dispatcher.state = 'upgrading';
    this.#hooks.started();
    this.#timersTaken = null;
    const report = runSwap(this.#target, module, reason);
    const timersTaken = this.#timersTaken;
    this.#timersTaken = null;
    this.#ahead = null; // a swap refused before it instantiated leaves it unused: drop it
    dispatcher.state = dispatcher.instance ? 'running' : 'failed';
    let replaced: PreparedModule | null = null;
    if (report.result === 'ok') {
      this.#upgrades++;
      replaced = dispatcher.module === module ? previousModule : null;
      if (reason === 'upgrade' && replaced) this.#probation?.begin(module.version);
      else this.#probation?.end();
      if (replaced && timersTaken) this.#keepOrRevertTimers(reason, replaced.version, module.version, timersTaken);
    } else {
      this.#log.error(
        `${reason} to ${module.version} ${report.result}: ${report.cause}${report.rollbackError ? `; ${report.rollbackError}` : ''}`,
      );
    }
    if (wasFailed && dispatcher.state === 'running') this.#log.info(`recovered by loading ${module.version}`);
    if (this.#automatic !== undefined) report.automatic = this.#automatic;
    this.#automatic = undefined;
    this.#last = report;
    report.queued = dispatcher.queueDepth;
    this.#pause.start(report, replaced, started, wallMs, dispatcher.state === 'running', done);
  }

  /**
   * After a successful swap from `from` to `to`: an upgrade keeps the timer table of just
   * before it; a rollback that undoes the latest kept upgrade (to → from) reverts the table to
   * it (TimerTable.revertTo: the undone version's timers go, the older ones stay or come back).
   * Any other rollback (to a version further back) leaves the timers as they are.
   */
  #keepOrRevertTimers(reason: SwapReport['reason'], from: string, to: string, before: TimerSnapshot): void {
    if (reason === 'upgrade') {
      this.#undo.push({ from, to, timers: before });
      if (this.#undo.length > UNDO_DEPTH) this.#undo.shift();
      return;
    }
    const last = this.#undo.at(-1);
    if (!last || last.to !== from || last.from !== to) return;
    this.#undo.pop();
    const set = this.#timers.size;
    this.#timers.revertTo(last.timers);
    this.#log.info(`timers reverted to before the upgrade to ${from}: ${set} -> ${this.#timers.size}`);
  }
}
