/**
 * Creates the component's module instances: over its persistent memory, with the import object
 * built from its host services and the capabilities it was granted, and with its WASI sandbox
 * for modules that import WASI. Swaps and fault recovery both instantiate through here.
 */
import type { HostCapabilities } from '../abi/capability-imports.js';
import { buildImports, type HostServices } from '../abi/imports.js';
import type { Logger } from '../log.js';
import type { PreparedModule } from '../modules/prepared.js';
import { WasiSandbox } from '../modules/wasi.js';
import { ModuleInstance } from './instance.js';

export class Instantiator {
  readonly #host: HostServices;
  readonly #capabilities: HostCapabilities | undefined;
  readonly #log: Logger;
  /** Created with the first module that imports WASI; then re-bound to every new instance. */
  #wasi: WasiSandbox | undefined;
  /**
   * Built once: every closure in it reaches the component's host services and persistent memory,
   * which outlive the instances, so each swap reuses it rather than building ~40 closures again.
   */
  #imports: WebAssembly.Imports | undefined;

  constructor(host: HostServices, capabilities: HostCapabilities | undefined, log: Logger) {
    this.#host = host;
    this.#capabilities = capabilities;
    this.#log = log;
  }

  /** A new instance of `module` over this component's memory, imports and WASI sandbox, activated (ready to run). */
  create(module: PreparedModule): ModuleInstance {
    return this.#instance(module, true);
  }

  /**
   * An instance of `module` created ahead of its swap, while the running one still serves, or
   * null when that would not be safe: the module was not rewritten to instantiate without side
   * effects (modules/activation.ts), it imports WASI (the sandbox is shared and would be bound
   * to it before the swap), or the memory is still smaller than it declares (growing it now
   * would change what the running module sees). Its caller activates it inside the swap.
   */
  createAhead(module: PreparedModule): ModuleInstance | null {
    if (!module.deferredActivation || module.usesWasi || this.#host.memory.pages < module.minPages) return null;
    return this.#instance(module, false);
  }

  #instance(module: PreparedModule, activate: boolean): ModuleInstance {
    if (module.usesWasi) {
      this.#wasi ??= new WasiSandbox((stream, line) => this.#log.log(stream === 'stderr' ? 'warn' : 'info', `${stream}: ${line}`));
    }
    const imports = (this.#imports ??= buildImports(this.#host, this.#capabilities));
    return new ModuleInstance(module, imports, { memory: this.#host.memory, ...(this.#wasi ? { wasi: this.#wasi } : {}) }, activate);
  }
}
