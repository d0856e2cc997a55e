import { FUEL_GLOBAL, HEADER_OFFSET } from '../abi/abi.js';
import type { PersistentMemory } from '../abi/memory.js';
import type { FuelKind } from '../modules/fuel-budgets.js';
import type { PreparedModule } from '../modules/prepared.js';
import type { WasiSandbox } from '../modules/wasi.js';

type Fn = (...args: number[]) => number;

/** Why a callback stopped early; FaultRecord and SwapReport carry it into the history. */
export type TrapKind = 'fuel' | 'memory' | 'stack' | 'abort' | 'trap';

/** A callback trapped. The message names the module, version, callback and the reason. */
export class CallbackTrap extends Error {
  constructor(
    readonly kind: TrapKind,
    readonly callback: string,
    readonly module: PreparedModule,
    detail: string,
  ) {
    super(`${callback} of ${module.name}@${module.version} ${detail}`);
    this.name = 'CallbackTrap';
  }
}

/** What an instance needs from its component besides the import object. */
export interface InstanceContext {
  /** The component's memory: used to tell "grew into the cap" from other traps. */
  readonly memory: PersistentMemory;
  /** The component's WASI sandbox, for modules that import WASI. */
  readonly wasi?: WasiSandbox;
}

/**
 * One live instance of a module: the paper's "event-receive symbol mapping" table. Its exports
 * are bound once, when it is created; a swap builds a new ModuleInstance and drops this one, so
 * no one keeps a reference through which the old instance could be called again (facts.md: a
 * stale call corrupted persistent bytes through its allocator's stale pointers).
 *
 * Each export refills its own fuel budget on entry (the trampolines of modules/fuel.ts), so the
 * host sets nothing per call; every call turns a trap into a CallbackTrap that says why: out of
 * fuel, out of memory at the cap, stack overflow, abort.
 */
export class ModuleInstance {
  readonly module: PreparedModule;
  readonly #abiVersion: Fn;
  readonly #layoutVersion: Fn;
  readonly #init: Fn;
  readonly #restart: Fn;
  readonly #term: Fn;
  readonly #hold: Fn;
  readonly #onMessage: Fn;
  readonly #onTimer: Fn;
  readonly #onSignal: Fn;
  readonly #version: Fn;
  readonly #status: Fn;
  readonly #migrate: Fn | undefined;
  readonly #migrateDown: Fn | undefined;
  readonly #fuel: WebAssembly.Global | undefined;
  readonly #context: InstanceContext | undefined;

