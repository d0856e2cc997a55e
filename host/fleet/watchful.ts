/**
 * The controller's view of the nodes of one component: their latest reports, and which nodes are
 * alive. A node is alive while its report keeps changing (each heartbeat is a new revision),
 * judged on the controller's own clock, and never while the controller itself cannot reach
 * NATS: its own outage is not the nodes' fault, so after one every node gets a fresh start.
 */
import type { FleetStore } from './fleet-store.js';
import type { NodeReport } from './model.js';

export class Watchful {
  readonly #store: FleetStore;
  readonly #component: string;
  readonly #staleMs: number;
  readonly #pollMs: number;
  readonly #startedAt = Date.now();
  /** Per node: the last revision seen and when it changed (controller clock). */
  readonly #seen = new Map<string, { revision: number; at: number }>();
  #last = new Map<string, NodeReport>();
  #unreachable = false;

  constructor(store: FleetStore, component: string, staleMs: number, pollMs: number) {
    this.#store = store;
    this.#component = component;
    this.#staleMs = staleMs;
    this.#pollMs = pollMs;
  }

  /** Reads every report; when NATS cannot be reached, returns the last ones seen. */
  async poll(): Promise<Map<string, NodeReport>> {
    let list: Awaited<ReturnType<FleetStore['reports']>>;
    try {
      list = await this.#store.reports(this.#component);
    } catch {
      this.#unreachable = true;
      return this.#last;
    }
    const now = Date.now();
    if (this.#unreachable) {
      for (const s of this.#seen.values()) s.at = now;
      this.#unreachable = false;
    }
    const next = new Map<string, NodeReport>();
    for (const { value, revision, created } of list) {
      const seen = this.#seen.get(value.node);
      // First sight: the server's timestamp says how old the report is (a node that died before
      // the controller started is not a member).
      if (!seen) this.#seen.set(value.node, { revision, at: Math.min(now, created.getTime()) });
      else if (seen.revision !== revision) this.#seen.set(value.node, { revision, at: now });
      next.set(value.node, value);
    }
    this.#last = next;
    return next;
  }

  /** True when the node's report has not changed for staleMs (never while NATS is unreachable). */
  isStale(node: string): boolean {
    if (this.#unreachable) return false;
    const at = this.#seen.get(node)?.at ?? this.#startedAt;
    return Date.now() - at > this.#staleMs;
  }

  /** The live nodes, in name order. */
  async members(): Promise<string[]> {
    const reports = await this.poll();
    return [...reports.keys()].filter((n) => !this.isStale(n)).sort();
  }

  /**
   * The live nodes, waiting up to staleMs when there are none yet: reports that were written
   * before a NATS outage look old until the nodes' next heartbeat.
   */
  async settledMembers(): Promise<string[]> {
    const deadline = Date.now() + this.#staleMs;
    for (;;) {
      const members = await this.members();
      if (members.length > 0 || Date.now() > deadline) return members;
      await this.pause();
    }
  }

  pause(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.#pollMs));
  }
}
