/**
 * The activation rewrite: makes instantiating a module free of side effects, so a swap can
 * create the new instance while the old one still serves and only activate it in the pause.
 *
 * `new WebAssembly.Instance` does two things to memory: it copies the active data segments to
 * their offsets (the module's static data, at or above memoryBase, exactly where the running
 * module's own static data lives) and it runs the start function (AssemblyScript's runtime
 * set-up and top-level code), which writes the transient heap. After this rewrite the segments
 * are passive, there is no start function, and an exported ACTIVATE_EXPORT does both, in the
 * order instantiation did: every `memory.init` + `data.drop`, then the old start function, under
 * the lifecycle fuel budget that paid for top-level code before (docs/ABI.md, "Activation").
 *
 * It runs last in the preparation (after fuel metering and dirty-page instrumentation, which
 * rejects `memory.init` in module code): the copies it adds write only the offsets the module
 * checks accepted (every active segment at or above memoryBase, modules/check.ts), the same
 * bytes instantiation wrote unobserved before.
 */
import binaryen from 'binaryen';
import { ACTIVATE_EXPORT, FUEL_GLOBAL } from '../abi/abi.js';
import { BINARYEN_FEATURES, InstrumentationError } from './dirty-pages.js';
import { passiveLayout } from './wasm-sections.js';

/**
 * Rewrites `bytes` as described above. `lifecycleFuel` is the budget the activation starts its
 * top-level code with (null: the module is not metered). Throws InstrumentationError when the
 * module's data segments can't be moved (an offset that is not a constant).
 */
export function deferActivation(bytes: Uint8Array, lifecycleFuel: number | null): Uint8Array {
  const layout = passiveLayout(bytes);
  const mod = binaryen.readBinary(layout.bytes);
  try {
    mod.setFeatures(BINARYEN_FEATURES);
    if (mod.getExport(ACTIVATE_EXPORT) !== 0) throw new InstrumentationError(`the module already exports ${ACTIVATE_EXPORT}`);
    const steps: number[] = [];
    const fuel = mod.getExport(FUEL_GLOBAL);
    if (fuel !== 0 && lifecycleFuel !== null) {
      steps.push(mod.global.set(binaryen.getExportInfo(fuel).value, mod.i32.const(lifecycleFuel)));
    }
    // binaryen's typings lag its runtime (docs/MEASUREMENTS.md): getDataSegmentInfo exists.
    const segments = mod as unknown as { getDataSegmentInfo(ref: number): { name: string } };
    for (const copy of layout.copies) {
      const name = segments.getDataSegmentInfo(mod.getDataSegmentByIndex(copy.index)).name;
      steps.push(mod.memory.init(name, mod.i32.const(copy.offset | 0), mod.i32.const(0), mod.i32.const(copy.length)));
      steps.push(mod.data.drop(name));
    }
    if (layout.start !== null) {
      const start = binaryen.getFunctionInfo(mod.getFunctionByIndex(layout.start)).name;
      steps.push(mod.call(start, [], binaryen.none));
    }
    const name = unusedFunctionName(mod, ACTIVATE_EXPORT);
    mod.addFunction(name, binaryen.none, binaryen.none, [], steps.length > 0 ? mod.block(null, steps) : mod.nop());
    mod.addFunctionExport(name, ACTIVATE_EXPORT);
    if (!mod.validate()) throw new InstrumentationError('the activation rewrite produced an invalid module');
    return new Uint8Array(mod.emitBinary());
  } finally {
    mod.dispose();
  }
}

/** A function name the module does not use yet (its name section may name a function anything). */
function unusedFunctionName(mod: binaryen.Module, wanted: string): string {
  let name = wanted;
  for (let n = 1; mod.getFunction(name) !== 0; n++) name = `${wanted}_${n}`;
  return name;
}
