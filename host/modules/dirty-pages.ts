// Instruments a module so every store, memory.copy and memory.fill marks the 4 KiB page it
// writes in the dirty-page map: what lets a swap copy only the pages written since the last sync.
import binaryen from 'binaryen';
import { DIRTY_MAP_OFFSET, DIRTY_PAGE_SHIFT, MEMORY_BASE } from '../abi/abi.js';

/** A module uses an instruction the instrumentation cannot see into; it must not run unobserved. */
export class InstrumentationError extends Error {}

/**
 * binaryen's per-kind expression accessors (`binaryen.Store.getPtr`, `binaryen.Call.setOperandAt`,
 * …) and the one C entry point we need: they exist at runtime, but index.d.ts lacks them
 * (docs/MEASUREMENTS.md: the typings lag). `byClass` is the untyped view the generic walker uses.
 */
type Accessor = (e: number, ...args: number[]) => number;
const byClass = binaryen as unknown as Record<string, Record<string, Accessor> | undefined>;
export const binaryenApi = binaryen as unknown as {
  _BinaryenFunctionAddVar(fn: number, type: number): number;
  Function: { setBody(fn: number, body: number): void };
  Store: { getOffset(e: number): number; getBytes(e: number): number; getPtr(e: number): number; setPtr(e: number, v: number): void };
  Call: {
    isReturn(e: number): boolean;
    getTarget(e: number): string;
    getNumOperands(e: number): number;
    getOperandAt(e: number, i: number): number;
    setOperandAt(e: number, i: number, v: number): void;
  };
  CallIndirect: { isReturn(e: number): boolean; getTarget(e: number): number; setTarget(e: number, v: number): void };
  Loop: { getBody(e: number): number; setBody(e: number, v: number): void };
  Return: { getValue(e: number): number; setValue(e: number, v: number): void };
  MemoryCopy: {
    getDest(e: number): number;
    setDest(e: number, v: number): void;
    getSize(e: number): number;
    setSize(e: number, v: number): void;
  };
  MemoryFill: {
    getDest(e: number): number;
    setDest(e: number, v: number): void;
    getSize(e: number): number;
    setSize(e: number, v: number): void;
  };
};

/** The features AssemblyScript output uses; without them binaryen's optimizer and validator assert (docs/MEASUREMENTS.md). */
export const BINARYEN_FEATURES =
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.SignExt;

/**
 * Every expression kind those features allow: binaryen's accessor class and the child fields in
 * evaluation order. A kind missing here cannot be walked, so the instrumentations reject it.
 */
const KINDS: Record<number, { cls: string; children: readonly string[] }> = {
  [binaryen.BlockId]: { cls: 'Block', children: ['children'] },
  [binaryen.IfId]: { cls: 'If', children: ['condition', 'ifTrue', 'ifFalse'] },
  [binaryen.LoopId]: { cls: 'Loop', children: ['body'] },
  [binaryen.BreakId]: { cls: 'Break', children: ['value', 'condition'] },
  [binaryen.SwitchId]: { cls: 'Switch', children: ['value', 'condition'] },
  [binaryen.CallId]: { cls: 'Call', children: ['operands'] },
  [binaryen.CallIndirectId]: { cls: 'CallIndirect', children: ['operands', 'target'] },
  [binaryen.LocalGetId]: { cls: 'LocalGet', children: [] },
  [binaryen.LocalSetId]: { cls: 'LocalSet', children: ['value'] },
  [binaryen.GlobalGetId]: { cls: 'GlobalGet', children: [] },
  [binaryen.GlobalSetId]: { cls: 'GlobalSet', children: ['value'] },
  [binaryen.LoadId]: { cls: 'Load', children: ['ptr'] },
  [binaryen.StoreId]: { cls: 'Store', children: ['ptr', 'value'] },
  [binaryen.ConstId]: { cls: 'Const', children: [] },
  [binaryen.UnaryId]: { cls: 'Unary', children: ['value'] },
  [binaryen.BinaryId]: { cls: 'Binary', children: ['left', 'right'] },
  [binaryen.SelectId]: { cls: 'Select', children: ['ifTrue', 'ifFalse', 'condition'] },
  [binaryen.DropId]: { cls: 'Drop', children: ['value'] },
  [binaryen.ReturnId]: { cls: 'Return', children: ['value'] },
  [binaryen.MemorySizeId]: { cls: 'MemorySize', children: [] },
  [binaryen.MemoryGrowId]: { cls: 'MemoryGrow', children: ['delta'] },
  [binaryen.NopId]: { cls: 'Nop', children: [] },
  [binaryen.UnreachableId]: { cls: 'Unreachable', children: [] },
  [binaryen.MemoryInitId]: { cls: 'MemoryInit', children: ['dest', 'offset', 'size'] },
  [binaryen.MemoryCopyId]: { cls: 'MemoryCopy', children: ['dest', 'source', 'size'] },
  [binaryen.MemoryFillId]: { cls: 'MemoryFill', children: ['dest', 'value', 'size'] },
  [binaryen.DataDropId]: { cls: 'DataDrop', children: [] },
};

