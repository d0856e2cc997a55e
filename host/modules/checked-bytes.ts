// Turns handed-over module bytes into checked, instrumented bytes: size, inspection, the ABI and
// policy checks, then fuel metering, dirty-page tracking and the activation rewrite; the part of
// preparing that runs in the worker.
import { deferActivation } from './activation.js';
import { checkModule, type ModulePolicy } from './check.js';
import { type ClaimedModule, fuelOf, labelOf } from './claimed.js';
import { instrumentDirtyPages } from './dirty-pages.js';
import { ModuleRejected } from './errors.js';
import { MAX_FUEL, meterFuel } from './fuel.js';
import { inspectModule, type ModuleInspection } from './inspect.js';

/** A module's bytes after the checks, rewritten to run under the policy (metered, dirty-tracked). */
export interface CheckedModule {
  /**
   * The bytes to compile: the input, fuel-metered and/or dirty-page instrumented as the policy
   * says, and always rewritten so that instantiating it writes nothing (modules/activation.ts).
   */
  readonly runnable: Uint8Array;
  /** What binaryen read from the input before any rewriting. */
  readonly info: ModuleInspection;
  /** Set when the result was read from a CheckedModuleStore instead of made now. */
  readonly stored?: true;
}

/**
 * Everything of preparing a module that is bytes in, bytes out: validation, binaryen inspection,
 * the ABI/policy checks, fuel metering, dirty-page instrumentation and the activation rewrite. It uses no host state and
 * takes 100+ ms for kv (binaryen), which is why the ModulePreparer runs it in a worker thread
 * (host/modules/prepare-worker.ts) instead of on the engine's event loop. Throws ModuleRejected
 * naming the module, the version and every problem found.
 */
export async function checkAndInstrument(
  bytes: Uint8Array<ArrayBuffer>,
  claimed: ClaimedModule,
  policy: ModulePolicy,
): Promise<CheckedModule> {
  const reject = (...problems: string[]): never => {
    throw new ModuleRejected(claimed.name, labelOf(claimed), problems);
  };
  if (bytes.byteLength > policy.maxModuleBytes) {
    reject(`module is ${bytes.byteLength} bytes, over the limit of ${policy.maxModuleBytes}`);
  }
  if (bytes.byteLength < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    reject('not a WebAssembly module (missing the \\0asm magic number)');
  }
  if (!WebAssembly.validate(bytes)) {
    let detail = 'invalid WebAssembly';
    try {
      await WebAssembly.compile(bytes);
    } catch (e) {
      detail = `invalid WebAssembly: ${(e as Error).message}`;
    }
    reject(detail);
  }
  let info: ModuleInspection;
  try {
    info = inspectModule(bytes);
  } catch (e) {
    return reject(`binaryen could not read the module: ${(e as Error).message}`);
  }
  const problems = checkModule(info, policy);
  if (problems.length > 0) reject(...problems);

  const fuel = fuelOf(policy);
  const metered = fuel ? meterFuel(bytes, fuel) : bytes;
  let runnable = metered;
  if (policy.trackDirtyPages) {
    try {
      runnable = instrumentDirtyPages(metered);
    } catch (e) {
      reject(`dirty-page instrumentation: ${(e as Error).message}`);
    }
  }
  try {
    runnable = deferActivation(runnable, fuel ? Math.min(fuel.lifecycle, MAX_FUEL) : null);
  } catch (e) {
    reject(`activation rewrite: ${(e as Error).message}`);
  }
  return { runnable, info };
}
