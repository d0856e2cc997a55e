/**
 * The rollout controller: the state machine that moves a candidate through the canary and the
 * steps, gated on every target node passing probation and the hold time, and that reverts the
 * fleet when a node fails, faults too often or stops reporting. All its writes to the desired
 * state are compare-and-set, so a second controller (or an abort) cannot be overwritten.
 * docs/FLEET.md draws the state machine.
 */
import { randomUUID } from 'node:crypto';
import { ConcurrentChange, type FleetStore } from './fleet-store.js';
import { ACTIVE_PHASES, type DesiredState, type ModuleRef, type NodeReport, sameModule } from './model.js';
import { type Stage, targetsOf } from './plan.js';
import { Watchful } from './watchful.js';

export interface RolloutOptions {
  component: string;
  candidate: ModuleRef;
  stages: Stage[];
  holdMs: number;
  /** Faults a target may have on the candidate; one more halts the rollout. */
  maxFaults: number;
  /** A node whose report has not changed for this long is missing (default 5 s). */
  staleMs?: number;
  /** Longest wait for a stage's nodes to pass probation, or for a revert (default 120 s). */
  stageTimeoutMs?: number;
  pollMs?: number;
  onProgress?: (line: string) => void;
}

export type OutcomeKind = 'done' | 'reverted' | 'aborted' | 'conflict';

export interface Outcome {
  result: OutcomeKind;
  component: string;
  rolloutId: string | null;
  /** Why it halted, and the node to blame (when one is). */
  reason?: string;
  node?: string;
  /** The stage it reached ("canary 1", "50%", …). */
  stage?: string;
  /** Nodes still not back on the stable version when the revert's deadline passed. */
  notReverted?: string[];
}

/** Thrown inside the state machine: stop the stages and revert, naming why and where. */
class Halt extends Error {
  readonly node: string | undefined;
  constructor(reason: string, node?: string) {
    super(reason);
    this.node = node;
  }
}

/** Someone else moved the desired state (an abort, another controller). */
class Preempted extends Error {
  readonly state: DesiredState;
  constructor(state: DesiredState) {
    super(`desired state changed to ${state.phase}`);
    this.state = state;
  }
}

export class Rollout {
  readonly #store: FleetStore;
  readonly #o: Required<Omit<RolloutOptions, 'onProgress'>> & Pick<RolloutOptions, 'onProgress'>;
  readonly #watch: Watchful;
  #state!: DesiredState;
  #revision: number | null = null;

  constructor(store: FleetStore, options: RolloutOptions) {
    this.#store = store;
    this.#o = { staleMs: 5000, stageTimeoutMs: 120_000, pollMs: 200, ...options };
    this.#watch = new Watchful(store, options.component, this.#o.staleMs, this.#o.pollMs);
  }

  async run(): Promise<Outcome> {
    const { component, candidate, stages } = this.#o;
    const existing = await this.#store.readDesired(component);
    if (existing && ACTIVE_PHASES.includes(existing.value.phase)) {
      const s = existing.value;
      return this.#outcome('conflict', `rollout ${s.rolloutId} is at stage ${s.stages[s.stage]} (abort it first)`, undefined, s);
    }
    const members = await this.#watch.settledMembers();
    if (members.length === 0) return this.#outcome('conflict', `no node reports component ${component}: is any engine in the fleet?`);
    const stable = existing?.value.stable ?? (await this.#commonVersion());
    if (sameModule(stable, candidate) && stable.sha256 === candidate.sha256) {
      return this.#outcome('conflict', `${component} ${candidate.version} is already the fleet's stable version`);
    }
    this.#revision = existing?.revision ?? null;
    this.#state = {
      component,
      rolloutId: randomUUID(),
      phase: 'canary',
      stable,
      candidate,
      stage: 0,
      stages: stages.map((s) => s.label),
      targets: [],
      updatedAt: '',
    };
    try {
      for (let i = 0; i < stages.length; i++) await this.#runStage(i);
      await this.#write({ phase: 'done', stable: candidate, candidate: null, targets: [] });
      this.#progress(`${component}: every node runs ${candidate.version} (rollout ${this.#state.rolloutId} done)`);
      return this.#outcome('done');
    } catch (e) {
      if (e instanceof Preempted) {
        if (e.state.phase !== 'aborted') return this.#outcome('conflict', `another controller took over: ${e.message}`);
        this.#state = e.state;
        return this.#revert('aborted', e.state.reason ?? 'aborted', e.state.node, false);
      }
      if (e instanceof ConcurrentChange) return this.#outcome('conflict', e.message);
      if (!(e instanceof Halt)) throw e;
      return this.#revert('reverted', e.message, e.node, true);
    }
  }

  async #runStage(i: number): Promise<void> {
    const stage = this.#o.stages[i]!;
    const members = await this.#watch.members();
    const targets = targetsOf(members, this.#state.targets, stage.count(members.length));
    await this.#write({ phase: i === 0 && stage.label.startsWith('canary') ? 'canary' : 'step', stage: i, targets });
    this.#progress(`${this.#o.component}: stage ${stage.label}: ${targets.join(', ')}`);
    const started = Date.now();
    // Every target must pass probation on the candidate, then the whole stage holds.
    await this.#gate(targets, (r) => r.state === 'ok', started + this.#o.stageTimeoutMs, 'pass probation');
    this.#progress(`${this.#o.component}: stage ${stage.label} passed probation; holding ${this.#o.holdMs} ms`);
    await this.#gate(targets, () => false, Date.now() + this.#o.holdMs, null);
  }

