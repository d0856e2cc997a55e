/**
 * Where the swap's `instantiate` phase goes: `new WebAssembly.Instance` of a kv module split into
 * the instantiation proper (imports linked, data segments copied) and its start function (the
 * AssemblyScript runtime's and the module's top-level initialisation), next to a hand-written
 * module with the same imports and exports and nothing to initialise: the floor of instantiating
 * a module over an imported memory. Alternating rounds, one process, no engine: only V8 and the
 * module bytes (as built, without the engine's fuel and dirty-page rewrites). Also the same kv
 * after the activation rewrite (host/modules/activation.ts): its instantiation, which a swap now
 * does ahead, and its activation (`memory.init` of the static data, then the start code), which
 * is what is left of this phase inside the pause.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import binaryen from 'binaryen';
import { ACTIVATE_EXPORT, MEMORY_BASE } from '../../host/abi/abi.js';
import { deferActivation } from '../../host/modules/activation.js';
import { inspectModule } from '../../host/modules/inspect.js';
import { bundledModulesDir } from '../../host/paths.js';
import { summarize } from '../peers/stats.js';

const START_EXPORT = 'hs_bench_start';

/** The module with its start function taken out and exported, so instantiation and start time apart. */
function withoutStart(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const mod = binaryen.readBinary(bytes);
  try {
    const start = mod.getStart();
    if (!start) throw new Error('kv module has no start function');
    mod.addFunctionExport(binaryen.getFunctionInfo(start).name, START_EXPORT);
    mod.setStart(0);
    return new Uint8Array(mod.emitBinary());
  } finally {
    mod.dispose();
  }
}

/**
 * A module importing `like`'s memory and, when `same` is set, its functions too, and exporting
 * empty functions of `like`'s export names (`same`) or a single one.
 */
function handWritten(like: WebAssembly.Module, same: boolean): Uint8Array<ArrayBuffer> {
  const mod = new binaryen.Module();
  try {
    mod.setFeatures(binaryen.Features.MVP | binaryen.Features.BulkMemory);
    const memory = WebAssembly.Module.imports(like).find((imp) => imp.kind === 'memory');
    if (!memory) throw new Error('kv imports no memory');
    mod.setMemory((MEMORY_BASE >> 16) + 1, -1, null, [], false, false, '0');
    mod.addMemoryImport('0', memory.module, memory.name);
    let n = 0;
    for (const imp of same ? WebAssembly.Module.imports(like) : []) {
      if (imp.kind === 'function') mod.addFunctionImport(`i${n++}`, imp.module, imp.name, binaryen.none, binaryen.none);
    }
    for (const exp of same ? WebAssembly.Module.exports(like) : [{ kind: 'function', name: 'on_message' }]) {
      if (exp.kind !== 'function') continue;
      mod.addFunction(exp.name, binaryen.none, binaryen.none, [], mod.nop());
      mod.addFunctionExport(exp.name, exp.name);
    }
    if (!mod.validate()) throw new Error('hand-written module does not validate');
    return new Uint8Array(mod.emitBinary());
  } finally {
    mod.dispose();
  }
}

function importsFor(module: WebAssembly.Module, memory: WebAssembly.Memory): WebAssembly.Imports {
  const out: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    const ns = (out[imp.module] ??= {});
    if (imp.kind === 'memory') ns[imp.name] = memory;
    else if (imp.kind === 'function') ns[imp.name] = () => 0;
    else throw new Error(`kv imports a ${imp.kind} (${imp.module}.${imp.name}); this measurement only stubs functions and the memory`);
  }
  return out;
}

export interface InstantiateParts {
  rounds: number;
  /** `new WebAssembly.Instance` of kv as built: instantiation plus its start function. */
  kv_instance_us: { p50: number; p99: number };
  /** The same module without its start function, then that function called alone. */
  kv_without_start_us: { p50: number; p99: number };
  kv_start_function_us: { p50: number; p99: number };
  /** kv after the activation rewrite: instantiation (writes nothing; done ahead of a swap), then hs_activate alone. */
  kv_deferred_instance_us: { p50: number; p99: number };
  kv_activation_us: { p50: number; p99: number };
  /** Hand-written, kv's imports and exports, nothing to initialise. */
  hand_written_us: { p50: number; p99: number };
  /** Hand-written, the memory and one export: the floor of an instance over an imported memory. */
  minimal_us: { p50: number; p99: number };
  function_imports: number;
  function_exports: number;
  data_segment_bytes: number;
}

export function measureInstantiateParts(rounds: number, version = '2.0.0'): InstantiateParts {
  const bytes = readFileSync(join(bundledModulesDir, 'kv', `${version}.wasm`));
  const asBuilt = new WebAssembly.Module(bytes);
  const split = new WebAssembly.Module(withoutStart(bytes));
  const floor = new WebAssembly.Module(handWritten(asBuilt, true));
  const minimal = new WebAssembly.Module(handWritten(asBuilt, false));
  const deferred = new WebAssembly.Module(new Uint8Array(deferActivation(bytes, null)));
  const memory = new WebAssembly.Memory({ initial: (MEMORY_BASE >> 16) + 256, maximum: (MEMORY_BASE >> 16) + 4096 });
  const imports = [
    importsFor(asBuilt, memory),
    importsFor(split, memory),
    importsFor(floor, memory),
    importsFor(minimal, memory),
    importsFor(deferred, memory),
  ] as const;
  const full: number[] = [];
  const bare: number[] = [];
  const start: number[] = [];
  const hand: number[] = [];
  const least: number[] = [];
  const ahead: number[] = [];
  const activation: number[] = [];
  for (let i = 0; i < rounds + 20; i++) {
    let t0 = performance.now();
    new WebAssembly.Instance(asBuilt, imports[0]);
    const a = performance.now() - t0;
    t0 = performance.now();
    const s = new WebAssembly.Instance(split, imports[1]);
    const b = performance.now() - t0;
    t0 = performance.now();
    (s.exports[START_EXPORT] as () => void)();
    const c = performance.now() - t0;
    t0 = performance.now();
    new WebAssembly.Instance(floor, imports[2]);
    const d = performance.now() - t0;
    t0 = performance.now();
    new WebAssembly.Instance(minimal, imports[3]);
    const e = performance.now() - t0;
    t0 = performance.now();
    const f = new WebAssembly.Instance(deferred, imports[4]);
    const g = performance.now() - t0;
    t0 = performance.now();
    (f.exports[ACTIVATE_EXPORT] as () => void)();
    const h = performance.now() - t0;
    if (i < 20) continue; // warm-up
    full.push(a * 1000);
    bare.push(b * 1000);
    start.push(c * 1000);
    hand.push(d * 1000);
    least.push(e * 1000);
    ahead.push(g * 1000);
    activation.push(h * 1000);
  }
  const pp = (xs: number[]) => {
    const s = summarize(xs, 1);
    return { p50: s.p50, p99: s.p99 };
  };
  const dataBytes = inspectModule(bytes).dataSegments.reduce((n, d) => n + d.length, 0);
  return {
    rounds,
    kv_instance_us: pp(full),
    kv_without_start_us: pp(bare),
    kv_start_function_us: pp(start),
    kv_deferred_instance_us: pp(ahead),
    kv_activation_us: pp(activation),
    hand_written_us: pp(hand),
    minimal_us: pp(least),
    function_imports: WebAssembly.Module.imports(asBuilt).filter((x) => x.kind === 'function').length,
    function_exports: WebAssembly.Module.exports(asBuilt).filter((x) => x.kind === 'function').length,
    data_segment_bytes: dataBytes,
  };
}
