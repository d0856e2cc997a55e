import binaryen from 'binaryen';
import { DIRTY_MAP_OFFSET, DIRTY_PAGE_SHIFT, MEMORY_BASE } from '../abi/abi.js';

/** A module uses an instruction the instrumentation cannot see into; it must not run unobserved. */
export class InstrumentationError extends Error {}

/** Accessors that binaryen has at runtime but its index.d.ts lacks (facts.md: the typings lag). */
interface ExpressionAccessors {
  getDest(e: number): number; setDest(e: number, v: number): void;
  getSize(e: number): number; setSize(e: number, v: number): void;
}
const extra = binaryen as unknown as {
  Store: { getOffset(e: number): number; getPtr(e: number): number; setPtr(e: number, v: number): void };
  MemoryCopy: ExpressionAccessors;
  MemoryFill: ExpressionAccessors;
  _BinaryenFunctionAddVar(fn: number, type: number): number;
};

const FEATURES =
  binaryen.Features.MutableGlobals | binaryen.Features.NontrappingFPToInt | binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt | binaryen.Features.SignExt;

/** Child expressions of each expression kind, by field name (binaryen.getExpressionInfo). */
const CHILDREN: Record<number, readonly string[]> = {
  [binaryen.BlockId]: ['children'],
  [binaryen.IfId]: ['condition', 'ifTrue', 'ifFalse'],
  [binaryen.LoopId]: ['body'],
  [binaryen.BreakId]: ['condition', 'value'],
  [binaryen.SwitchId]: ['condition', 'value'],
  [binaryen.CallId]: ['operands'],
  [binaryen.CallIndirectId]: ['target', 'operands'],
  [binaryen.LocalGetId]: [],
  [binaryen.LocalSetId]: ['value'],
  [binaryen.GlobalGetId]: [],
  [binaryen.GlobalSetId]: ['value'],
  [binaryen.LoadId]: ['ptr'],
  [binaryen.StoreId]: ['ptr', 'value'],
  [binaryen.ConstId]: [],
  [binaryen.UnaryId]: ['value'],
  [binaryen.BinaryId]: ['left', 'right'],
  [binaryen.SelectId]: ['ifTrue', 'ifFalse', 'condition'],
  [binaryen.DropId]: ['value'],
  [binaryen.ReturnId]: ['value'],
  [binaryen.MemorySizeId]: [],
  [binaryen.MemoryGrowId]: ['delta'],
  [binaryen.NopId]: [],
  [binaryen.UnreachableId]: [],
  [binaryen.MemoryCopyId]: ['dest', 'source', 'size'],
  [binaryen.MemoryFillId]: ['dest', 'value', 'size'],
  [binaryen.DataDropId]: [],
  [binaryen.RefNullId]: [],
  [binaryen.RefIsNullId]: ['value'],
  [binaryen.RefFuncId]: [],
  [binaryen.RefEqId]: ['left', 'right'],
  [binaryen.TableGetId]: ['index'],
  [binaryen.TableSizeId]: [],
};

/**
 * Instruments every write to linear memory so that it also marks its 4 KiB page in the dirty-page
 * map (docs/ABI.md, docs/SAFETY.md). With it, the rollback copy of persistent memory taken before
 * a swap costs the pages written since the last checkpoint, not every byte in use.
 *
 * - `store` (any width): the pointer is evaluated into a fresh local, then
 *   `map[min((ptr + offset) >> 12, sink)] = 1`, then the original store. Writes to the
 *   transient region land on the sink byte, so there is no branch.
 * - `memory.copy` / `memory.fill`: every page of [dest, dest + size) is marked by an inlined loop
 *   before the operation runs.
 * Operands are still evaluated in their original order. Instructions that could write memory
 * but are not understood here (atomics, SIMD stores, memory.init) make the module rejected.
 */
