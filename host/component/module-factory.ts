/**
 * Turns module bytes into a PreparedModule, off the critical path, so the swap itself only has
 * to instantiate it (docs/MEASUREMENTS.md: compile 0.3–0.4 ms, instantiate 15–30 µs). It owns
 * what preparing needs across calls: the worker thread that checks and instruments
 * (ModulePreparer) and the scratch memories of the warm-ups. An engine creates one and closes it
 * on stop; nothing of it is process-wide.
 *
 * The warm-up instantiates the module once against a scratch memory with inert host functions,
 * reads its ABI version, layout version and version string, and runs `init` there. That calls
 * into the module before it goes live and catches a module whose top-level code or `init` traps,
 * without touching the component's real memory.
 */
import { ABI_VERSION } from '../abi/abi.js';
import { buildImports, type ImportGate } from '../abi/imports.js';
import { inertHost } from '../abi/inert-host.js';
import { PersistentMemory } from '../abi/memory.js';
import type { ModulePolicy } from '../modules/check.js';
import { type ClaimedModule, labelOf } from '../modules/claimed.js';
import { ModuleRejected } from '../modules/errors.js';
import { type CompiledModule, compileEagerly, compileModule, type PreparedModule } from '../modules/prepared.js';
import { ModulePreparer } from '../modules/preparer.js';
import { WasiSandbox } from '../modules/wasi.js';
import { ModuleInstance } from './instance.js';
import { DEFAULT_QUOTAS } from './quotas.js';

export class ModuleFactory {
  readonly #preparer: ModulePreparer;
  /**
   * One scratch memory per memory shape, reused by every warm-up: allocating a fresh 256 MiB
   * memory per prepare made V8 run a full garbage collection of the main heap right then, a
   * stall on the event loop that grew with the heap (docs/PERFORMANCE.md). A warm-up needs no
   * zeroed memory: INIT resets the persistent allocator, and the module's runtime takes its heap
   * as free; the bytes a warm-up used are zeroed anyway, so one module never sees another's data.
   */
  readonly #scratch = new Map<string, PersistentMemory>();

  constructor(preparer: ModulePreparer = new ModulePreparer()) {
    this.#preparer = preparer;
    compileEagerly();
  }

  /** Checks, compiles and warms up `input`; throws ModuleRejected naming every problem. */
  async prepare(input: Uint8Array, claimed: ClaimedModule, policy: ModulePolicy): Promise<PreparedModule> {
    const started = performance.now();
    const label = labelOf(claimed);
    const compiled = await compileModule(input, claimed, policy, this.#preparer);
    const meta = this.#warmUp(compiled, policy, label);
    const problems: string[] = [];
    if (meta.abiVersion !== ABI_VERSION) {
      problems.push(`export abi_version: module reports ABI ${meta.abiVersion}, the host speaks ABI ${ABI_VERSION}`);
    } else if (claimed.version !== undefined && meta.version !== claimed.version) {
      problems.push(`export version: module reports "${meta.version}" but was stored as ${claimed.version}`);
    }
    if (problems.length > 0) throw new ModuleRejected(claimed.name, label, problems);
    return { ...compiled, ...meta, prepareMs: performance.now() - started };
  }

  /** Ends the worker thread; a later prepare() starts a new one. */
  async close(): Promise<void> {
    this.#scratch.clear();
    await this.#preparer.close();
  }

  #scratchMemory(policy: ModulePolicy, minPages: number): PersistentMemory {
    const key = `${policy.memoryBase}:${policy.maxPages}`;
    let memory = this.#scratch.get(key);
    if (!memory) {
      memory = new PersistentMemory({ memoryBase: policy.memoryBase, maxBytes: policy.maxPages * 65536, initialPages: minPages });
      this.#scratch.set(key, memory);
    } else {
      new Uint8Array(memory.memory.buffer).fill(0, 0, memory.persistentBytesInUse());
    }
    memory.ensurePages(minPages);
    return memory;
  }

  #warmUp(draft: CompiledModule, policy: ModulePolicy, label: string): { abiVersion: number; layoutVersion: number; version: string } {
    const scratch = this.#scratchMemory(policy, draft.minPages);
    let out = '';
    let kept = 0;
    // The warm-up runs on the engine's event loop, so the module's imports are bounded here too:
    // log lines are dropped unread (nobody sees a warm-up's log) and `status` output stops at
    // the default output quota (a module writing 128 MiB stalled the engine for 0.2-0.6 s).
    const gate: ImportGate = {
      send: () => true,
      log: () => false,
      output: (bytes) => {
        const keep = Math.max(0, Math.min(bytes, DEFAULT_QUOTAS.outputBytes - kept));
        kept += keep;
        return keep;
      },
    };
    const inert = inertHost(scratch, {
      gate,
      output: (text) => {
        out += text;
      },
    });
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
    const instance = step(
      'instantiation (top-level code)',
      () => new ModuleInstance(module, buildImports(inert), { memory: scratch, ...(wasi ? { wasi } : {}) }),
    );
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
}