  constructor(module: PreparedModule, imports: WebAssembly.Imports, context?: InstanceContext) {
    this.module = module;
    this.#context = context;
    const wasi = module.usesWasi ? context?.wasi : undefined;
    if (module.usesWasi && !wasi) throw new Error(`${module.name}@${module.version} imports WASI but the component has no WASI sandbox`);
    // The WASI namespace is merged function by function: @wasmer/wasi supplies fd_write and
    // proc_exit, the host's import object overrides the clock and randomness (abi/imports.ts).
    const all = wasi ? mergeNamespaces(wasi.imports(module.compiled), imports) : imports;
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(module.compiled, all);
    } catch (e) {
      throw this.#explain('instantiation (top-level code)', 'lifecycle', e, context?.memory.pages ?? 0);
    }
    wasi?.bind(instance);
    const ex = instance.exports as Record<string, Fn>;
    // Presence and signatures were checked before the module was accepted (modules/check.ts).
    this.#abiVersion = ex.abi_version!;
    this.#layoutVersion = ex.layout_version!;
    this.#init = ex.init!;
    this.#restart = ex.restart!;
    this.#term = ex.term!;
    this.#hold = ex.hold!;
    this.#onMessage = ex.on_message!;
    this.#onTimer = ex.on_timer!;
    this.#onSignal = ex.on_signal!;
    this.#version = ex.version!;
    this.#status = ex.status!;
    this.#migrate = ex.migrate;
    this.#migrateDown = ex.migrate_down;
    this.#fuel = module.fuel ? (instance.exports[FUEL_GLOBAL] as WebAssembly.Global | undefined) : undefined;
    wasi?.flush();
  }

  abiVersion(): number { return this.#call('abi_version', 'lifecycle', () => this.#abiVersion()); }
  layoutVersion(): number { return this.#call('layout_version', 'lifecycle', () => this.#layoutVersion()); }
  init(): number { return this.#call('init', 'init', () => this.#init(HEADER_OFFSET)); }
  restart(): number { return this.#call('restart', 'restart', () => this.#restart(HEADER_OFFSET)); }
  term(): void { this.#call('term', 'lifecycle', () => this.#term()); }
  hold(): void { this.#call('hold', 'lifecycle', () => this.#hold()); }
  version(): void { this.#call('version', 'lifecycle', () => this.#version()); }
  status(): void { this.#call('status', 'lifecycle', () => this.#status()); }
  onTimer(id: number): void { this.#call('on_timer', 'timer', () => this.#onTimer(id)); }
  onSignal(signo: number): void { this.#call('on_signal', 'signal', () => this.#onSignal(signo)); }

  /** The hot path: written out instead of going through #call, so no closure per message. */
  onMessage(channel: number, length: number): void {
    const pages = this.#context?.memory.pages ?? 0;
    try {
      this.#onMessage(channel, length);
    } catch (e) {
      throw this.#explain('on_message', 'message', e, pages);
    } finally {
      if (this.module.usesWasi) this.#context?.wasi?.flush();
    }
  }

  migrate(fromLayout: number): number {
    const fn = this.#migrate;
    if (!fn) throw new Error(`${this.module.name}@${this.module.version} has no migrate export`);
    return this.#call('migrate', 'migrate', () => fn(fromLayout));
  }
  migrateDown(toLayout: number): number {
    const fn = this.#migrateDown;
    if (!fn) throw new Error(`${this.module.name}@${this.module.version} has no migrate_down export`);
    return this.#call('migrate_down', 'migrate', () => fn(toLayout));
  }

  #call<T>(callback: string, kind: FuelKind, fn: () => T): T {
    const pages = this.#context?.memory.pages ?? 0;
    try {
      return fn();
    } catch (e) {
      throw this.#explain(callback, kind, e, pages);
    } finally {
      if (this.module.usesWasi) this.#context?.wasi?.flush();
    }
  }

  /**
   * Names the reason for a trap; what the module was doing is only visible right after it.
   * "Out of memory" is inferred: a trap (not an abort) in a call that grew the memory, or with
   * the memory at its cap. AssemblyScript's allocator traps with `unreachable` when a grow is
   * refused, and Wasm gives no other signal (docs/SAFETY.md).
   */
  #explain(callback: string, kind: FuelKind, e: unknown, pagesBefore: number): CallbackTrap {
    const message = e instanceof Error ? e.message : String(e);
    const fuel = this.module.fuel;
    const memory = this.#context?.memory;
    if (fuel && this.#fuel && (this.#fuel.value as number) < 0) {
      return new CallbackTrap('fuel', callback, this.module, `ran out of fuel (budget ${fuel[kind]} units for ${kind})`);
    }
    if (e instanceof RangeError && /call stack/i.test(message)) {
      return new CallbackTrap('stack', callback, this.module, `overflowed the stack (deep recursion): ${message}`);
    }
    if (e instanceof Error && e.name === 'ModuleAbort') return new CallbackTrap('abort', callback, this.module, message);
    if (memory && (memory.pages > pagesBefore || memory.pages >= memory.maxPages)) {
      return new CallbackTrap('memory', callback, this.module,
        `trapped after growing memory to ${memory.pages} of the component's cap of ${memory.maxPages} pages (out of memory): ${message}`);
    }
    return new CallbackTrap('trap', callback, this.module, `trapped: ${message}`);
  }
}

function mergeNamespaces(base: WebAssembly.Imports, over: WebAssembly.Imports): WebAssembly.Imports {
  const out: WebAssembly.Imports = { ...base };
  for (const [ns, fns] of Object.entries(over)) out[ns] = { ...(base[ns] ?? {}), ...fns };
  return out;
}