const capitalized = (field: string): string => field[0]!.toUpperCase() + field.slice(1);

/**
 * Visits every expression of a function body before changing anything: `visit` gets each
 * expression, its kind and a `replace` that puts another expression in its place (in its parent,
 * or as the body). Parents stay the same objects when a child is replaced, so the `replace`
 * functions collected during the walk stay valid while the caller rewrites.
 * Throws InstrumentationError for a kind outside KINDS.
 */
export function walkFunction(fn: number, visit: (expr: number, id: number, replace: (by: number) => void) => void): void {
  const info = binaryen.getFunctionInfo(fn);
  // An explicit stack: a hostile module may nest deeper than the JS stack allows recursion.
  const stack: Array<[number, (by: number) => void]> = [[info.body, (by) => binaryenApi.Function.setBody(fn, by)]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [expr, replace] = item;
    const id = binaryen.getExpressionId(expr);
    const kind = KINDS[id];
    if (kind === undefined) {
      throw new InstrumentationError(`function ${info.name}: expression kind ${id} is not supported by the instrumentation`);
    }
    visit(expr, id, replace);
    for (const child of childSlots(kind)) {
      if (child.count) {
        for (let i = 0, n = child.count(expr); i < n; i++) stack.push([child.getAt!(expr, i), (by) => void child.setAt!(expr, i, by)]);
      } else {
        const c = child.get!(expr);
        if (c) stack.push([c, (by) => void child.set!(expr, by)]);
      }
    }
  }
}

interface ChildSlot {
  count?: Accessor;
  getAt?: Accessor;
  setAt?: Accessor; // list fields: children, operands
  get?: Accessor;
  set?: Accessor; // single fields
}
/** The accessor functions of a kind's child fields. */
function slotsOf(kind: { cls: string; children: readonly string[] }): ChildSlot[] {
  const api = byClass[kind.cls]!;
  return kind.children.map((field): ChildSlot => {
    if (field === 'children' || field === 'operands') {
      const one = field === 'children' ? 'Child' : 'Operand';
      return { count: api[`getNum${capitalized(field)}`]!, getAt: api[`get${one}At`]!, setAt: api[`set${one}At`]! };
    }
    return { get: api[`get${capitalized(field)}`]!, set: api[`set${capitalized(field)}`]! };
  });
}
/** Every kind's child slots, looked up once when this module loads (read-only afterwards). */
const SLOTS: ReadonlyMap<string, readonly ChildSlot[]> = new Map(Object.values(KINDS).map((k) => [k.cls, slotsOf(k)]));
const childSlots = (kind: { cls: string }): readonly ChildSlot[] => SLOTS.get(kind.cls)!;

