/**
 * The bus between an engine's components: a module's `hs.send` on the bus channel queues a
 * message in another component (or its own), which may answer once through `hs.reply`.
 *
 * A flooding module sends hundreds of thousands of bus messages a second, and every queued one
 * lives until its turn: what each message allocates is what the young generation's scavenges
 * copy, and a scavenge holds every other component's requests (docs/SAFETY.md, "Short slices
 * while components share the engine"). So a message is one event object holding the payload and
 * a reply target shared by every message between the same two components; held by the sender's
 * output gate, it waits as that object and the receiver's enqueueHeld, with no closure of its own.
 */
import { BUS_CHANNEL, HostResult } from '../abi/abi.js';
import { type OutputGate, openGate } from '../component/component.js';
import type { MessageEvent, ReplyTarget } from '../component/events.js';

/** What the bus needs of a component: its bus share, its queue, and its output gate. */
export interface BusMember {
  reserveBus(): boolean;
  enqueueReserved(event: MessageEvent): boolean;
  /** enqueueReserved bound once, for the sender's output gate to call at release (a refusal is counted there). */
  readonly enqueueHeld: (event: MessageEvent) => void;
  readonly outputGate: OutputGate;
}

export class ComponentBus {
  readonly #member: (name: string) => BusMember | undefined;
  /** Reply targets by sender, then receiver: one per pair, made on the pair's first message. */
  readonly #replies = new Map<string, Map<string, ReplyTarget>>();

  constructor(member: (name: string) => BusMember | undefined) {
    this.#member = member;
  }

  /**
   * `from` sends `bytes` to `to`. The target's bus share is taken at once, so a sender that
   * outruns its receiver learns it at once (-6, a busBacklog hit) even while its message waits
   * for the sender's journal record, as a datagram would (the output gate); held, it answers ok,
   * and a full queue then refuses it at release (the target counts it as dropped).
   */
  deliver(to: string, from: string, payload: Buffer | (() => Buffer), repliable = true): number {
    const target = this.#member(to);
    if (!target) return HostResult.unknownPeer;
    if (!target.reserveBus()) return HostResult.quotaExceeded;
    const bytes = typeof payload === 'function' ? payload() : payload;
    const event: MessageEvent = repliable
      ? { kind: 'message', channel: BUS_CHANNEL, peer: from, payload: bytes, replyTo: this.#replyTarget(from, to) }
      : { kind: 'message', channel: BUS_CHANNEL, peer: from, payload: bytes };
    const gate = this.#member(from)?.outputGate ?? openGate;
    if (gate.holding) {
      gate.pass(target.enqueueHeld, event);
      return HostResult.ok;
    }
    return target.enqueueReserved(event) ? HostResult.ok : HostResult.quotaExceeded;
  }

  /** Forgets a component that left the engine (its pairs' reply targets, both ways). */
  forget(name: string): void {
    this.#replies.delete(name);
    for (const byReceiver of this.#replies.values()) byReceiver.delete(name);
  }

  /** Where `to`'s answer to a message from `from` goes: back to `from`, not repliable again. */
  #replyTarget(from: string, to: string): ReplyTarget {
    let byReceiver = this.#replies.get(from);
    if (!byReceiver) this.#replies.set(from, (byReceiver = new Map()));
    let target = byReceiver.get(to);
    if (!target) byReceiver.set(to, (target = { reply: (answer: Buffer) => this.deliver(from, to, answer, false) }));
    return target;
  }
}
