/**
 * What a component is built from: everything it needs is passed in here by its owner (the
 * engine, or a test), nothing is looked up globally.
 */
import type { SignalName } from '../abi/abi.js';
import type { HostCapabilities } from '../abi/capability-imports.js';
import type { Environment } from '../abi/imports.js';
import type { Logger } from '../log.js';
import type { ModulePolicy } from '../modules/check.js';
import type { DispatchScheduler } from './dispatch-scheduler.js';
import type { EventTap } from './events.js';
import type { ComponentJournal } from './journal-port.js';
import type { BusDeliver } from './module-host.js';
import type { QuotaLimits } from './quotas.js';
import type { SnapshotPolicy } from './swap.js';
import type { Scheduler } from './timers.js';

export { DEFAULT_DISPATCH, type DispatchLimits } from './dispatch-scheduler.js';

/**
 * After an upgrade the new version is on probation for `windowMs`: more than `maxFaults` faults
 * in that time and the engine rolls back to the previous version by itself.
 */
export interface ProbationConfig {
  windowMs: number;
  maxFaults: number;
}
export const DEFAULT_PROBATION: ProbationConfig = Object.freeze({ windowMs: 60_000, maxFaults: 3 });

/**
 * How many events may wait in one component's queue. 65,536 is far above what a healthy
 * component ever has queued (it drains one poll's arrivals in one turn of the loop: the 4 MiB
 * UDP receive buffer holds ~7,000 small datagrams), and it bounds a runaway queue of small
 * messages (~250 bytes each with the event object) to about 16 MiB per component.
 */
export const DEFAULT_QUEUE_EVENTS = 65_536;

export interface ComponentOptions {
  name: string;
  policy: ModulePolicy;
  signals?: readonly SignalName[];
  snapshotPolicy?: SnapshotPolicy;
  environment?: Environment;
  /** Sees every event right before it is dispatched (a journal's seam). */
  tap?: EventTap;
  logger?: Logger;
  bus?: BusDeliver;
  /** Host capabilities the configuration granted (host/capabilities/); absent: none. */
  capabilities?: HostCapabilities;
  /** Health gate after each upgrade (absent: no probation). */
  probation?: ProbationConfig;
  /**
   * Asked to roll back when a version fails its probation (or cannot be restarted after a
   * fault), with the verdict. The owner picks the target (the engine's RollbackRule) and calls
   * Component.rollBackNow before this returns, so no waiting event meets the faulty version.
   * Absent: the verdict is only logged.
   */
  rollback?: (verdict: string) => void;
  /** Import quotas over DEFAULT_QUOTAS (host/component/quotas.ts); false: none (a benchmark's baseline). */
  quotas?: Partial<QuotaLimits> | false;
  /** The engine-wide round-robin between components' queues; absent: a private one (tests, benches). */
  scheduler?: DispatchScheduler;
  /** The queue's bound (DEFAULT_QUEUE_EVENTS when absent); upgrades and coalesced timers are exempt. */
  queueEvents?: number;
  /**
   * Where the module's timers and the quota windows wait (absent: Node's timers). With an
   * `environment` on the same clock, a test harness runs time virtually (host/testing/).
   */
  timers?: Scheduler;
  /** Crash survival (host/durability/): sees every event, observation and output; absent: none. */
  journal?: ComponentJournal;
}