  /**
   * Polls the targets' reports until `done` holds for all of them (or, `what` null, until the
   * deadline: a hold). Halts on a failed node, too many faults, a missing node or an abort.
   */
  async #gate(targets: string[], done: (r: NodeReport) => boolean, deadline: number, what: string | null): Promise<void> {
    const { candidate } = this.#o;
    for (;;) {
      const [reports, desired] = await Promise.all([
        this.#watch.poll(),
        this.#store.readDesired(this.#o.component).catch(() => null), // unreachable: judged next time
      ]);
      if (desired && desired.revision !== this.#revision) throw new Preempted(desired.value);
      let all = true;
      for (const node of targets) {
        const r = reports.get(node);
        if (this.#watch.isStale(node)) throw new Halt(`node ${node} stopped reporting (nothing for ${this.#o.staleMs} ms)`, node);
        const onIt = r && r.rolloutId === this.#state.rolloutId && r.ref !== null && sameModule(r.ref, candidate);
        if (r && onIt && r.state === 'failed') throw new Halt(`node ${node}: ${r.cause ?? 'failed'}`, node);
        if (r && onIt && r.faults > this.#o.maxFaults) {
          throw new Halt(`node ${node}: ${r.faults} faults on ${candidate.version} (max ${this.#o.maxFaults}): ${r.cause ?? ''}`, node);
        }
        if (!(r && onIt && r.version === candidate.version && done(r))) all = false;
      }
      if (what !== null && all) return;
      if (Date.now() > deadline) {
        if (what === null) return;
        const late = targets.filter((n) => !reports.get(n) || !done(reports.get(n)!));
        throw new Halt(`node ${late[0]} did not ${what} within ${this.#o.stageTimeoutMs} ms`, late[0]);
      }
      await this.#watch.pause();
    }
  }

  /** Asks every node for the stable version and waits until the live ones run it. */
  async #revert(kind: 'reverted' | 'aborted', reason: string, node: string | undefined, write: boolean): Promise<Outcome> {
    if (write) await this.#write({ phase: 'reverting', reason, ...(node ? { node } : {}) });
    this.#progress(`${this.#o.component}: halted (${reason}); reverting to ${this.#state.stable.version}`);
    const notReverted = await revertWait(this.#watch, this.#state.stable, Date.now() + this.#o.stageTimeoutMs);
    if (write) await this.#write({ phase: 'reverted' }).catch(() => undefined);
    return { ...this.#outcome(kind, reason, node), ...(notReverted.length ? { notReverted } : {}) };
  }

  /**
   * A compare-and-set write of the desired state; an abort or another controller preempts. While
   * NATS is unreachable it tries again until the stage deadline: a write whose answer was lost
   * is recognised by its timestamp on the next read.
   */
  async #write(change: Partial<DesiredState>): Promise<void> {
    const next = { ...this.#state, ...change, updatedAt: new Date().toISOString() };
    const deadline = Date.now() + this.#o.stageTimeoutMs;
    for (;;) {
      try {
        this.#revision = await this.#store.writeDesired(next, this.#revision);
        this.#state = next;
        return;
      } catch (e) {
        const now = await this.#store.readDesired(this.#o.component).catch(() => undefined);
        if (now && now.value.updatedAt === next.updatedAt && now.value.rolloutId === next.rolloutId) {
          this.#revision = now.revision;
          this.#state = next;
          return;
        }
        if (e instanceof ConcurrentChange && now) throw new Preempted(now.value);
        if (Date.now() > deadline) throw new Error(`cannot write the desired state of ${this.#o.component}: ${(e as Error).message}`);
        await this.#watch.pause();
      }
    }
  }

  /** With no desired state yet, the stable version is what most nodes run now. */
  async #commonVersion(): Promise<ModuleRef> {
    const counts = new Map<string, number>();
    for (const r of (await this.#watch.poll()).values()) if (r.version) counts.set(r.version, (counts.get(r.version) ?? 0) + 1);
    const [version] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] ?? [];
    if (!version) throw new Error(`no node of ${this.#o.component} reports a running version`);
    return { version };
  }

  #progress(line: string): void {
    this.#o.onProgress?.(line);
  }

  #outcome(result: OutcomeKind, reason?: string, node?: string, state: DesiredState | undefined = this.#state): Outcome {
    return {
      result,
      component: this.#o.component,
      rolloutId: state?.rolloutId ?? null,
      ...(reason ? { reason } : {}),
      ...(node ? { node } : {}),
      ...(state ? { stage: state.stages[state.stage] } : {}),
    };
  }
}

/** Waits until every live node runs `stable`; returns the live nodes that still do not. */
export async function revertWait(watch: Watchful, stable: ModuleRef, deadline: number): Promise<string[]> {
  for (;;) {
    const reports = await watch.poll();
    const behind = [...reports.values()]
      .filter((r) => !watch.isStale(r.node))
      .filter((r) => r.version !== stable.version || r.state === 'upgrading')
      .map((r) => r.node);
    if (behind.length === 0 || Date.now() > deadline) return behind;
    await watch.pause();
  }
}
