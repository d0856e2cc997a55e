// Checks a module's bytes against the ABI and the component's policy before anything of it runs:
// imports, exports and their signatures, memory, data segments, WASI. Every problem is named.
import {
  ACTIVATE_EXPORT,
  ENV_IMPORTS,
  EXPORT_NAMES,
  EXPORTS,
  FUEL_GLOBAL,
  HOST_IMPORTS,
  HOST_NAMESPACE,
  type Signature,
  WASI_ALLOWED,
  WASI_NAMESPACE,
} from '../abi/abi.js';
import type { FuelBudgets } from './fuel-budgets.js';
import type { FunctionSignature, ModuleInspection } from './inspect.js';

/** A component's memory cap and largest module when its configuration sets none (`limits.memoryBytes`, `limits.moduleBytes`). */
export const DEFAULT_MEMORY_BYTES = 512 * 1024 * 1024;
export const DEFAULT_MODULE_BYTES = 4 * 1024 * 1024;

/** Limits a component puts on the modules it will run (from its configuration). */
export interface ModulePolicy {
  /** Start of the transient region: no data segment may land below it. */
  memoryBase: number;
  /** The component's memory cap, in 64 KiB pages. */
  maxPages: number;
  /** Largest module accepted, in bytes. */
  maxModuleBytes: number;
  /** Whether WASI imports (of WASI_ALLOWED) are accepted. */
  allowWasi: boolean;
  /**
   * Fuel budgets per callback kind (absent: DEFAULT_FUEL). null runs modules unmetered, which
   * only trusted code should get: an endless loop then hangs the engine.
   */
  fuel?: FuelBudgets | null;
  /**
   * Instrument every memory write to mark its page in the dirty-page map, so the component can
   * keep an incremental rollback copy (snapshot policy 'incremental', host/abi/checkpoint.ts).
   */
  trackDirtyPages?: boolean;
}

const sameSignature = (actual: FunctionSignature, expected: Signature): boolean =>
  actual.params.join(',') === expected.params.join(',') && actual.results.join(',') === expected.results.join(',');
const show = (s: Signature | FunctionSignature): string => `(${s.params.join(', ')}) -> (${s.results.join(', ')})`;

/**
 * Checks a module against the ABI and a component's policy before it may run (docs/SAFETY.md).
 * Returns every problem found, each naming the import, export or segment at fault. The size
 * limit is not checked here: checkAndInstrument refuses an oversized module before parsing it.
 */
export function checkModule(info: ModuleInspection, policy: ModulePolicy): string[] {
  const problems: string[] = [];

  for (const imp of info.functionImports) {
    const where = `import ${imp.module}.${imp.name}`;
    let expected: Signature | undefined;
    if (imp.module === HOST_NAMESPACE) expected = (HOST_IMPORTS as Record<string, Signature>)[imp.name];
    else if (imp.module === 'env') expected = (ENV_IMPORTS as Record<string, Signature>)[imp.name];
    else if (imp.module === WASI_NAMESPACE) {
      if (!policy.allowWasi) problems.push(`${where}: WASI is not enabled for this component`);
      else if (!(WASI_ALLOWED as readonly string[]).includes(imp.name)) {
        problems.push(`${where}: WASI function not allowed (allowed: ${WASI_ALLOWED.join(', ')})`);
      }
      continue;
    }
    if (!expected) {
      problems.push(`${where}: not offered by the host (allowed namespaces: ${HOST_NAMESPACE}, env, ${WASI_NAMESPACE})`);
    } else if (!sameSignature(imp, expected)) {
      problems.push(`${where}: signature ${show(imp)} does not match the host's ${show(expected)}`);
    }
  }
  for (const imp of info.otherImports) problems.push(`import ${imp.module}.${imp.name}: ${imp.kind} imports are not offered`);

  const mem = info.memory;
  if (!mem) problems.push('module has no memory: it must import env.memory');
  else {
    if (!mem.imported || mem.module !== 'env' || mem.name !== 'memory') {
      problems.push('memory: must be imported as env.memory (build with asc --importMemory), not defined by the module');
    }
    if (mem.maxPages !== undefined) {
      problems.push(`memory: declares a maximum of ${mem.maxPages} pages; the host sets the maximum (drop --maximumMemory)`);
    }
    if (mem.shared) problems.push('memory: shared memory is not supported');
    if (mem.initialPages > policy.maxPages) {
      problems.push(`memory: needs ${mem.initialPages} pages at start, over the component's cap of ${policy.maxPages}`);
    }
  }
  for (const [i, seg] of info.dataSegments.entries()) {
    if (!seg.passive && seg.offset < policy.memoryBase) {
      problems.push(
        `data segment ${i}: at offset ${seg.offset} (${seg.length} bytes), below memoryBase ${policy.memoryBase}: ` +
          'it would overwrite persistent memory (build with asc --memoryBase)',
      );
    }
  }

  for (const name of EXPORT_NAMES) {
    const expected = EXPORTS[name];
    const exp = info.exports.get(name);
    if (!exp) {
      if (expected.required) problems.push(`export ${name}: missing (expected a function ${show(expected)})`);
    } else if (exp.kind !== 'function' || !exp.signature) {
      problems.push(`export ${name}: is a ${exp.kind}, expected a function ${show(expected)}`);
    } else if (!sameSignature(exp.signature, expected)) {
      problems.push(`export ${name}: signature ${show(exp.signature)}, expected ${show(expected)}`);
    }
  }
  if (info.exports.has(FUEL_GLOBAL)) {
    problems.push(`export ${FUEL_GLOBAL}: the name is reserved for the host's fuel counter`);
  }
  if (info.exports.has(ACTIVATE_EXPORT)) {
    problems.push(`export ${ACTIVATE_EXPORT}: the name is reserved for the host's activation function (data segments and start code)`);
  }
  return problems;
}
