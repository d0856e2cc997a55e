/**
 * Builds a component's parts from its options and wires them to each other: the one place that
 * says which part talks to which (the Component class is the façade over what this returns).
 * `events` is how the parts reach the component's listeners and its own queue; the parts never
 * hold the Component itself.
 */
import { DirtyPageCheckpoint } from '../abi/checkpoint.js';
import { type Environment, systemEnvironment } from '../abi/imports.js';
import { PersistentMemory } from '../abi/memory.js';
import { Logger } from '../log.js';
import type { PreparedModule } from '../modules/prepared.js';
import { CheckpointScheduler } from './checkpoint-scheduler.js';
import { DispatchScheduler } from './dispatch-scheduler.js';
import { Dispatcher } from './dispatcher.js';
import { type ComponentEvent, noTap } from './events.js';
import { type FaultRecord, FaultRecovery } from './fault-recovery.js';
import { Instantiator } from './instantiator.js';
import { type OutputGate, openGate } from './journal-port.js';
import { ModuleHost } from './module-host.js';
import { type ComponentOptions, DEFAULT_QUEUE_EVENTS } from './options.js';
import { PauseClock } from './pause-clock.js';
import { Probation } from './probation.js';
import { type QuotaRecord, QuotaReports } from './quota-reports.js';
import { DEFAULT_QUOTAS } from './quotas.js';
import type { SnapshotPolicy, SwapReport } from './swap.js';
import { SwapRunner } from './swap-runner.js';
import { nodeScheduler } from './timers.js';

/** What the parts tell the component: its listeners' events, and events for its own queue. */
export interface ComponentEvents {
  /** `replaced`: the module a successful swap took out (null for a first load or a failed swap). */
  swapped(report: SwapReport, replaced: PreparedModule | null): void;
  faulted(fault: FaultRecord): void;
  quotaHit(record: QuotaRecord): void;
  enqueue(event: ComponentEvent): boolean;
}

export interface ComponentParts {
  memory: PersistentMemory;
  environment: Environment;
  log: Logger;
  gate: OutputGate;
  host: ModuleHost;
  dispatcher: Dispatcher;
  swaps: SwapRunner;
  faults: FaultRecovery;
  /** The idle sync of the dirty-page checkpoint (snapshot policy 'incremental' only). */
  sync: CheckpointScheduler | null;
  reports: QuotaReports | null;
}

export function wireComponent(options: ComponentOptions, events: ComponentEvents): ComponentParts {
  const name = options.name;
  const memory = new PersistentMemory({ memoryBase: options.policy.memoryBase, maxBytes: options.policy.maxPages * 65536 });
  const journal = options.journal;
  const environment = journal?.environment ?? options.environment ?? systemEnvironment;
  const log = options.logger ?? new Logger(name);
  const snapshotPolicy: SnapshotPolicy = options.snapshotPolicy ?? (options.policy.trackDirtyPages ? 'incremental' : 'always');
  const checkpoint = snapshotPolicy === 'incremental' ? new DirtyPageCheckpoint(memory) : null;
  const sync = checkpoint ? new CheckpointScheduler(checkpoint) : null;
  const probation = options.probation ? new Probation(options.probation) : null;
  const limits = options.quotas === false ? null : { ...DEFAULT_QUOTAS, ...options.quotas };
  // The host's callbacks reach parts built after it (recovery, reports): they run only once
  // events flow, after this function returned, so those consts are initialised by then.
  const host = new ModuleHost({
    name,
    memory,
    environment,
    log,
    bus: options.bus,
    fireTimer: (id) => {
      journal?.timerExpired(id);
      events.enqueue({ kind: 'timer', id });
    },
    journal,
    quotas: limits,
    violated: (resource) => recovery.quotaViolation(resource),
    windowEnded: () => reports?.report(),
    ...(options.timers ? { scheduler: options.timers } : {}),
  });
  const pause = new PauseClock((report, replaced) => events.swapped(report, replaced));
  const scheduler = options.scheduler ?? new DispatchScheduler(); // alone (tests, benches): its own
  const dispatcher = new Dispatcher({
    name,
    host,
    tap: options.tap ?? noTap,
    journal,
    pause,
    log,
    scheduler,
    queueEvents: options.queueEvents ?? DEFAULT_QUEUE_EVENTS,
  });
  journal?.watchHeld((held) => scheduler.outputsHeld(dispatcher, held));
  const quotas = host.quotas;
  const reports = quotas
    ? new QuotaReports({
        component: name,
        hits: quotas.hits,
        running: () => ({ module: dispatcher.module?.name ?? null, version: dispatcher.module?.version ?? null }),
        record: (record) => events.quotaHit(record),
        now: () => environment.monotonicMs(),
        scheduler: nodeScheduler,
      })
    : null;
  const capabilities = journal ? journal.capabilities(options.capabilities) : options.capabilities;
  const instantiator = new Instantiator(host, capabilities, log);
  const rollback = options.rollback;
  const recovery = new FaultRecovery({
    name,
    dispatcher,
    instantiator,
    probation,
    log,
    recorded: (fault) => events.faulted(fault),
    // A replayed verdict is not acted on: the rollback it caused is a journal record of its own.
    verdict: (verdict) =>
      journal?.replaying ? undefined : (rollback ?? ((v) => log.warn(`not rolling back (no rollback handler): ${v}`)))(verdict),
    ...(limits ? { quotaFaults: limits.quotaFaults } : {}),
  });
  const swaps = new SwapRunner({
    name,
    memory,
    snapshotPolicy,
    checkpoint,
    dispatcher,
    instantiator,
    pause,
    probation,
    log,
    timers: host.timers,
    hooks: { started: () => recovery.swapStarted(), finished: () => recovery.swapFinished() },
  });
  dispatcher.handleWith({
    swap: (event) => swaps.run(event),
    fault: (event, error) => recovery.recover(event, error),
    idle: () => {
      if (dispatcher.state !== 'stopped') sync?.idle();
    },
  });
  return { memory, environment, log, gate: journal?.gate ?? openGate, host, dispatcher, swaps, faults: recovery, sync, reports };
}
