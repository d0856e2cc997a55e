// Fuel metering: inserts the fuel checks into a module and the trampolines that refill each
// export's budget, so a callback that loops forever traps instead of holding the engine.
import binaryen from 'binaryen';
import { FUEL_GLOBAL, HOST_NAMESPACE, type HostImportName } from '../abi/abi.js';
import { BINARYEN_FEATURES, binaryenApi, definedFunctions, InstrumentationError, walkFunction } from './dirty-pages.js';

import { EXPORT_FUEL_KIND, type FuelBudgets, MAX_FUEL } from './fuel-budgets.js';

export { DEFAULT_FUEL, type FuelBudgets, type FuelKind, MAX_FUEL } from './fuel-budgets.js';

/**
 * Meters a module by inserting the fuel checks directly (no helper function to inline, no
 * re-optimization, so metering costs a walk of the code rather than an optimizer run):
 *
 * - A module-internal i32 global, exported as FUEL_GLOBAL, holds the fuel left; an internal
 *   global costs less per check than an imported one (docs/MEASUREMENTS.md). Its initial value is the
 *   lifecycle budget: it pays for top-level code that runs inside instantiation.
 * - Each export the host calls is replaced by a trampoline that sets its callback's budget and
 *   calls the original. The budget is thus refilled inside the module, at no cost to the host:
 *   setting a `WebAssembly.Global` from JavaScript cost ~11 ns per event, most of the metering
 *   overhead (docs/PERFORMANCE.md). The trampolines are reachable only as exports (no table, no
 *   internal call), so a module cannot refill its own fuel by calling one in a loop.
 * - A function with a loop keeps the fuel in a local (a register, once V8 has compiled it), so a
 *   loop iteration costs a decrement and a compare: entry `f = fuel - 1`, every loop header
 *   `f -= 1`, each trapping below zero. The global is written back right before every call into
 *   the module (the callee reads it) and every return, and read again after the call (the callee
 *   spent from it). Calls to imports don't touch it: the host never runs module code inside one.
 * - A function without loops but with calls charges the global itself at entry.
 * - A function with neither loops nor calls (a leaf) is not charged: its work is bounded by its
 *   own size and it runs only from a call site that a charged unit covers.
 * - No charge at exits: entries and loop iterations already bound the work.
 * Before trapping with `unreachable`, the check stores the negative count in the global, so the
 * host can tell a fuel trap from any other (ModuleInstance reads it).
 */
export function meterFuel(bytes: Uint8Array, budgets: FuelBudgets): Uint8Array {
  const mod = binaryen.readBinary(bytes);
  try {
    mod.setFeatures(BINARYEN_FEATURES);
    const fuel = unusedGlobalName(mod, FUEL_GLOBAL);
    mod.addGlobal(fuel, binaryen.i32, true, mod.i32.const(Math.min(budgets.lifecycle, MAX_FUEL)));
    const imported = new Set<string>();
    let nextMessage: string | null = null;
    for (let i = 0; i < mod.getNumFunctions(); i++) {
      const f = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
      if (f.module) imported.add(f.name);
      if (f.module === HOST_NAMESPACE && f.base === NEXT_MESSAGE) nextMessage = f.name;
    }
    const refill = { import: nextMessage, budget: Math.min(budgets.message, MAX_FUEL) };
    for (const { ref: fn } of definedFunctions(mod)) new FunctionMeter(mod, fn, fuel, imported, refill).run();
    mod.addGlobalExport(fuel, FUEL_GLOBAL);
    addBudgetTrampolines(mod, fuel, budgets);
    if (!mod.validate()) throw new InstrumentationError('fuel metering produced an invalid module');
    return new Uint8Array(mod.emitBinary());
  } finally {
    mod.dispose();
  }
}

/** Re-points each ABI export at a new function: `fuel = budget; return original(args…)`. */
function addBudgetTrampolines(mod: binaryen.Module, fuel: string, budgets: FuelBudgets): void {
  for (const [exportName, kind] of Object.entries(EXPORT_FUEL_KIND)) {
    const ref = mod.getExport(exportName);
    if (!ref) continue;
    const info = binaryen.getExportInfo(ref);
    if (info.kind !== binaryen.ExternalFunction) continue;
    const target = binaryen.getFunctionInfo(mod.getFunction(info.value));
    const params = target.params === binaryen.none ? [] : binaryen.expandType(target.params);
    const name = `hs_fuel_entry_${exportName}`;
    mod.addFunction(
      name,
      target.params,
      target.results,
      [],
      mod.block(
        null,
        [
          mod.global.set(fuel, mod.i32.const(Math.min(budgets[kind], MAX_FUEL))),
          mod.call(
            info.value,
            params.map((t, i) => mod.local.get(i, t)),
            target.results,
          ),
        ],
        target.results,
      ),
    );
    mod.removeExport(exportName);
    mod.addFunctionExport(name, exportName);
  }
}

