/**
 * What happens when a module traps while handling an event: the fault is recorded, the same
 * module is instantiated again over the same persistent memory and RESTARTed, and the queue goes
 * on with the next event (docs/SAFETY.md). A version on probation that faults too often, or that
 * cannot be restarted, gets a verdict, which the component's owner turns into a rollback. Quota
 * violations (a callback over an import quota) are judged the same way, with their own limit.
 */
import type { Logger } from '../log.js';
import type { Dispatcher } from './dispatcher.js';
import type { ComponentEvent } from './events.js';
import { CallbackTrap, type TrapKind } from './instance.js';
import type { Instantiator } from './instantiator.js';
import type { Probation } from './probation.js';

/** A fault: a trap while handling an event. Kept for `history` and metrics. */
export interface FaultRecord {
  at: string;
  component: string;
  module: string;
  version: string;
  event: string;
  error: string;
  /** Why it trapped: out of fuel, out of memory at the cap, stack overflow, abort, other trap. */
  kind: TrapKind;
  /** The callback that trapped (on_message, on_timer, ...). */
  callback: string;
}

export class FaultRecovery {
  readonly #name: string;
  readonly #dispatcher: Dispatcher;
  readonly #instantiator: Instantiator;
  readonly #probation: Probation | null;
  readonly #log: Logger;
  readonly #recorded: (fault: FaultRecord) => void;
  readonly #verdict: (verdict: string) => void;
  readonly #quotaFaults: number;
  #faults = 0;
  #quotaViolations = 0;
  /** Violations while a swap was in flight, judged once it is done (swapFinished). */
  #swapping = false;
  #deferred = 0;
  #deferredResource = '';
  /** A fault's verdict given while a swap was in flight: handed on once it is done (swapFinished). */
  #deferredVerdict: string | null = null;

  constructor(options: {
    name: string;
    dispatcher: Dispatcher;
    instantiator: Instantiator;
    probation: Probation | null;
    log: Logger;
    /** Every fault, as it happens. */
    recorded: (fault: FaultRecord) => void;
    /** The running version must go: called inside the dispatch loop, before the next event. */
    verdict: (verdict: string) => void;
    /** Quota violations a version on probation may have (QuotaLimits.quotaFaults). */
    quotaFaults?: number;
  }) {
    this.#name = options.name;
    this.#dispatcher = options.dispatcher;
    this.#instantiator = options.instantiator;
    this.#probation = options.probation;
    this.#log = options.log;
    this.#recorded = options.recorded;
    this.#verdict = options.verdict;
    this.#quotaFaults = options.quotaFaults ?? Number.POSITIVE_INFINITY;
  }

  get faults(): number {
    return this.#faults;
  }
  /** Callbacks that hit an import quota. */
  get quotaViolations(): number {
    return this.#quotaViolations;
  }

  /**
   * A callback of the running module hit an import quota (`resource`): counted, and judged by
   * probation like a fault. While a swap is in flight (from its start until its report is done)
   * the judgement waits for swapFinished(): the version on probation is only known then, and the
   * rollback a verdict asks for can only be queued then. So a module that floods from RESTART,
   * or right after it, is caught too.
   */
  quotaViolation(resource: string): void {
    this.#quotaViolations++;
    if (this.#swapping) {
      this.#deferred++;
      this.#deferredResource = resource;
      return;
    }
    this.#judge(resource);
  }

  /** A swap starts (SwapRunner.run): quota violations and fault verdicts wait for swapFinished(). */
  swapStarted(): void {
    this.#swapping = true;
  }

  /** The swap's report is done and probation began (or not): judge the violations it had. */
  swapFinished(): void {
    this.#swapping = false;
    const n = this.#deferred;
    this.#deferred = 0;
    const verdict = this.#deferredVerdict;
    this.#deferredVerdict = null;
    if (verdict !== null) {
      this.#verdict(verdict);
      return;
    }
    for (let i = 0; i < n; i++) if (this.#judge(this.#deferredResource)) break;
  }

  /** True when the violation gave the verdict (handed on). */
  #judge(resource: string): boolean {
    const version = this.#dispatcher.module?.version;
    const verdict = version === undefined ? null : (this.#probation?.quotaViolation(version, resource, this.#quotaFaults) ?? null);
    if (verdict === null) return false;
    this.#verdict(verdict);
    return true;
  }

  /**
   * A trap while handling an event: the instance's transient state can't be trusted, so the
   * same module is instantiated again over the same persistent memory and RESTARTed.
   */
  recover(event: ComponentEvent, error: unknown): void {
    this.#faults++;
    const dispatcher = this.#dispatcher;
    const module = dispatcher.module!;
    const record: FaultRecord = {
      at: new Date().toISOString(),
      component: this.#name,
      module: module.name,
      version: module.version,
      event: describeEvent(event),
      error: error instanceof Error ? error.message : String(error),
      kind: error instanceof CallbackTrap ? error.kind : 'trap',
      callback: error instanceof CallbackTrap ? error.callback : `on_${event.kind}`,
    };
    this.#log.error(`${module.name}@${module.version} trapped handling ${record.event}: ${record.error}`);
    this.#recorded(record);
    dispatcher.bind(null);
    let verdict = this.#probation?.fault(module.version, record.error) ?? null;
    try {
      const again = this.#instantiator.create(module);
      const code = again.restart();
      if (code !== 0) throw new Error(`restart returned ${code}`);
      dispatcher.bind(again);
    } catch (e) {
      dispatcher.state = 'failed';
      this.#log.error(`could not re-instantiate ${module.name}@${module.version} after a trap: ${(e as Error).message}`);
      verdict ??= `${module.version} could not be restarted after a fault: ${(e as Error).message}`;
    }
    if (verdict === null) return;
    // A fault between the swap and its report (an event that queued during the swap, handled
    // in the swap's drain) judges the new version, but the rollback could not be queued then:
    // one swap is in flight at a time, and the verdict was lost, leaving the faulty version
    // running off probation. It waits for swapFinished(), like a quota violation.
    if (this.#swapping) this.#deferredVerdict ??= verdict;
    else this.#verdict(verdict);
  }
}

export function describeEvent(event: ComponentEvent): string {
  switch (event.kind) {
    case 'message':
      return `message on channel ${event.channel} from ${event.peer} (${event.payload.byteLength} bytes: ${JSON.stringify(event.payload.subarray(0, 48).toString('latin1'))})`;
    case 'timer':
      return `timer ${event.id}`;
    case 'signal':
      return `signal ${event.name}`;
    case 'upgrade':
      return `upgrade to ${event.module.version}`;
  }
}