/** Functions defined in the module (not imported), with their references. */
export function definedFunctions(mod: binaryen.Module): Array<{ ref: number; info: binaryen.FunctionInfo }> {
  const out: Array<{ ref: number; info: binaryen.FunctionInfo }> = [];
  for (let f = 0; f < mod.getNumFunctions(); f++) {
    const ref = mod.getFunctionByIndex(f);
    const info = binaryen.getFunctionInfo(ref);
    if (!info.module) out.push({ ref, info });
  }
  return out;
}

/**
 * Instruments every write to linear memory so that it also marks its 4 KiB pages in the
 * dirty-page map (docs/ABI.md, docs/SAFETY.md). With it, the rollback copy of persistent memory
 * taken before a swap costs the pages written since the last checkpoint, not every byte in use.
 *
 * - `store` of n bytes at ptr + offset, rewritten in the pointer position (the pointer is still
 *   evaluated once and before the value):
 *   `if (ptr <u MEMORY_BASE - offset) { map[(ptr+offset) >> 12] = 1; map[(ptr+offset+n-1) >> 12] = 1 }`.
 *   Both ends, because an unaligned store may straddle two pages. The unsigned compare is exact
 *   (no i32 wrap-around), so a store that could reach persistent memory is always marked, and one
 *   that cannot (the shadow stack, the GC heap, static data: everything at or above MEMORY_BASE)
 *   costs one compare and a branch that is not taken.
 * - Skipped outright only when it is provable from the instruction alone: an `offset` ≥
 *   MEMORY_BASE, or a constant pointer with constant + offset ≥ MEMORY_BASE. A constant address
 *   below it gets its mark as a constant store. Pointers read from globals (AssemblyScript's
 *   `__stack_pointer`) are NOT skipped: a hostile module can set any global to anything.
 * - `memory.copy` / `memory.fill`: before the operation runs, every page of
 *   [dest, min(dest + size, MEMORY_BASE)) is marked by an inlined loop (bounded by the 65,536
 *   persistent pages); an operation entirely at or above MEMORY_BASE marks nothing.
 * Instructions that could write memory but are not instrumented (`memory.init`) make the module
 * rejected, as does any expression kind the walker does not know.
 */
