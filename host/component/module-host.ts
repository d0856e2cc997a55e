/**
 * The host services a component's module calls through its imports (HostServices): reply, send
 * on a channel or the bus, log, timers, and the `output` text `status` writes, each behind the
 * component's import quotas (quotas.ts): every call a module makes to the host passes here.
 */
import { BUS_CHANNEL, HostResult } from '../abi/abi.js';
import type { ImportGate } from '../abi/import-gate.js';
import { type Environment, type HostServices, levelName } from '../abi/imports.js';
import type { PersistentMemory } from '../abi/memory.js';
import type { Logger, LogLevelName } from '../log.js';
import type { ReplyTarget } from './events.js';
import type { ComponentJournal } from './journal-port.js';
import { ImportQuotas, type QuotaLimits, type QuotaResource, type Suppressed } from './quotas.js';
import { nodeScheduler, type Scheduler, TimerTable } from './timers.js';

/** What #replyBytes holds between replies, so that no reply is kept alive by it. */
const NO_BYTES = Buffer.alloc(0);

/** A way out of the component: a UDP socket, a TCP listener's connections, ... (see sources/). */
export interface Channel {
  readonly kind: string;
  send(peer: string, bytes: Buffer): number;
}

/**
 * Delivers a message to another component by name; returns a HostResult code. `bytes` may be a
 * function that reads them: it is called only once the receiver took the message, so a flood's
 * refused sends copy nothing out of the module.
 */
export type BusDeliver = (to: string, from: string, bytes: Buffer | (() => Buffer)) => number;

export class ModuleHost implements HostServices {
  readonly memory: PersistentMemory;
  readonly environment: Environment;
  readonly timers: TimerTable;
  /** The import quotas; null when the owner turned them off (a benchmark's baseline). */
  readonly quotas: ImportQuotas | null;
  /** What buildImports asks before each call; absent without quotas. */
  readonly gate?: ImportGate;
  /**
   * Where hs.reply goes: set by the dispatcher around each message (a plain field, so the hot
   * path costs one store before and one after the call into the module).
   */
  replyTo: ReplyTarget | undefined = undefined;
  /** hs.next_message: set by the dispatcher to its MessageBatch's (-1 outside a batch). */
  nextMessage: () => number = () => -1;
  readonly #name: string;
  readonly #log: Logger;
  readonly #bus: BusDeliver | undefined;
  readonly #channels = new Map<number, Channel>();
  /** Crash survival: results and admissions recorded (or replayed), logs not repeated by a replay. */
  readonly #journal: ComponentJournal | undefined;
  #output = '';

  constructor(options: {
    name: string;
    memory: PersistentMemory;
    environment: Environment;
    log: Logger;
    bus: BusDeliver | undefined;
    /** What a due timer does: queue a timer event for the module. */
    fireTimer: (id: number) => void;
    /** The limits; null: no quotas at all. */
    quotas: Readonly<QuotaLimits> | null;
    /** The first quota hit of a callback (one violation, for probation). */
    violated?: (resource: QuotaResource) => void;
    /** A per-second window with activity ended. */
    windowEnded?: () => void;
    scheduler?: Scheduler;
    journal?: ComponentJournal | undefined;
  }) {
    this.#name = options.name;
    this.memory = options.memory;
    this.environment = options.environment;
    this.#log = options.log;
    this.#bus = options.bus;
    const scheduler = options.scheduler ?? nodeScheduler;
    this.timers = new TimerTable(options.fireTimer, () => this.environment.monotonicMs(), scheduler);
    const windowEnded = options.windowEnded;
    this.quotas = options.quotas
      ? new ImportQuotas({
          limits: options.quotas,
          scheduler,
          violated: options.violated ?? (() => {}),
          windowEnded: (suppressed) => {
            this.#summarise(suppressed);
            windowEnded?.();
          },
        })
      : null;
    this.#journal = options.journal;
    const q = this.quotas;
    const j = options.journal;
    if (q && j) {
      // Bound once, not per call: a flood of refused calls must not allocate.
      const send = (n: number): boolean => q.send(n);
      const log = (n: number): boolean => q.log(n);
      this.gate = { send: (n) => j.admitted(send, n), log: (n) => j.admitted(log, n), output: (n) => q.output(n) };
    } else if (q) this.gate = q;
  }

  /**
   * A callback is about to run (the dispatcher, before every event): the per-callback budget is
   * whole again. A few stores, no clock.
   */
  beginEvent(): void {
    this.quotas?.beginCallback();
  }

