/**
 * Import quotas of one component (docs/SAFETY.md, "Import quotas"): what a module may consume
 * through its imports per callback and per second, counted before the host reads a byte of the
 * module's memory for the call. ImportQuotas is the gate the import object asks (ImportGate);
 * QuotaHits counts the refusals per resource for status, /metrics and the history.
 */
import type { ImportGate } from '../abi/imports.js';
import type { ScheduledHandle, Scheduler } from './timers.js';

/** The limits, per component (config `limits.*`; defaults in DEFAULT_QUOTAS). */
export interface QuotaLimits {
  /** Timers a component may hold at once; timer_set of one more id is ignored (and counted). */
  timers: number;
  /** Shortest delay and repeat of a timer, in ms; shorter ones are raised to it. */
  timerMinPeriodMs: number;
  /** Log lines and bytes per second; the excess is dropped unread and summarised once a second. */
  logLinesPerSecond: number;
  logBytesPerSecond: number;
  /** Bytes one call of `status` (or `version`) may write through hs.output; the rest is cut. */
  outputBytes: number;
  /** Sends and replies (together, with route changes) within one callback, and their bytes. */
  sendsPerCallback: number;
  sendBytesPerCallback: number;
  /** The same per second, whatever callback they come from (timers included). */
  sendsPerSecond: number;
  sendBytesPerSecond: number;
  /** Callbacks over a quota a version on probation may have before it is rolled back. */
  quotaFaults: number;
}

const MiB = 1024 * 1024;

/**
 * Defaults a normal module never meets (the reasons are in docs/SAFETY.md): they are there to
 * stop floods, not to shape traffic.
 */
export const DEFAULT_QUOTAS: Readonly<QuotaLimits> = Object.freeze({
  timers: 256,
  timerMinPeriodMs: 10,
  logLinesPerSecond: 1000,
  logBytesPerSecond: 1 * MiB,
  outputBytes: 64 * 1024,
  sendsPerCallback: 256,
  sendBytesPerCallback: 4 * MiB,
  sendsPerSecond: 10_000_000,
  sendBytesPerSecond: 1024 * MiB,
  quotaFaults: 100,
});

/** The resources counted, as they appear in status, /metrics and the history. */
export const QUOTA_RESOURCES = ['sends', 'sendBytes', 'busBacklog', 'logLines', 'logBytes', 'timers', 'timerPeriod', 'output'] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];

const RESOURCE_INDEX: Readonly<Record<QuotaResource, number>> = Object.freeze(
  Object.fromEntries(QUOTA_RESOURCES.map((r, i) => [r, i])) as Record<QuotaResource, number>,
);

/**
 * Hits per resource: every import call refused, cut or clamped because of a quota. A flood of
 * refused calls counts each one (millions per callback), so the counters are slots of a typed
 * array rather than a Map: a Map update was a fifth of the cost of a refused call.
 */
export class QuotaHits {
  readonly #counts = new Float64Array(QUOTA_RESOURCES.length);

  add(resource: QuotaResource, n = 1): void {
    this.#counts[RESOURCE_INDEX[resource]]! += n;
  }
  get(resource: QuotaResource): number {
    return this.#counts[RESOURCE_INDEX[resource]]!;
  }
  /** The resources hit at least once, in QUOTA_RESOURCES order. */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < QUOTA_RESOURCES.length; i++) if (this.#counts[i]! > 0) out[QUOTA_RESOURCES[i]!] = this.#counts[i]!;
    return out;
  }
}

/** Log lines and bytes dropped in the last window, for the one summary line per second. */
export interface Suppressed {
  lines: number;
  bytes: number;
}

/**
 * The per-callback and per-second counters. Per-callback counters are zeroed by
 * beginCallback() (the dispatcher, before each event); per-second counters by a window timer
 * that is armed by the first callback (or log line) of a window and not re-armed while the
 * module is quiet, so the import path never reads the clock and an idle component costs nothing.
 */
export class ImportQuotas implements ImportGate {
  readonly limits: Readonly<QuotaLimits>;
  readonly hits = new QuotaHits();
  readonly #scheduler: Scheduler;
  readonly #violated: (resource: QuotaResource) => void;
  readonly #windowEnded: (suppressed: Suppressed) => void;
  // Sends and their bytes, per callback and per second, as ONE budget per callback: what is left
  // of the smaller of the callback's limit and what the window has left when the callback
  // began. send() then only takes from two numbers (it runs inside the reply import, whose
  // inlined code the JIT keeps within a budget: docs/PERFORMANCE.md, "Quota cost"); the
  // callback's use is added to the window's when the next callback begins or the window ends.
  #sendsBudget = 0;
  #bytesBudget = 0;
  #sendsLeft = 0;
  #bytesLeft = 0;
  #inViolation = false;
  // Per second: the window's use by the callbacks before the current one. Counted up from 0, not
  // down from the limit, so that they stay small integers (a limit such as 1 GiB is not one to
  // V8, and a field holding it would be a boxed double written at every callback).
  #secondSends = 0;
  #secondSendBytes = 0;
  // The per-callback limits, in fields of their own: the fold reads them at every callback.
  readonly #callbackSends: number;
  readonly #callbackBytes: number;
  #logLines = 0;
  #logBytes = 0;
  #suppressedLines = 0;
  #suppressedBytes = 0;
  #window: ScheduledHandle | null = null;
  // Per call of status/version.
  #outputBytes = 0;
  #outputCut = 0;

