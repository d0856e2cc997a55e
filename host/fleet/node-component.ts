/**
 * One component on one node of the fleet: brings it to what the desired state asks of this node
 * (fetch, verify, upgrade through the engine) and keeps the node's report for it. The agent
 * (agent.ts) feeds it desired states and engine events and publishes its reports.
 */
import type { FaultRecord } from '../component/component.js';
import type { SwapReport } from '../component/swap.js';
import type { Engine, UpgradeTarget } from '../engine.js';
import type { Logger } from '../log.js';
import { sha256Hex } from './fleet-store.js';
import { type DesiredState, type ModuleRef, type NodeReport, type NodeState, wantedBy } from './model.js';

/** Throws, naming the module, unless `signature` signs `bytes` with the trusted key. */
export type VerifySignature = (what: string, bytes: Uint8Array, signature: string | undefined) => void;

/** Where module bytes come from (the fleet's Object Store). */
export interface ModuleSource {
  getModule(object: string): Promise<Uint8Array>;
}

export class NodeComponent {
  readonly #engine: Engine;
  readonly #name: string;
  readonly #node: string;
  readonly #verify: VerifySignature | null;
  readonly #log: Logger;
  readonly #changed: () => void;
  /** The module the fleet last had this node swap in (null: what the engine started with). */
  #current: ModuleRef | null = null;
  /** Candidates this node refused or failed, per rollout, so it does not try them again. */
  readonly #failed = new Set<string>();
  #busy = false;
  #probationTimer: NodeJS.Timeout | null = null;
  #report: Omit<NodeReport, 'version' | 'at'>;

  constructor(engine: Engine, name: string, node: string, verify: VerifySignature | null, log: Logger, changed: () => void) {
    this.#engine = engine;
    this.#name = name;
    this.#node = node;
    this.#verify = verify;
    this.#log = log;
    this.#changed = changed;
    this.#report = { node, component: name, ref: null, rolloutId: null, stage: null, state: 'ok', faults: 0, swappedAt: null };
  }

  /** The report as of now. */
  report(): NodeReport {
    return { ...this.#report, version: this.#engine.component(this.#name).module?.version ?? null, at: new Date().toISOString() };
  }

  /** Brings the component to what `desired` asks of this node; one attempt at a time. */
  async reconcile(desired: DesiredState, source: ModuleSource): Promise<void> {
    if (this.#busy) return; // the next desired state or poll finds the outcome
    const want = wantedBy(desired, this.#node);
    const isCandidate = desired.candidate !== null && want === desired.candidate;
    const failKey = `${desired.rolloutId} ${want.version} ${want.sha256 ?? ''}`;
    if (this.#failed.has(failKey)) return;
    if (this.#runs(want)) {
      if (this.#report.rolloutId !== desired.rolloutId || this.#report.ref?.version !== want.version) {
        this.#update({ ref: want, rolloutId: desired.rolloutId, stage: this.#report.stage, state: this.#settledState() });
      }
      return;
    }
    this.#busy = true;
    const stage = isCandidate ? desired.stage : null;
    this.#update({ ref: want, rolloutId: desired.rolloutId, stage, state: 'upgrading', faults: 0 });
    try {
      const report = await this.#engine.upgrade(this.#name, await this.#targetOf(want, source));
      if (report.result !== 'ok') throw new Error(`${want.version}: swap ${report.result}: ${report.cause ?? 'no cause given'}`);
      // upgrade() resolves once the events that queued during the swap were dispatched: one of
      // them may have faulted and probation already rolled the candidate back (onSwap marked it
      // failed). Reporting it as on probation now would hide that from the rollout, which would
      // then wait for the canary to pass probation until its stage deadline.
      if (this.#failed.has(failKey)) return;
      this.#current = want;
      this.#update({ state: 'probation', swappedAt: new Date().toISOString(), faults: 0 });
      this.#armProbation();
    } catch (e) {
      const cause = (e as Error).message;
      this.#log.warn(`fleet: ${this.#name} ${want.version} refused or failed: ${cause}`);
      // A stable version that could not be fetched is tried again; a failed candidate is not.
      if (isCandidate) this.#failed.add(failKey);
      this.#update({ state: 'failed', cause });
    } finally {
      this.#busy = false;
    }
  }

  /** A swap of this component: a probation rollback of what the fleet swapped in fails it. */
  onSwap(report: SwapReport): void {
    if (report.reason !== 'rollback' || report.automatic === undefined || report.result !== 'ok') return;
    const ref = this.#report.ref;
    this.#current = null;
    this.#disarmProbation();
    if (ref && this.#report.rolloutId) this.#failed.add(`${this.#report.rolloutId} ${ref.version} ${ref.sha256 ?? ''}`);
    this.#update({ state: 'failed', cause: `probation rolled ${report.from} back to ${report.to}: ${report.automatic}` });
  }

  onFault(fault: FaultRecord): void {
    this.#update({ faults: this.#report.faults + 1, cause: `fault in ${fault.callback} of ${fault.version}: ${fault.error}` });
  }

  close(): void {
    this.#disarmProbation();
  }

  /** Whether the component runs `want` now (bytes compared when both sides know them). */
  #runs(want: ModuleRef): boolean {
    const running = this.#engine.component(this.#name).module?.version;
    if (running !== want.version) return false;
    if (want.sha256 === undefined) return true;
    return this.#current?.sha256 === want.sha256;
  }

  async #targetOf(want: ModuleRef, source: ModuleSource): Promise<UpgradeTarget> {
    if (want.object === undefined) return { version: want.version };
    const bytes = await source.getModule(want.object);
    const what = `${this.#name} ${want.version} (object ${want.object})`;
    const sha = sha256Hex(bytes);
    if (sha !== want.sha256) throw new Error(`${what}: sha256 ${sha} does not match the desired state's ${want.sha256}`);
    this.#verify?.(what, bytes, want.signature);
    return { bytes, version: want.version };
  }

  /** After a swap the module is on probation for the component's window, then `ok`. */
  #armProbation(): void {
    this.#disarmProbation();
    const windowMs = this.#engine.componentConfig(this.#name).probation?.windowMs ?? 0;
    this.#probationTimer = setTimeout(() => {
      this.#probationTimer = null;
      if (this.#report.state === 'probation') this.#update({ state: 'ok' });
    }, windowMs);
    this.#probationTimer.unref();
  }

  #disarmProbation(): void {
    if (this.#probationTimer) clearTimeout(this.#probationTimer);
    this.#probationTimer = null;
  }

  #settledState(): NodeState {
    return this.#probationTimer ? 'probation' : 'ok';
  }

  #update(change: Partial<Omit<NodeReport, 'version' | 'at'>>): void {
    const next = { ...this.#report, ...change };
    if (change.state !== undefined && change.state !== 'failed' && change.cause === undefined) delete next.cause;
    this.#report = next;
    this.#changed();
  }
}