  /** The component stops: cancel its timers and the quotas' window. */
  stop(): void {
    this.timers.clear();
    this.quotas?.stop();
  }

  attachChannel(index: number, channel: Channel): void {
    this.#channels.set(index, channel);
  }

  /** Runs `call` (the module's `status` export) and returns the text it wrote through hs.output. */
  captureOutput(call: () => void): string {
    this.#output = '';
    const quotas = this.quotas;
    quotas?.beginCallback();
    quotas?.beginOutput();
    try {
      call();
      const cut = quotas?.outputCut ?? 0;
      return cut > 0
        ? `${this.#output}\n[output truncated: ${cut} bytes over the ${quotas!.limits.outputBytes}-byte limit]\n`
        : this.#output;
    } finally {
      this.#output = '';
    }
  }

  reply(bytes: Buffer): number {
    const journal = this.#journal;
    if (!journal) return this.#reply(bytes);
    // As send's: the reply waits in a field for a function bound once, not in a closure per
    // reply (garbage on the hottest output path of a journaled component).
    this.#replyBytes = bytes;
    const result = journal.result(this.#replyNow);
    this.#replyBytes = NO_BYTES;
    return result;
  }
  #replyBytes: Buffer = NO_BYTES;
  readonly #replyNow = (): number => this.#reply(this.#replyBytes);

  send(channel: number, peer: string, ptr: number, len: number): number {
    // The send's arguments wait in fields for functions bound once, instead of closures per
    // send: the journal makes the call (or serves its recorded result), and the bus reads the
    // bytes only once the receiver took the message. A bus flood sends hundreds of thousands a
    // second, and each closure or refused copy is garbage the collector must pause for
    // (docs/SAFETY.md, "What a flood allocates"). A wild range traps here, before the journal,
    // so that it traps in a replay too, and whether or not the message would have been taken.
    this.memory.checkRange(ptr, len);
    this.#sendChannel = channel;
    this.#sendPeer = peer;
    this.#sendPtr = ptr;
    this.#sendLen = len;
    const journal = this.#journal;
    return journal ? journal.result(this.#sendNow) : this.#sendNow();
  }
  #sendChannel = 0;
  #sendPeer = '';
  #sendPtr = 0;
  #sendLen = 0;
  readonly #sendBytes = (): Buffer => this.memory.read(this.#sendPtr, this.#sendLen);
  readonly #sendNow = (): number => this.#send(this.#sendChannel, this.#sendPeer);

  #reply(bytes: Buffer): number {
    const target = this.replyTo;
    if (!target) return HostResult.noCurrentMessage;
    return target.reply(bytes);
  }

  #send(channel: number, peer: string): number {
    if (channel === BUS_CHANNEL) {
      if (!this.#bus) return HostResult.unknownPeer;
      const result = this.#bus(peer, this.#name, this.#sendBytes);
      if (result === HostResult.quotaExceeded) this.quotas?.busRefused();
      return result;
    }
    const ch = this.#channels.get(channel);
    if (!ch) return HostResult.unknownChannel;
    return ch.send(peer, this.#sendBytes());
  }

  log(level: number, text: string): void {
    if (this.#journal?.replaying) return;
    this.#log.log(levelName(level) as LogLevelName, text);
  }

  /**
   * Over `timers` timers, a new id is not set; a delay or repeat under `timerMinPeriodMs` is
   * raised to it (a short repeat counts as a hit, a short one-shot delay does not: `0` is the
   * usual "as soon as possible" and costs one event).
   */
  setTimer(id: number, delayMs: number, repeatMs: number): void {
    const quotas = this.quotas;
    if (quotas) {
      const { timers, timerMinPeriodMs: min } = quotas.limits;
      if (this.timers.size >= timers && !this.timers.has(id)) {
        quotas.timerHit('timers');
        return;
      }
      if (repeatMs > 0 && repeatMs < min) {
        quotas.timerHit('timerPeriod');
        repeatMs = min;
      }
      if (!(delayMs >= min)) delayMs = min;
    }
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

  /** One line per window in which log lines were dropped, instead of the lines. */
  #summarise(suppressed: Suppressed): void {
    if (suppressed.lines === 0) return;
    this.#log.warn(`${this.#name}: ${suppressed.lines} log lines (${formatBytes(suppressed.bytes)}) suppressed in the last 1 s`);
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(1)} GiB`;
}