  constructor(options: {
    limits: Readonly<QuotaLimits>;
    scheduler: Scheduler;
    /** The first hit of a callback: the callback is one quota violation (probation counts them). */
    violated: (resource: QuotaResource) => void;
    /** A window with activity ended (its counters are zeroed right after). */
    windowEnded: (suppressed: Suppressed) => void;
  }) {
    this.limits = options.limits;
    this.#scheduler = options.scheduler;
    this.#violated = options.violated;
    this.#windowEnded = options.windowEnded;
    this.#callbackSends = options.limits.sendsPerCallback;
    this.#callbackBytes = options.limits.sendBytesPerCallback;
    this.#fold();
  }

  /**
   * A new callback starts: its budget is whole again (as far as the window allows). It runs
   * before every event: a compare, a few additions and stores, no clock. The window is armed by
   * the first callback that finds it idle, so the sends it counts always fall inside one.
   */
  beginCallback(): void {
    if (this.#window === null) this.#arm();
    this.#fold();
    this.#inViolation = false;
  }

  /** A send or reply of `bytes`: true to go ahead, false when over quota (the call returns -6). */
  send(bytes: number): boolean {
    const sendsLeft = this.#sendsLeft - 1;
    const bytesLeft = this.#bytesLeft - bytes;
    if (sendsLeft < 0 || bytesLeft < 0) return this.#refuse(bytes);
    this.#sendsLeft = sendsLeft;
    this.#bytesLeft = bytesLeft;
    return true;
  }

  /**
   * The callback's sends so far are added to the window's, and its budget is set from what the
   * window has left (never below 0: a send is admitted only within the budget).
   */
  #fold(): void {
    const secondSends = this.#secondSends + (this.#sendsBudget - this.#sendsLeft);
    const secondBytes = this.#secondSendBytes + (this.#bytesBudget - this.#bytesLeft);
    this.#secondSends = secondSends;
    this.#secondSendBytes = secondBytes;
    const l = this.limits;
    const roomSends = l.sendsPerSecond - secondSends;
    const roomBytes = l.sendBytesPerSecond - secondBytes;
    const sends = Math.min(roomSends, this.#callbackSends);
    const bytes = Math.min(roomBytes, this.#callbackBytes);
    this.#sendsBudget = sends;
    this.#sendsLeft = sends;
    this.#bytesBudget = bytes;
    this.#bytesLeft = bytes;
  }

  /** A send over the budget: which limit it crossed, checked in the order the limits are documented. */
  #refuse(bytes: number): false {
    const sends = this.#sendsBudget - this.#sendsLeft + 1;
    const sendBytes = this.#bytesBudget - this.#bytesLeft + bytes;
    if (sends > this.#callbackSends) return this.#hit('sends');
    if (sendBytes > this.#callbackBytes) return this.#hit('sendBytes');
    if (this.#secondSends + sends > this.limits.sendsPerSecond) return this.#hit('sends');
    return this.#hit('sendBytes');
  }

  /** A log line of `bytes`: false to drop it without reading it (counted for the summary). */
  log(bytes: number): boolean {
    if (this.#window === null) this.#arm();
    const lines = this.#logLines + 1;
    const total = this.#logBytes + bytes;
    if (lines > this.limits.logLinesPerSecond || total > this.limits.logBytesPerSecond) {
      this.#suppressedLines++;
      this.#suppressedBytes += bytes;
      return this.#hit(lines > this.limits.logLinesPerSecond ? 'logLines' : 'logBytes');
    }
    this.#logLines = lines;
    this.#logBytes = total;
    return true;
  }

  /** A call of `status`/`version` starts: its output budget is whole again. */
  beginOutput(): void {
    this.#outputBytes = 0;
    this.#outputCut = 0;
  }

  /** `bytes` more output: how many of them to keep (the rest is cut and counted). */
  output(bytes: number): number {
    const room = Math.max(0, this.limits.outputBytes - this.#outputBytes);
    const keep = Math.min(room, bytes);
    this.#outputBytes += keep;
    if (keep < bytes) {
      this.#outputCut += bytes - keep;
      this.#hit('output');
    }
    return keep;
  }

  /** Bytes of output cut since beginOutput(). */
  get outputCut(): number {
    return this.#outputCut;
  }

  /**
   * A bus message the receiver refused (its bus share or its whole queue is full): the sender
   * outruns the receiver, which is a flood whatever the per-callback counts say, so it counts
   * as a violation like any other hit.
   */
  busRefused(): void {
    this.#hit('busBacklog');
  }

  /** A timer request over a limit (count or period): counted like any other hit. */
  timerHit(resource: 'timers' | 'timerPeriod'): void {
    this.#hit(resource);
  }

  /** The component stops: no window timer may outlive it. */
  stop(): void {
    if (this.#window !== null) this.#scheduler.clearTimeout(this.#window);
    this.#window = null;
  }

  #hit(resource: QuotaResource): false {
    this.hits.add(resource);
    if (this.#window === null) this.#arm(); // its end reports the hits (QuotaReports), whatever the resource
    if (!this.#inViolation) {
      this.#inViolation = true;
      this.#violated(resource);
    }
    return false;
  }

  #arm(): void {
    const handle = this.#scheduler.setTimeout(() => this.#endWindow(), 1000);
    handle.unref?.();
    this.#window = handle;
  }

  #endWindow(): void {
    this.#window = null;
    const suppressed = { lines: this.#suppressedLines, bytes: this.#suppressedBytes };
    // Between callbacks (a timer never fires inside one): the last callback's sends belong to
    // the window ending now, and whatever runs before the next callback begins gets a budget
    // from the new window.
    this.#fold();
    this.#secondSends = 0;
    this.#secondSendBytes = 0;
    this.#fold();
    this.#logLines = 0;
    this.#logBytes = 0;
    this.#suppressedLines = 0;
    this.#suppressedBytes = 0;
    this.#windowEnded(suppressed);
  }
}