export function instrumentDirtyPages(bytes: Uint8Array): Uint8Array {
  const mod = binaryen.readBinary(bytes);
  try {
    mod.setFeatures(FEATURES);
    const pages = MEMORY_BASE >>> DIRTY_PAGE_SHIFT; // index of the sink byte
    const i32 = binaryen.i32;

    /** map[min(addr >> 12, sink)] = 1, with `addr` in local addrLocal (clobbers pageLocal). */
    const markPage = (addrLocal: number, pageLocal: number): number =>
      mod.block(null, [
        mod.local.set(pageLocal, mod.i32.shr_u(mod.local.get(addrLocal, i32), mod.i32.const(DIRTY_PAGE_SHIFT))),
        mod.i32.store8(
          DIRTY_MAP_OFFSET,
          1,
          // select evaluates its condition last, so the page index must already be in its local.
          mod.select(
            mod.i32.lt_u(mod.local.get(pageLocal, i32), mod.i32.const(pages)),
            mod.local.get(pageLocal, i32),
            mod.i32.const(pages),
          ),
          mod.i32.const(1),
        ),
      ]);

    for (let f = 0; f < mod.getNumFunctions(); f++) {
      const fn = mod.getFunctionByIndex(f);
      const info = binaryen.getFunctionInfo(fn);
      if (info.module || !info.body) continue; // imported
      const stores: number[] = [];
      const bulk: number[] = [];
      const visit = (expr: number): void => {
        if (!expr) return;
        const id = binaryen.getExpressionId(expr);
        const fields = CHILDREN[id];
        if (fields === undefined) {
          throw new InstrumentationError(`function ${info.name}: expression kind ${id} may write memory unobserved`);
        }
        if (fields.length === 0) return;
        const e = binaryen.getExpressionInfo(expr) as unknown as Record<string, number | number[]> & { id: number };
        if (e.id === binaryen.StoreId) stores.push(expr);
        if (e.id === binaryen.MemoryCopyId || e.id === binaryen.MemoryFillId) bulk.push(expr);
        for (const field of fields) {
          const child = e[field];
          if (Array.isArray(child)) child.forEach(visit);
          else if (typeof child === 'number') visit(child);
        }
      };
      visit(info.body);
      if (stores.length === 0 && bulk.length === 0) continue;

      const addVar = (): number => extra._BinaryenFunctionAddVar(fn, i32);
      const addr = addVar();
      const page = addVar();
      for (const store of stores) {
        const offset = extra.Store.getOffset(store);
        const ptr = extra.Store.getPtr(store);
        // (block (result i32) (local.set addr ptr) (mark addr+offset) (local.get addr))
        const ptrLocal = addVar();
        extra.Store.setPtr(
          store,
          mod.block(null, [
            mod.local.set(ptrLocal, ptr),
            mod.local.set(addr, mod.i32.add(mod.local.get(ptrLocal, i32), mod.i32.const(offset))),
            markPage(addr, page),
            mod.local.get(ptrLocal, i32),
          ], i32),
        );
      }
      for (const op of bulk) {
        const isCopy = binaryen.getExpressionId(op) === binaryen.MemoryCopyId;
        const api = isCopy ? extra.MemoryCopy : extra.MemoryFill;
        const dest = addVar();
        const size = addVar();
        const end = addVar();
        api.setDest(op, mod.local.tee(dest, api.getDest(op), i32));
        // Mark pages dest .. dest+size-1 once the size is known (it is evaluated last).
        const loopName = `hs_dirty_${f}_${op}`;
        api.setSize(
          op,
          mod.block(null, [
            mod.local.set(size, api.getSize(op)),
            mod.local.set(end, mod.i32.add(mod.local.get(dest, i32), mod.local.get(size, i32))),
            mod.local.set(addr, mod.local.get(dest, i32)),
            mod.if(
              mod.local.get(size, i32),
              mod.loop(loopName, mod.block(null, [
                markPage(addr, page),
                mod.local.set(addr, mod.i32.add(mod.local.get(addr, i32), mod.i32.const(1 << DIRTY_PAGE_SHIFT))),
                mod.br(loopName, mod.i32.lt_u(mod.local.get(addr, i32), mod.local.get(end, i32))),
              ])),
            ),
            // The page holding the last byte (dest+size-1) may start past the loop's last mark.
            mod.if(
              mod.local.get(size, i32),
              mod.block(null, [
                mod.local.set(addr, mod.i32.sub(mod.local.get(end, i32), mod.i32.const(1))),
                markPage(addr, page),
              ]),
            ),
            mod.local.get(size, i32),
          ], i32),
        );
      }
    }
    if (!mod.validate()) throw new InstrumentationError('instrumented module does not validate');
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}
