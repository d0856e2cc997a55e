/** The events a component's queue carries (message, timer, signal, upgrade) and the EventTap every one of them passes before dispatch. */
import type { PreparedModule } from '../modules/prepared.js';
import type { SwapReport } from './swap.js';

/** Where a reply to a message goes: the UDP sender, the TCP connection, or the calling component. */
export interface ReplyTarget {
  reply(bytes: Buffer): number;
}

export interface MessageEvent {
  readonly kind: 'message';
  readonly channel: number;
  readonly peer: string;
  readonly payload: Buffer;
  readonly iface?: number;
  readonly replyTo?: ReplyTarget;
}
export interface TimerEvent {
  readonly kind: 'timer';
  readonly id: number;
}
export interface SignalEvent {
  readonly kind: 'signal';
  readonly signo: number;
  readonly name: string;
}
/** An upgrade is just another event in the queue (gen_server style): it runs when its turn comes. */
export interface UpgradeEvent {
  readonly kind: 'upgrade';
  readonly module: PreparedModule;
  readonly reason: 'upgrade' | 'rollback';
  readonly done: (result: SwapReport) => void;
}

export type ComponentEvent = MessageEvent | TimerEvent | SignalEvent | UpgradeEvent;
export type EventKind = ComponentEvent['kind'];

/**
 * The single place every event passes before it is dispatched. The default does nothing;
 * a future event journal (group commit) or a shadow-upgrade recorder plugs in here.
 */
export interface EventTap {
  beforeDispatch(component: string, event: ComponentEvent): void;
}
export const noTap: EventTap = { beforeDispatch: () => {} };
