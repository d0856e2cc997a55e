/**
 * The operator's other two verbs on a rollout: its status (the desired state and every node's
 * report, with which nodes are alive) and abort (a compare-and-set to `aborted`, after which
 * every node goes back to the stable version).
 */
import { ConcurrentChange, type FleetStore } from './fleet-store.js';
import { ACTIVE_PHASES, type DesiredState, type NodeReport } from './model.js';
import { type Outcome, revertWait } from './rollout.js';
import { Watchful } from './watchful.js';

export interface RolloutStatus {
  desired: DesiredState | null;
  nodes: (NodeReport & { alive: boolean })[];
}

/** Two polls a heartbeat apart tell live nodes from dead ones; `settleMs` is that gap. */
export async function rolloutStatus(store: FleetStore, component: string, staleMs = 5000, settleMs = 0): Promise<RolloutStatus> {
  const watch = new Watchful(store, component, staleMs, settleMs);
  await watch.poll();
  if (settleMs > 0) await watch.pause();
  const reports = await watch.poll();
  const desired = (await store.readDesired(component))?.value ?? null;
  return { desired, nodes: [...reports.values()].map((r) => ({ ...r, alive: !watch.isStale(r.node) })) };
}

/** Aborts the active rollout of `component` and waits (up to timeoutMs) for the nodes to revert. */
export async function abortRollout(store: FleetStore, component: string, timeoutMs: number, staleMs = 5000): Promise<Outcome> {
  for (;;) {
    const current = await store.readDesired(component);
    if (!current || !ACTIVE_PHASES.includes(current.value.phase)) {
      const phase = current ? `its last rollout is ${current.value.phase}` : 'it has never had one';
      return {
        result: 'conflict',
        component,
        rolloutId: current?.value.rolloutId ?? null,
        reason: `no rollout of ${component} is in progress (${phase})`,
      };
    }
    const state = current.value;
    const aborted: DesiredState = { ...state, phase: 'aborted', reason: 'aborted by the operator', updatedAt: new Date().toISOString() };
    try {
      await store.writeDesired(aborted, current.revision);
    } catch (e) {
      if (e instanceof ConcurrentChange) continue; // the controller moved on meanwhile: read again
      throw e;
    }
    const watch = new Watchful(store, component, staleMs, 200);
    const notReverted = await revertWait(watch, state.stable, Date.now() + timeoutMs);
    return {
      result: 'aborted',
      component,
      rolloutId: state.rolloutId,
      reason: 'aborted by the operator',
      ...(state.stages[state.stage] ? { stage: state.stages[state.stage] } : {}),
      ...(notReverted.length ? { notReverted } : {}),
    };
  }
}
