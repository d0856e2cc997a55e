/**
 * The host services a component's module calls through its imports (HostServices): reply, send
 * on a channel or the bus, log, timers, and the `output` text `status` writes. Import quotas
 * (a budget per callback for sends, log lines, ...) belong here: every call a module makes to
 * the host passes one of these methods.
 */
import { BUS_CHANNEL, HostResult } from '../abi/abi.js';
import { type Environment, type HostServices, levelName } from '../abi/imports.js';
import type { PersistentMemory } from '../abi/memory.js';
import type { Logger, LogLevelName } from '../log.js';
import type { ReplyTarget } from './events.js';
import { TimerTable } from './timers.js';

/** A way out of the component: a UDP socket, a TCP listener's connections, ... (see sources/). */
export interface Channel {
  readonly kind: string;
  send(peer: string, bytes: Buffer): number;
}

/** Delivers a message to another component by name; returns a HostResult code. */
export type BusDeliver = (to: string, from: string, bytes: Buffer) => number;

export class ModuleHost implements HostServices {
  readonly memory: PersistentMemory;
  readonly environment: Environment;
  readonly timers: TimerTable;
  /**
   * Where hs.reply goes: set by the dispatcher around each message (a plain field, so the hot
   * path costs one store before and one after the call into the module).
   */
  replyTo: ReplyTarget | undefined = undefined;
  readonly #name: string;
  readonly #log: Logger;
  readonly #bus: BusDeliver | undefined;
  readonly #channels = new Map<number, Channel>();
  #output = '';

  constructor(options: {
    name: string;
    memory: PersistentMemory;
    environment: Environment;
    log: Logger;
    bus: BusDeliver | undefined;
    /** What a due timer does: queue a timer event for the module. */
    fireTimer: (id: number) => void;
  }) {
    this.#name = options.name;
    this.memory = options.memory;
    this.environment = options.environment;
    this.#log = options.log;
    this.#bus = options.bus;
    this.timers = new TimerTable(options.fireTimer, () => this.environment.monotonicMs());
  }

  attachChannel(index: number, channel: Channel): void {
    this.#channels.set(index, channel);
  }

  /** Runs `call` (the module's `status` export) and returns the text it wrote through hs.output. */
  captureOutput(call: () => void): string {
    this.#output = '';
    try {
      call();
      return this.#output;
    } finally {
      this.#output = '';
    }
  }

  reply(bytes: Buffer): number {
    const target = this.replyTo;
    if (!target) return HostResult.noCurrentMessage;
    return target.reply(bytes);
  }

  send(channel: number, peer: string, bytes: Buffer): number {
    if (channel === BUS_CHANNEL) {
      return this.#bus ? this.#bus(peer, this.#name, bytes) : HostResult.unknownPeer;
    }
    const ch = this.#channels.get(channel);
    if (!ch) return HostResult.unknownChannel;
    return ch.send(peer, bytes);
  }

  log(level: number, text: string): void {
    this.#log.log(levelName(level) as LogLevelName, text);
  }

  setTimer(id: number, delayMs: number, repeatMs: number): void {
    this.timers.set(id, delayMs, repeatMs);
  }
  cancelTimer(id: number): boolean {
    return this.timers.cancel(id);
  }
  timerDueIn(id: number): number {
    return this.timers.dueIn(id);
  }

  output(text: string): void {
    this.#output += text;
  }
}
