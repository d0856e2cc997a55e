// One live instance of a module: its ABI exports bound once, each call turning a trap into a
// CallbackTrap that says why (fuel, memory, stack, abort).
import {
  ACTIVATE_EXPORT,
  EXPORT_NAMES,
  EXPORTS,
  type ExportName,
  FUEL_GLOBAL,
  type FuelKind,
  HEADER_OFFSET,
  type OptionalExportName,
  type RequiredExportName,
} from '../abi/abi.js';
import type { PersistentMemory } from '../abi/memory.js';
import type { PreparedModule } from '../modules/prepared.js';
import type { WasiSandbox } from '../modules/wasi.js';

type Fn = (...args: number[]) => number;
/** A module's ABI exports (EXPORTS in abi/abi.ts), bound by name; the optional ones may be missing. */
type BoundExports = { readonly [K in ExportName]: K extends RequiredExportName ? Fn : Fn | undefined };

/** Why a callback stopped early; FaultRecord and SwapReport carry it into the history. */
export type TrapKind = 'fuel' | 'memory' | 'stack' | 'abort' | 'trap';

/** A callback trapped. The message names the module, version, callback and the reason. */
export class CallbackTrap extends Error {
  constructor(
    readonly kind: TrapKind,
    readonly callback: string,
    readonly module: PreparedModule,
    detail: string,
    /** Where in the callback, e.g. a batched message's place in its batch. */
    context = '',
  ) {
    super(`${callback}${context ? ` (${context})` : ''} of ${module.name}@${module.version} ${detail}`);
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
 * no one keeps a reference through which the old instance could be called again (a stale call
 * corrupted persistent bytes through its allocator's stale pointers: docs/MEASUREMENTS.md).
 *
 * Each export refills its own fuel budget on entry (the trampolines of modules/fuel.ts), so the
 * host sets nothing per call; every call turns a trap into a CallbackTrap that says why: out of
 * fuel, out of memory at the cap, stack overflow, abort.
 */
export class ModuleInstance {
  readonly module: PreparedModule;
  readonly #exports: BoundExports;
  // The event callbacks, cached in their own fields: the dispatch path calls them directly.
  readonly #onMessage: Fn;
  readonly #onTimer: Fn;
  readonly #onSignal: Fn;
  /** The optional batch export; undefined: messages go one by one through on_message. */
  readonly #onMessages: Fn | undefined;
  readonly #fuel: WebAssembly.Global | undefined;
  readonly #context: InstanceContext | undefined;
  /** Until activate() ran: the instance and its WASI sandbox, bound to each other only then. */
  #pending: { instance: WebAssembly.Instance; wasi: WasiSandbox | undefined } | null;

  /**
   * Instantiates `module`. A prepared module's instantiation writes no memory and runs no code
   * (modules/activation.ts); with `activate` (the default) its data segments and top-level code
   * run right away, as instantiation did before. A swap passes false to create the instance
   * while the old one still serves, and calls activate() inside the pause.
   */
  constructor(module: PreparedModule, imports: WebAssembly.Imports, context?: InstanceContext, activate = true) {
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
    this.#exports = bindExports(instance, module);
    this.#onMessage = this.#exports.on_message;
    this.#onTimer = this.#exports.on_timer;
    this.#onSignal = this.#exports.on_signal;
    this.#onMessages = this.#exports.on_messages;
    this.#fuel = module.fuel ? (instance.exports[FUEL_GLOBAL] as WebAssembly.Global | undefined) : undefined;
    this.#pending = { instance, wasi };
    if (activate) this.activate();
  }

  /**
   * Copies the module's static data into place and runs its top-level code (the ACTIVATE_EXPORT
   * the preparation added; a module without it ran both when it was instantiated). Once: later
   * calls do nothing. A trap names the callback as an instantiation's did, so a module whose
   * top-level code fails is reported the same whether it was instantiated ahead or not.
   */
  activate(): this {
    const pending = this.#pending;
    if (!pending) return this;
    this.#pending = null;
    pending.wasi?.bind(pending.instance);
    const run = pending.instance.exports[ACTIVATE_EXPORT];
    const pages = this.#context?.memory.pages ?? 0;
    try {
      if (typeof run === 'function') (run as () => void)();
    } catch (e) {
      throw this.#explain('instantiation (top-level code)', 'lifecycle', e, pages);
    } finally {
      pending.wasi?.flush();
    }
    return this;
  }

  abiVersion(): number {
    return this.#call('abi_version', () => this.#exports.abi_version());
  }
  layoutVersion(): number {
    return this.#call('layout_version', () => this.#exports.layout_version());
  }
  init(): number {
    return this.#call('init', () => this.#exports.init(HEADER_OFFSET));
  }
  restart(): number {
    return this.#call('restart', () => this.#exports.restart(HEADER_OFFSET));
  }
  term(): void {
    this.#call('term', () => this.#exports.term());
  }
  hold(): void {
    this.#call('hold', () => this.#exports.hold());
  }
  version(): void {
    this.#call('version', () => this.#exports.version());
  }
  status(): void {
    this.#call('status', () => this.#exports.status());
  }
  onTimer(id: number): void {
    this.#call('on_timer', () => this.#onTimer(id));
  }
  onSignal(signo: number): void {
    this.#call('on_signal', () => this.#onSignal(signo));
  }

  /** The hot path: written out instead of going through #call, so no closure per message. */
  onMessage(channel: number, length: number): void {
    const pages = this.#context?.memory.pages ?? 0;
    try {
      this.#onMessage(channel, length);
    } catch (e) {
      throw this.#explain('on_message', EXPORTS.on_message.fuel, e, pages);
    } finally {
      if (this.module.usesWasi) this.#context?.wasi?.flush();
    }
  }

  /** True when the module takes messages in batches (the optional on_messages export). */
  get batches(): boolean {
    return this.#onMessages !== undefined;
  }

  /**
   * A batch of `count` messages in the batch inbox (MessageBatch); the host learns each one's
   * start through hs.next_message. A trap is the message's own, so it names `on_message` (the
   * callback each message runs), and its text the message's place, from `position` (e.g.
   * "message 3 of 8 in the batch"), asked only then.
   */
  onMessages(count: number, position: () => string): void {
    const pages = this.#context?.memory.pages ?? 0;
    try {
      this.#onMessages!(count);
    } catch (e) {
      throw this.#explain('on_message', EXPORTS.on_messages.fuel, e, pages, position());
    } finally {
      if (this.module.usesWasi) this.#context?.wasi?.flush();
    }
  }

  migrate(fromLayout: number): number {
    const fn = this.#optional('migrate');
    return this.#call('migrate', () => fn(fromLayout));
  }
  migrateDown(toLayout: number): number {
    const fn = this.#optional('migrate_down');
    return this.#call('migrate_down', () => fn(toLayout));
  }

  #optional(name: OptionalExportName): Fn {
    const fn = this.#exports[name];
    if (!fn) throw new Error(`${this.module.name}@${this.module.version} has no ${name} export`);
    return fn;
  }

  /** Calls an export; a trap becomes a CallbackTrap that names the export's fuel budget (EXPORTS). */
  #call<T>(callback: ExportName, fn: () => T): T {
    const pages = this.#context?.memory.pages ?? 0;
    try {
      return fn();
    } catch (e) {
      throw this.#explain(callback, EXPORTS[callback].fuel, e, pages);
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
  #explain(callback: string, kind: FuelKind, e: unknown, pagesBefore: number, context = ''): CallbackTrap {
    const message = e instanceof Error ? e.message : String(e);
    const fuel = this.module.fuel;
    const memory = this.#context?.memory;
    if (fuel && this.#fuel && (this.#fuel.value as number) < 0) {
      return new CallbackTrap('fuel', callback, this.module, `ran out of fuel (budget ${fuel[kind]} units for ${kind})`, context);
    }
    if (e instanceof RangeError && /call stack/i.test(message)) {
      return new CallbackTrap('stack', callback, this.module, `overflowed the stack (deep recursion): ${message}`, context);
    }
    if (e instanceof Error && e.name === 'ModuleAbort') return new CallbackTrap('abort', callback, this.module, message, context);
    if (memory && (memory.pages > pagesBefore || memory.pages >= memory.maxPages)) {
      return new CallbackTrap(
        'memory',
        callback,
        this.module,
        `trapped after growing memory to ${memory.pages} of the component's cap of ${memory.maxPages} pages (out of memory): ${message}`,
        context,
      );
    }
    return new CallbackTrap('trap', callback, this.module, `trapped: ${message}`, context);
  }
}

/**
 * Binds every export of the ABI's table by name. Presence and signatures were checked before
 * the module was accepted (modules/check.ts), so a missing required export is a host bug.
 */
function bindExports(instance: WebAssembly.Instance, module: PreparedModule): BoundExports {
  const bound: Partial<Record<ExportName, Fn>> = {};
  for (const name of EXPORT_NAMES) {
    const fn = instance.exports[name];
    if (typeof fn === 'function') bound[name] = fn as Fn;
    else if (EXPORTS[name].required) throw new Error(`${module.name}@${module.version} does not export the function ${name}`);
  }
  return bound as BoundExports;
}

function mergeNamespaces(base: WebAssembly.Imports, over: WebAssembly.Imports): WebAssembly.Imports {
  const out: WebAssembly.Imports = { ...base };
  for (const [ns, fns] of Object.entries(over)) out[ns] = { ...(base[ns] ?? {}), ...fns };
  return out;
}
