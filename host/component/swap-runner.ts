/**
 * Queues swaps as events and runs them when their turn comes (gen_server style): one swap in
 * flight at a time, the transactional procedure of swap.ts, the state and probation that
 * follow, and the hand-over to the PauseClock that finishes the report.
 */
import type { DirtyPageCheckpoint } from '../abi/checkpoint.js';
import type { PersistentMemory } from '../abi/memory.js';
import type { Logger } from '../log.js';
import type { PreparedModule } from '../modules/prepared.js';
import type { Dispatcher } from './dispatcher.js';
import type { UpgradeEvent } from './events.js';
import type { Instantiator } from './instantiator.js';
import type { PauseClock } from './pause-clock.js';
import type { Probation } from './probation.js';
import { type SnapshotPolicy, type SwapReport, swapModule } from './swap.js';

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
  #inFlight = false;
  /** Why the queued swap was started by the component itself (probation), for its report. */
  #automatic: string | undefined;
  #upgrades = 0;
  #last: SwapReport | null = null;

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
          resolve(report);
        },
      };
      this.#automatic = automatic; // one swap in flight at a time: run() puts it in the report
      // A failed component has no module to run the waiting events: its recovery goes first.
      if (this.#dispatcher.state === 'failed' || automatic !== undefined) this.#dispatcher.enqueueFirst(event);
      else this.#dispatcher.enqueue(event);
    });
  }

  /** Runs the swap of `event` now (the dispatcher's turn has come to it). */
  run(event: UpgradeEvent): void {
    const { module, reason, done } = event;
    const dispatcher = this.#dispatcher;
    const started = performance.now();
    const wasFailed = dispatcher.state === 'failed';
    const previousModule = dispatcher.module;
    dispatcher.state = 'upgrading';
    const report = swapModule(
      {
        name: this.#name,
        memory: this.#memory,
        snapshotPolicy: this.#snapshotPolicy,
        checkpoint: this.#checkpoint,
        current: () => dispatcher.instance,
        instantiate: (m) => this.#instantiator.create(m),
        bind: (instance) => dispatcher.bind(instance),
      },
      module,
      reason,
    );
    dispatcher.state = dispatcher.instance ? 'running' : 'failed';
    let replaced: PreparedModule | null = null;
    if (report.result === 'ok') {
      this.#upgrades++;
      replaced = dispatcher.module === module ? previousModule : null;
      if (reason === 'upgrade' && replaced) this.#probation?.begin(module.version);
      else this.#probation?.end();
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
    this.#pause.start(report, replaced, started, dispatcher.state === 'running', done);
  }
}
