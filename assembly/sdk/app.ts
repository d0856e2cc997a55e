// The application contract of a module author: subclass App, override what you need, and
// register one instance from the module's entry file. The SDK's exports.ts turns the ABI's
// lifecycle and event callbacks into calls on it.
import { Message } from "./host";
import { HEADER_OFFSET, HDR_ROOT } from "./generated/abi";

export abstract class App {
  /** The module's version string, e.g. "1.0.0" (printed by `hotswap status`). */
  abstract get version(): string;
  /** Version of the persistent data layout this module reads and writes. */
  get layoutVersion(): u32 { return 1; }

  /** INIT: first load over a fresh memory; create the persistent root here. */
  onInit(): bool { return true; }
  /** RESTART: loaded over memory a previous version used; reopen the root. */
  onRestart(): bool { return true; }
  /** TERM: stop work immediately (the module is about to be replaced or the engine stops). */
  onTerm(): void {}
  /** HOLD: become quiescent; flush anything transient that must survive into persistent memory. */
  onHold(): void {}
  onMessage(msg: Message): void {}
  onTimer(id: u32): void {}
  onSignal(signo: u32): void {}
  /** Human-readable status block for `hotswap show`. */
  status(): string { return ""; }
  /** Converts the persistent data from layout `from` to this module's layout. */
  migrate(from: u32): bool { return false; }
  /** Converts the persistent data from this module's layout back to layout `to`. */
  migrateDown(to: u32): bool { return false; }
}

let current: App | null = null;

/** Installs the module's application object; call once from the entry file's top level. */
export function register(app: App): void { current = app; }

export function theApp(): App {
  const app = current;
  if (app === null) abort("no App registered: call register(new MyApp()) in the entry file");
  return app!;
}

/** The application's persistent root object (0 until set). */
export namespace root {
  export function get(): usize { return <usize>load<u32>(HEADER_OFFSET + HDR_ROOT); }
  export function set(ptr: usize): void { store<u32>(HEADER_OFFSET + HDR_ROOT, <u32>ptr); }
}