/**
 * The import after which each message of a batch gets a whole budget (docs/ABI.md, "Batched
 * messages"): the host answers it with an index at most once per message it handed over, so a
 * module cannot refill its fuel by calling it in a loop.
 */
const NEXT_MESSAGE = 'next_message' satisfies HostImportName;

/** Where a message's budget is refilled: calls of `import` (null: the module does not import it) that return >= 0. */
interface Refill {
  readonly import: string | null;
  readonly budget: number;
}

/** A global name the module does not use yet (its name section may name a global anything). */
function unusedGlobalName(mod: binaryen.Module, wanted: string): string {
  let name = wanted;
  for (let n = 1; mod.getGlobal(name) !== 0; n++) name = `${wanted}_${n}`;
  return name;
}

/** The metering of one function (see meterFuel). */
class FunctionMeter {
  readonly #mod: binaryen.Module;
  readonly #fn: number;
  readonly #fuel: string;
  readonly #imported: ReadonlySet<string>;
  readonly #refill: Refill;
  /** Scratch locals by value type: each holds a value only between its set and the get right after. */
  readonly #scratch = new Map<number, number>();
  #counter = -1;

  constructor(mod: binaryen.Module, fn: number, fuel: string, imported: ReadonlySet<string>, refill: Refill) {
    this.#mod = mod;
    this.#fn = fn;
    this.#fuel = fuel;
    this.#imported = imported;
    this.#refill = refill;
  }

