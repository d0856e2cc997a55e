import { createHash } from 'node:crypto';
import { ABI_VERSION } from '../abi/abi.js';
import { buildImports, systemEnvironment, type HostServices } from '../abi/imports.js';
import { PersistentMemory } from '../abi/memory.js';
import { ModuleInstance } from '../component/instance.js';
import type { ModulePolicy } from './check.js';
import { fuelOf, labelOf, type ClaimedModule } from './checked-bytes.js';
import { ModuleRejected } from './errors.js';
import type { FuelBudgets } from './fuel-budgets.js';
import { ModulePreparer } from './preparer.js';
import { usesWasi, wasiReady, WasiSandbox } from './wasi.js';

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
  /** Milliseconds spent checking, compiling and warming up (all before the swap). */
  readonly prepareMs: number;
}

/**
 * Checks, compiles and warms up a module off the critical path, so the swap itself only has to
 * instantiate it (facts.md: compile 0.3–0.4 ms, instantiate 15–30 µs).
 *
 * The warm-up instantiates the module once against a scratch memory with inert host functions,
 * reads its ABI version, layout version and version string, and runs `init` there. That calls
 * into the module before it goes live (V8 compiles lazily otherwise) and catches a module whose
 * top-level code or `init` traps, without touching the component's real memory.
 *
 * The checks and the binaryen rewriting (host/modules/checked-bytes.ts) run in `preparer`'s
 * worker thread; what stays here is cheap or needs this thread: hashing, `WebAssembly.compile`
 * (asynchronous, V8 compiles on its own threads) and the warm-up, which instantiates the module.
 */
export async function prepareModule(
  input: Uint8Array,
  claimed: ClaimedModule,
  policy: ModulePolicy,
  preparer: ModulePreparer = ModulePreparer.shared,
): Promise<PreparedModule> {
  const started = performance.now();
  // One private copy: the caller's buffer may be reused, and this copy is transferred to the worker.
  const bytes = new Uint8Array(input);
  const label = labelOf(claimed);
  const reject = (...problems: string[]): never => {
    throw new ModuleRejected(claimed.name, label, problems);
  };
  const size = bytes.byteLength;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const { runnable, info } = await preparer.check(bytes, claimed, policy);
  const compiled = await WebAssembly.compile(new Uint8Array(runnable));
  const wasi = usesWasi(compiled);
  if (wasi) await wasiReady();
  const draft: Omit<PreparedModule, 'version' | 'abiVersion' | 'layoutVersion' | 'prepareMs'> = {
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
  };
  const meta = warmUp(draft, policy, label);
  if (meta.abiVersion !== ABI_VERSION) {
    reject(`export abi_version: module reports ABI ${meta.abiVersion}, the host speaks ABI ${ABI_VERSION}`);
  }
  if (claimed.version !== undefined && meta.version !== claimed.version) {
    reject(`export version: module reports "${meta.version}" but was stored as ${claimed.version}`);
  }
  return {
    ...draft,
    version: meta.version,
    abiVersion: meta.abiVersion,
    layoutVersion: meta.layoutVersion,
    prepareMs: performance.now() - started,
  };
}

/**
 * One scratch memory per memory shape, reused by every warm-up: allocating a fresh 256 MiB
 * memory per prepare made V8 run a full garbage collection of the main heap right then, a
 * stall on the event loop that grew with the heap (docs/PERFORMANCE.md). A warm-up needs no
 * zeroed memory: INIT resets the persistent allocator, and the module's runtime takes its heap
 * as free; the bytes a warm-up used are zeroed anyway, so one module never sees another's data.
 */
const scratchMemories = new Map<string, PersistentMemory>();
function scratchMemory(policy: ModulePolicy, minPages: number): PersistentMemory {
  const key = `${policy.memoryBase}:${policy.maxPages}`;
  let memory = scratchMemories.get(key);
  if (!memory) {
    memory = new PersistentMemory({ memoryBase: policy.memoryBase, maxBytes: policy.maxPages * 65536, initialPages: minPages });
    scratchMemories.set(key, memory);
  } else {
    new Uint8Array(memory.memory.buffer).fill(0, 0, memory.persistentBytesInUse());
  }
  memory.ensurePages(minPages);
  return memory;
}

function warmUp(
  draft: Omit<PreparedModule, 'version' | 'abiVersion' | 'layoutVersion' | 'prepareMs'>,
  policy: ModulePolicy,
  label: string,
): { abiVersion: number; layoutVersion: number; version: string } {
  const scratch = scratchMemory(policy, draft.minPages);
  let out = '';
  const inert: HostServices = {
    memory: scratch,
    environment: systemEnvironment,
    reply: () => 0,
    send: () => 0,
    log: () => {},
    setTimer: () => {},
    cancelTimer: () => false,
    timerDueIn: () => -1,
    output: (text) => {
      out += text;
    },
  };
  let known = label; // becomes the module's own version string once `version` has answered
  const step = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      throw new ModuleRejected(draft.name, known, [`${what} failed during warm-up: ${(e as Error).message}`]);
    }
  };
  // The same ModuleInstance as in a component, so fuel budgets and trap reasons apply here too:
  // an endless loop in top-level code or init is rejected before the module can be swapped in.
  const module: PreparedModule = { ...draft, version: label, abiVersion: 0, layoutVersion: 0, prepareMs: 0 };
  const wasi = draft.usesWasi ? new WasiSandbox(() => {}) : undefined;
  const instance = step('instantiation (top-level code)', () =>
    new ModuleInstance(module, buildImports(inert), { memory: scratch, ...(wasi ? { wasi } : {}) }));
  const abiVersion = step('abi_version', () => instance.abiVersion());
  const layoutVersion = step('layout_version', () => instance.layoutVersion());
  step('version', () => instance.version());
  const version = out.trim();
  if (label === '(unversioned)' && version) known = version;
  step('init', () => {
    const code = instance.init();
    if (code !== 0) throw new Error(`init returned ${code} on a fresh memory`);
  });
  step('status', () => instance.status());
  return { abiVersion, layoutVersion, version };
}
