/**
 * The port through which a component's event journal (crash survival, host/durability/) sees
 * every event, every result a module observes and every output it makes. Declared here, in the
 * component layer, and implemented one layer up, so the component never imports its journal.
 * A component without one (durability `none`, a test) runs exactly as before.
 */
import type { HostCapabilities } from '../abi/capability-imports.js';
import type { Environment } from '../abi/imports.js';
import type { ComponentEvent } from './events.js';

/** Holds an output (a datagram, a line, a bus message) until the event that made it is durable. */
export interface OutputGate {
  /**
   * Runs `write(arg)` now, or once the records appended so far are durable; true when it ran
   * now. A hot path passes a function bound once and its argument, not a closure per output.
   */
  pass(write: () => void): boolean;
  pass<T>(write: (arg: T) => void, arg: T): boolean;
  /** An output passed now would be held (not run at once). */
  readonly holding: boolean;
}

/** The gate of a component without a journal: every output leaves at once. */
export const openGate: OutputGate = {
  pass<T>(write: (arg: T) => void, arg?: T): boolean {
    write(arg as T);
    return true;
  },
  holding: false,
};

export interface ComponentJournal {
  /** The clocks and randomness the component's modules see: recorded per event, or replayed. */
  readonly environment: Environment;
  readonly gate: OutputGate;
  /** True while recovery replays the journal: outputs and logs are not repeated. */
  readonly replaying: boolean;
  /** `event` is about to reach the module: what it observes from now on belongs to its record. */
  begin(event: ComponentEvent): void;
  /** `event` was handled (or trapped): its record is appended (nothing while replaying). */
  end(event: ComponentEvent): void;
  /** Timer `id` expired (its table entry changed); recorded in order with the events. */
  timerExpired(id: number): void;
  /** A host call's result (reply, send, a route change): recorded, or served from the record without making the call. */
  result(call: () => number): number;
  /** A quota's admission of a call of `n` bytes, `call(n)`, likewise (its per-second window depends on wall time). */
  admitted(call: (n: number) => boolean, n: number): boolean;
  /** The granted capabilities as this journal's modules see them (what they read is recorded). */
  capabilities(granted: HostCapabilities | undefined): HostCapabilities | undefined;
  /**
   * `listener(true)` when the gate starts holding outputs for their records, `listener(false)`
   * once it holds none (the dispatch scheduler shortens other slices while only a sync is awaited).
   */
  watchHeld(listener: (held: boolean) => void): void;
}
