import binaryen from 'binaryen';
import { FUEL_GLOBAL } from '../abi/abi.js';

/**
 * Fuel budgets, in fuel units, per kind of callback (docs/SAFETY.md, "Fuel"). One unit is spent
 * at every function entry, function exit and loop iteration of the module, so a budget bounds
 * the work a callback can do no matter what it computes. Separate budgets for the lifecycle
 * steps of a swap, because a migration over a million keys legitimately needs far more than
 * one message.
 */
export interface FuelBudgets {
  /** on_message */
  message: number;
  /** on_timer */
  timer: number;
  /** on_signal */
  signal: number;
  /** init (first load over a fresh memory) */
  init: number;
  /** restart (after a swap, and after a fault) */
  restart: number;
  /** migrate and migrate_down */
  migrate: number;
  /** term, hold, version, status, abi_version, layout_version and top-level (start) code */
  lifecycle: number;
}
export type FuelKind = keyof FuelBudgets;

/** The fuel global is an i32: the largest budget it can hold. */
export const MAX_FUEL = 0x7fffffff;

export const DEFAULT_FUEL: FuelBudgets = {
  message: 20_000_000,
  timer: 20_000_000,
  signal: 20_000_000,
  init: 200_000_000,
  restart: 200_000_000,
  migrate: 2_000_000_000,
  lifecycle: 20_000_000,
};

// The features AssemblyScript output uses; without them binaryen's optimizer asserts (facts.md).
const FEATURES =
  binaryen.Features.MutableGlobals | binaryen.Features.NontrappingFPToInt | binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt | binaryen.Features.SignExt;

/** The internal name binaryen's log-execution pass gives the function it calls. */
const HOOK = 'log_execution';
/** Large enough for the hook's body (about ten expressions) to count as "always inline". */
const HOOK_INLINE_SIZE = 16;

/**
 * Meters a module: binaryen's `log-execution` pass inserts a call at every function entry, exit
 * and loop header; that call's target is replaced by an internal function that decrements a
 * module-internal fuel global and traps (`unreachable`) once it drops below zero, and a
 * re-optimization inlines it. The global is exported as FUEL_GLOBAL so the host can set each
 * callback's budget (ModuleInstance) without an import, which costs more per check (facts.md).
 *
 * `startFuel` is the global's initial value: it pays for top-level code that runs inside
 * instantiation, before the host can set anything.
 */
export function meterFuel(bytes: Uint8Array, startFuel: number): Uint8Array {
  const mod = binaryen.readBinary(bytes);
  try {
    mod.setFeatures(FEATURES);
    mod.runPasses([HOOK.replace('_', '-')]);
    mod.removeFunction(HOOK);
    mod.addGlobal(FUEL_GLOBAL, binaryen.i32, true, mod.i32.const(Math.min(startFuel, MAX_FUEL)));
    const left = (): number => mod.global.get(FUEL_GLOBAL, binaryen.i32);
    mod.addFunction(
      HOOK,
      binaryen.createType([binaryen.i32]), // the pass passes a site id; it is ignored
      binaryen.none,
      [],
      mod.block(null, [
        mod.global.set(FUEL_GLOBAL, mod.i32.sub(left(), mod.i32.const(1))),
        mod.if(mod.i32.lt_s(left(), mod.i32.const(0)), mod.unreachable()),
      ]),
    );
    mod.addGlobalExport(FUEL_GLOBAL, FUEL_GLOBAL);
    // The module runs over a reused memory: the optimizer must not assume zeros or an unused
    // low region (facts.md), or it could drop stores the persistent data depends on.
    binaryen.setZeroFilledMemory(false);
    binaryen.setLowMemoryUnused(false);
    binaryen.setOptimizeLevel(2);
    binaryen.setShrinkLevel(0);
    // The hook is called from hundreds of sites, which the default heuristics won't inline into.
    const inlineLimit = binaryen.getAlwaysInlineMaxSize();
    binaryen.setAlwaysInlineMaxSize(HOOK_INLINE_SIZE);
    try {
      mod.runPasses(['inlining-optimizing']);
    } finally {
      binaryen.setAlwaysInlineMaxSize(inlineLimit);
    }
    if (!mod.validate()) throw new Error('fuel metering produced an invalid module');
    return new Uint8Array(mod.emitBinary());
  } finally {
    mod.dispose();
  }
}
