import { HEADER_OFFSET } from '../abi/abi.js';
import type { PreparedModule } from '../modules/prepared.js';

type Fn = (...args: number[]) => number;

/**
 * One live instance of a module: the paper's "event-receive symbol mapping" table. Its exports
 * are bound once, when it is created; a swap builds a new ModuleInstance and drops this one, so
 * no one keeps a reference through which the old instance could be called again (facts.md: a
 * stale call corrupted persistent bytes through its allocator's stale pointers).
 */
export class ModuleInstance {
  readonly module: PreparedModule;
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

  constructor(module: PreparedModule, imports: WebAssembly.Imports) {
    this.module = module;
    const ex = new WebAssembly.Instance(module.compiled, imports).exports as Record<string, Fn>;
    // Presence and signatures were checked before the module was accepted (modules/check.ts).
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
  }

  init(): number { return this.#init(HEADER_OFFSET); }
  restart(): number { return this.#restart(HEADER_OFFSET); }
  term(): void { this.#term(); }
  hold(): void { this.#hold(); }
  onMessage(channel: number, length: number): void { this.#onMessage(channel, length); }
  onTimer(id: number): void { this.#onTimer(id); }
  onSignal(signo: number): void { this.#onSignal(signo); }
  version(): void { this.#version(); }
  status(): void { this.#status(); }

  migrate(fromLayout: number): number {
    if (!this.#migrate) throw new Error(`${this.module.name}@${this.module.version} has no migrate export`);
    return this.#migrate(fromLayout);
  }
  migrateDown(toLayout: number): number {
    if (!this.#migrateDown) throw new Error(`${this.module.name}@${this.module.version} has no migrate_down export`);
    return this.#migrateDown(toLayout);
  }
}