export function instrumentDirtyPages(bytes: Uint8Array): Uint8Array {
  const mod = binaryen.readBinary(bytes);
  try {
    mod.setFeatures(BINARYEN_FEATURES);
    const i32 = binaryen.i32;
    /**
     * map[page] = 1. `page` is at most MEMORY_BASE >> 12: the last byte of a store that starts
     * just below MEMORY_BASE lands on the map's sink byte, which abi.ts reserves for that.
     */
    const mark = (page: number, constOffset = 0): number => mod.i32.store8(DIRTY_MAP_OFFSET + constOffset, 1, page, mod.i32.const(1));

    for (const { ref: fn, info } of definedFunctions(mod)) {
      const stores: number[] = [];
      const bulk: number[] = [];
      walkFunction(fn, (expr, id) => {
        if (id === binaryen.StoreId) stores.push(expr);
        else if (id === binaryen.MemoryCopyId || id === binaryen.MemoryFillId) bulk.push(expr);
        else if (id === binaryen.MemoryInitId) {
          throw new InstrumentationError(`function ${info.name}: memory.init writes memory unobserved`);
        }
      });
      if (stores.length === 0 && bulk.length === 0) continue;

      let scratch = -1; // one i32 local per function: each use ends before the next can start
      const local = (): number => (scratch >= 0 ? scratch : (scratch = binaryenApi._BinaryenFunctionAddVar(fn, i32)));
      for (const store of stores) {
        const offset = binaryenApi.Store.getOffset(store) >>> 0;
        const width = binaryenApi.Store.getBytes(store);
        const ptr = binaryenApi.Store.getPtr(store);
        if (offset >= MEMORY_BASE) continue; // the effective address is ptr + offset, without wrap-around
        const ptrId = binaryen.getExpressionId(ptr);
        if (ptrId === binaryen.ConstId) {
          const first = (((binaryen.getExpressionInfo(ptr) as binaryen.ConstInfo).value as number) >>> 0) + offset;
          if (first >= MEMORY_BASE) continue;
          const pages = new Set([first >>> DIRTY_PAGE_SHIFT, (first + width - 1) >>> DIRTY_PAGE_SHIFT]);
          const marks = [...pages].map((page) => mark(mod.i32.const(0), page));
          binaryenApi.Store.setPtr(store, mod.block(null, [...marks, ptr], i32));
          continue;
        }
        // A local or global read again gives the same value (the marks don't write either).
        const reread = ptrId === binaryen.LocalGetId || ptrId === binaryen.GlobalGetId;
        const read = (): number => (reread ? mod.copyExpression(ptr) : mod.local.get(local(), i32));
        const at = (delta: number): number => (delta === 0 ? read() : mod.i32.add(read(), mod.i32.const(delta)));
        const page = (delta: number): number => mod.i32.shr_u(at(delta), mod.i32.const(DIRTY_PAGE_SHIFT));
        const marks = [mark(page(offset))];
        if (width > 1) marks.push(mark(page(offset + width - 1)));
        binaryenApi.Store.setPtr(
          store,
          mod.block(
            null,
            [
              ...(reread ? [] : [mod.local.set(local(), ptr)]),
              mod.if(mod.i32.lt_u(read(), mod.i32.const(MEMORY_BASE - offset)), mod.block(null, marks)),
              read(),
            ],
            i32,
          ),
        );
      }
      for (const op of bulk) instrumentBulk(mod, fn, op, mark);
    }
    if (!mod.validate()) throw new InstrumentationError('instrumented module does not validate');
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

/**
 * memory.copy / memory.fill: marks pages dest >> 12 … (min(dest + size, MEMORY_BASE) - 1) >> 12
 * once the size is known (it is evaluated last), before the operation runs. Marking a page of an
 * operation that then traps out of bounds is harmless: a clean page is copied for nothing.
 */
function instrumentBulk(mod: binaryen.Module, fn: number, op: number, mark: (page: number) => number): void {
  const i32 = binaryen.i32;
  const api = binaryen.getExpressionId(op) === binaryen.MemoryCopyId ? binaryenApi.MemoryCopy : binaryenApi.MemoryFill;
  const addVar = (): number => binaryenApi._BinaryenFunctionAddVar(fn, i32);
  const [dest, size, page, last] = [addVar(), addVar(), addVar(), addVar()];
  const get = (l: number): number => mod.local.get(l, i32);
  const loopName = `hs_dirty_${fn}_${op}`;
  api.setDest(op, mod.local.tee(dest, api.getDest(op), i32));
  api.setSize(
    op,
    mod.block(
      null,
      [
        mod.local.set(size, api.getSize(op)),
        mod.if(
          mod.i32.and(mod.i32.ne(get(size), mod.i32.const(0)), mod.i32.lt_u(get(dest), mod.i32.const(MEMORY_BASE))),
          mod.block(null, [
            // last byte = min(dest + size, MEMORY_BASE) - 1, without wrap-around: dest < MEMORY_BASE here.
            mod.local.set(
              last,
              mod.i32.sub(
                mod.select(
                  mod.i32.gt_u(get(size), mod.i32.sub(mod.i32.const(MEMORY_BASE), get(dest))),
                  mod.i32.const(MEMORY_BASE),
                  mod.i32.add(get(dest), get(size)),
                ),
                mod.i32.const(1),
              ),
            ),
            mod.local.set(last, mod.i32.shr_u(get(last), mod.i32.const(DIRTY_PAGE_SHIFT))),
            mod.local.set(page, mod.i32.shr_u(get(dest), mod.i32.const(DIRTY_PAGE_SHIFT))),
            mod.loop(
              loopName,
              mod.block(null, [
                mark(get(page)),
                mod.local.set(page, mod.i32.add(get(page), mod.i32.const(1))),
                mod.br(loopName, mod.i32.le_u(get(page), get(last))),
              ]),
            ),
          ]),
        ),
        get(size),
      ],
      i32,
    ),
  );
}
