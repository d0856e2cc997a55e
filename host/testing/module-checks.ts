/**
 * The engine's checks, instrumentation, compile and warm-up of a module (the same ModuleFactory
 * an engine prepares uploads with), shareable between the TestComponents of one test file so
 * that its worker thread, and binaryen in it, start once.
 */
import { ModuleFactory } from '../component/module-factory.js';
import type { ModulePolicy } from '../modules/check.js';
import type { ClaimedModule } from '../modules/claimed.js';
import type { PreparedModule } from '../modules/prepared.js';

export class ModuleChecks {
  readonly #factory = new ModuleFactory();

  /** Checks and prepares `bytes`; throws ModuleRejected naming every problem, as an upload would. */
  prepare(bytes: Uint8Array, claimed: ClaimedModule, policy: ModulePolicy): Promise<PreparedModule> {
    return this.#factory.prepare(bytes, claimed, policy);
  }

  /** Ends the worker thread. */
  close(): Promise<void> {
    return this.#factory.close();
  }
}
