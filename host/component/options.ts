/**
 * What a component is built from: everything it needs is passed in here by its owner (the
 * engine, or a test), nothing is looked up globally.
 */
import type { SignalName } from '../abi/abi.js';
import type { HostCapabilities } from '../abi/capability-imports.js';
import type { Environment } from '../abi/imports.js';
import type { Logger } from '../log.js';
import type { ModulePolicy } from '../modules/check.js';
import type { EventTap } from './events.js';
import type { BusDeliver } from './module-host.js';
import type { QuotaLimits } from './quotas.js';
import type { SnapshotPolicy } from './swap.js';

/**
 * After an upgrade the new version is on probation for `windowMs`: more than `maxFaults` faults
 * in that time and the engine rolls back to the previous version by itself.
 */
export interface ProbationConfig {
  windowMs: number;
  maxFaults: number;
}
export const DEFAULT_PROBATION: ProbationConfig = Object.freeze({ windowMs: 60_000, maxFaults: 3 });

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
}