  run(): void {
    type Site = { expr: number; id: number; replace: (by: number) => void };
    const loops: number[] = [];
    const calls: Site[] = [];
    const returns: Site[] = [];
    const refills: Site[] = [];
    walkFunction(this.#fn, (expr, id, replace) => {
      if (id === binaryen.LoopId) loops.push(expr);
      else if (id === binaryen.ReturnId) returns.push({ expr, id, replace });
      else if (id === binaryen.CallIndirectId) calls.push({ expr, id, replace });
      else if (id === binaryen.CallId) {
        const target = binaryenApi.Call.getTarget(expr);
        if (target === this.#refill.import) refills.push({ expr, id, replace });
        else if (!this.#imported.has(target)) calls.push({ expr, id, replace });
      }
    });
    if (loops.length === 0) {
      for (const site of refills) site.replace(this.#refillAfter(site.expr, false));
      if (calls.length > 0) this.#setBody([this.#chargeGlobal(), this.#body()]);
      return;
    }
    // Takes no operands and returns an i32, so it needs none of #syncAround's cases.
    for (const site of refills) site.replace(this.#refillAfter(site.expr, true));
    // The order matters: a rewrite puts a wrapper into its parent's slot, so a slot must not be
    // rewritten again by a site collected earlier. Calls go innermost first (the walk visits a
    // parent before its children, so reversed), and a site's own slot is only ever written by that site; returns
    // and loop headers then wrap whatever their child has become, and the body comes last.
    for (const call of calls.reverse()) this.#syncAround(call.expr, call.id, call.replace);
    for (const ret of returns) {
      const value = binaryenApi.Return.getValue(ret.expr);
      if (value) binaryenApi.Return.setValue(ret.expr, this.#thenWriteBack(value));
      else ret.replace(this.#mod.block(null, [this.#writeBack(), ret.expr], binaryen.auto));
    }
    for (const loop of loops) {
      const inner = binaryenApi.Loop.getBody(loop);
      binaryenApi.Loop.setBody(loop, this.#mod.block(null, [this.#chargeLocal(), inner], binaryen.getExpressionType(inner)));
    }
    const body = this.#body();
    const type = binaryen.getExpressionType(body);
    const entry = this.#chargeEntry();
    if (type === binaryen.unreachable) this.#setBody([entry, body]);
    else if (type === binaryen.none) this.#setBody([entry, body, this.#writeBack()]);
    else this.#setBody([entry, this.#thenWriteBack(body)]);
  }

  #body(): number {
    return binaryen.getFunctionInfo(this.#fn).body;
  }

  #setBody(children: number[]): void {
    const last = children[children.length - 1]!;
    binaryenApi.Function.setBody(this.#fn, this.#mod.block(null, children, binaryen.getExpressionType(last)));
  }

  #local(type: number): number {
    let index = this.#scratch.get(type);
    if (index === undefined) this.#scratch.set(type, (index = binaryenApi._BinaryenFunctionAddVar(this.#fn, type)));
    return index;
  }

  get #f(): number {
    if (this.#counter < 0) this.#counter = binaryenApi._BinaryenFunctionAddVar(this.#fn, binaryen.i32);
    return this.#counter;
  }

  /** `if (counter < 0) { fuel = counter; unreachable }`: the host sees the negative fuel. */
  #trapIfSpent(): number {
    const m = this.#mod;
    return m.if(m.i32.lt_s(m.local.get(this.#f, binaryen.i32), m.i32.const(0)), m.block(null, [this.#writeBack(), m.unreachable()]));
  }

  /** Entry of a function without a counter: fuel -= 1, trap below zero. */
  #chargeGlobal(): number {
    const m = this.#mod;
    return m.block(null, [
      m.global.set(this.#fuel, m.local.tee(this.#f, m.i32.sub(m.global.get(this.#fuel, binaryen.i32), m.i32.const(1)), binaryen.i32)),
      m.if(m.i32.lt_s(m.local.get(this.#f, binaryen.i32), m.i32.const(0)), m.unreachable()),
    ]);
  }

  /** Entry of a function with a counter: f = fuel - 1, trap below zero. */
  #chargeEntry(): number {
    const m = this.#mod;
    return m.block(null, [m.local.set(this.#f, m.i32.sub(m.global.get(this.#fuel, binaryen.i32), m.i32.const(1))), this.#trapIfSpent()]);
  }

  /** Loop header: f -= 1, trap below zero. */
  #chargeLocal(): number {
    const m = this.#mod;
    return m.block(null, [m.local.set(this.#f, m.i32.sub(m.local.get(this.#f, binaryen.i32), m.i32.const(1))), this.#trapIfSpent()]);
  }

  /**
   * `r = call; if (r >= 0) fuel = budget; r`: a new message of the batch starts with a whole
   * budget. With a counter, the counter is written back before the call and read after it,
   * so the refill is what the function continues with.
   */
  #refillAfter(call: number, counter: boolean): number {
    const m = this.#mod;
    const r = this.#local(binaryen.i32);
    const refill = m.if(
      m.i32.ge_s(m.local.get(r, binaryen.i32), m.i32.const(0)),
      m.global.set(this.#fuel, m.i32.const(this.#refill.budget)),
    );
    const steps = counter
      ? [this.#writeBack(), m.local.set(r, call), refill, this.#reload(), m.local.get(r, binaryen.i32)]
      : [m.local.set(r, call), refill, m.local.get(r, binaryen.i32)];
    return m.block(null, steps, binaryen.i32);
  }

  #writeBack(): number {
    return this.#mod.global.set(this.#fuel, this.#mod.local.get(this.#f, binaryen.i32));
  }

  #reload(): number {
    return this.#mod.local.set(this.#f, this.#mod.global.get(this.#fuel, binaryen.i32));
  }

  /**
   * `value`, then fuel = counter, giving value's result: the write happens after everything in
   * `value` ran (its loops spend from the counter), right before its result is used.
   */
  #thenWriteBack(value: number): number {
    const m = this.#mod;
    const type = binaryen.getExpressionType(value);
    if (type === binaryen.unreachable) return value; // never completes: nothing to write back
    const id = binaryen.getExpressionId(value);
    if (id === binaryen.ConstId || id === binaryen.LocalGetId || id === binaryen.GlobalGetId) {
      return m.block(null, [this.#writeBack(), value], type); // no effects: the order is free
    }
    const tmp = this.#local(type);
    return m.block(null, [m.local.set(tmp, value), this.#writeBack(), m.local.get(tmp, type)], type);
  }

  /**
   * Writes the counter back right before the call starts (after its operands, which are
   * evaluated first and may loop) and reads it again after the call returns.
   */
  #syncAround(call: number, id: number, replace: (by: number) => void): void {
    const m = this.#mod;
    const type = binaryen.getExpressionType(call);
    if (type === binaryen.unreachable) return; // an operand never completes: the call never runs
    let wrapped = call;
    if (id === binaryen.CallIndirectId) {
      // The table index is evaluated last.
      binaryenApi.CallIndirect.setTarget(call, this.#thenWriteBack(binaryenApi.CallIndirect.getTarget(call)));
    } else {
      const n = binaryenApi.Call.getNumOperands(call);
      if (n > 0) binaryenApi.Call.setOperandAt(call, n - 1, this.#thenWriteBack(binaryenApi.Call.getOperandAt(call, n - 1)));
      else wrapped = m.block(null, [this.#writeBack(), call], type);
    }
    const isReturn = id === binaryen.CallIndirectId ? binaryenApi.CallIndirect.isReturn(call) : binaryenApi.Call.isReturn(call);
    if (isReturn) {
      replace(wrapped); // a tail call leaves the function: nothing to read back
    } else if (type === binaryen.none) {
      replace(m.block(null, [wrapped, this.#reload()]));
    } else {
      if (type !== binaryen.i32 && type !== binaryen.i64 && type !== binaryen.f32 && type !== binaryen.f64) {
        throw new InstrumentationError(`fuel metering: a call returns a value of a type it cannot hold (${type})`);
      }
      const tmp = this.#local(type);
      replace(m.block(null, [m.local.set(tmp, wrapped), this.#reload(), m.local.get(tmp, type)], type));
    }
  }
}
