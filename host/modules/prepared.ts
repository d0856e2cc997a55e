/**
 * The PreparedModule (a module that passed its checks and is compiled, ready to be instantiated
 * in a swap) and the first half of getting one: checking, instrumenting and compiling the bytes.
 * The second half, the warm-up, instantiates the module and so lives one layer up, in
 * host/component/module-factory.ts.
 */

import { createHash } from 'node:crypto';
import v8 from 'node:v8';
import { ACTIVATE_EXPORT } from '../abi/abi.js';
import type { ModulePolicy } from './check.js';
import { type ClaimedModule, fuelOf } from './claimed.js';
import type { FuelBudgets } from './fuel-budgets.js';
import type { ModulePreparer } from './preparer.js';
import { usesWasi, wasiReady } from './wasi.js';

/** A module that passed its checks and is compiled, ready to be instantiated in a swap. */
export interface PreparedModule {
  /** Name under which it is stored (usually the component's module name, e.g. "kv"). */
  readonly name: string;
  /** Version string the module reports through its `version` export. */
  readonly version: string;
  readonly sha256: string;
  readonly size: number;
  readonly abiVersion: number;
  readonly layoutVersion: number;
  readonly minPages: number;
  readonly hasMigrate: boolean;
  readonly hasMigrateDown: boolean;
  readonly compiled: WebAssembly.Module;
  /** The fuel budgets the module was metered for (modules/fuel.ts); null when it runs unmetered. */
  readonly fuel: FuelBudgets | null;
  /** Whether its memory writes mark the dirty-page map (modules/dirty-pages.ts). */
  readonly dirtyTracking: boolean;
  /** Whether the module imports WASI (it then runs with the component's WasiSandbox). */
  readonly usesWasi: boolean;
  /**
   * Whether instantiating it writes no memory and runs no code, its data segments and top-level
   * code waiting for ACTIVATE_EXPORT (modules/activation.ts): it may then be instantiated ahead
   * of its swap. True for every module prepared here.
   */
  readonly deferredActivation: boolean;
  /**
   * Where its checked bytes came from: the prepare worker, or a CheckedModuleStore (an earlier
   * run's, in the data directory, or the build's seeds; modules/checked-store.ts), which skips binaryen.
   */
  readonly checkedFrom: 'worker' | 'store';
  /** Milliseconds spent checking, compiling and warming up (all before the swap). */
  readonly prepareMs: number;
}

/** A compiled module before its warm-up has read what it reports about itself. */
export type CompiledModule = Omit<PreparedModule, 'version' | 'abiVersion' | 'layoutVersion' | 'prepareMs'>;

/**
 * Makes V8 compile every function of a module when the module is compiled (ahead of the swap)
 * instead of on its first call, which would otherwise land inside the first events after a swap
 * (docs/MEASUREMENTS.md). Called explicitly by whoever compiles modules (the engine at start, a
 * ModuleFactory when created), never as an import side effect; setting the flag again is a no-op.
 */
export function compileEagerly(): void {
  v8.setFlagsFromString('--no-wasm-lazy-compilation');
}

/**
 * Checks, instruments (in `preparer`'s worker thread: binaryen inspection, checks, fuel metering,
 * dirty-page tracking) and compiles `input`. What stays on this thread is cheap: hashing and
 * `WebAssembly.compile`, which is asynchronous (V8 compiles on its own threads).
 */
export async function compileModule(
  input: Uint8Array,
  claimed: ClaimedModule,
  policy: ModulePolicy,
  preparer: ModulePreparer,
): Promise<CompiledModule> {
  // One private copy: the caller's buffer may be reused, and this copy is transferred to the worker.
  const bytes = new Uint8Array(input);
  const size = bytes.byteLength;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const { runnable, info, stored } = await preparer.check(bytes, claimed, policy);
  const compiled = await WebAssembly.compile(new Uint8Array(runnable));
  const wasi = usesWasi(compiled);
  if (wasi) await wasiReady();
  return {
    name: claimed.name,
    sha256,
    size,
    minPages: info.memory!.initialPages,
    hasMigrate: info.exports.has('migrate'),
    hasMigrateDown: info.exports.has('migrate_down'),
    compiled,
    fuel: fuelOf(policy),
    dirtyTracking: policy.trackDirtyPages === true,
    usesWasi: wasi,
    deferredActivation: WebAssembly.Module.exports(compiled).some((e) => e.name === ACTIVATE_EXPORT && e.kind === 'function'),
    checkedFrom: stored ? 'store' : 'worker',
  };
}
