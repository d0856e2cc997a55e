import { createHash } from 'node:crypto';
import { ABI_VERSION, HEADER_OFFSET } from '../abi/abi.js';
import { buildImports, systemEnvironment, type HostServices } from '../abi/imports.js';
import { PersistentMemory } from '../abi/memory.js';
import { checkModule, type ModulePolicy } from './check.js';
import { ModuleRejected } from './errors.js';
import { inspectModule, type ModuleInspection } from './inspect.js';

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
  /** Milliseconds spent checking, compiling and warming up (all before the swap). */
  readonly prepareMs: number;
}

/** Optional rewriting of checked bytes before compilation (fuel metering plugs in here). */
export type ModuleTransform = (bytes: Uint8Array, info: ModuleInspection) => Uint8Array;

/**
 * Checks, compiles and warms up a module off the critical path, so the swap itself only has to
 * instantiate it (facts.md: compile 0.3–0.4 ms, instantiate 15–30 µs).
 *
 * The warm-up instantiates the module once against a scratch memory with inert host functions,
 * reads its ABI version, layout version and version string, and runs `init` there. That calls
 * into the module before it goes live (V8 compiles lazily otherwise) and catches a module whose
 * top-level code or `init` traps, without touching the component's real memory.
 */
export async function prepareModule(
  input: Uint8Array,
  claimed: { name: string; version?: string },
  policy: ModulePolicy,
  transform?: ModuleTransform,
): Promise<PreparedModule> {
  const started = performance.now();
  // One private copy: the caller's buffer may be reused, and WebAssembly wants an ArrayBuffer view.
  const bytes = new Uint8Array(input);
  const label = claimed.version ?? '(unversioned)';
  const reject = (...problems: string[]): never => {
    throw new ModuleRejected(claimed.name, label, problems);
  };
  if (bytes.byteLength > policy.maxModuleBytes) {
    reject(`module is ${bytes.byteLength} bytes, over the limit of ${policy.maxModuleBytes}`);
  }
  if (bytes.byteLength < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    reject('not a WebAssembly module (missing the \\0asm magic number)');
  }
  if (!WebAssembly.validate(bytes)) {
    let detail = 'invalid WebAssembly';
    try {
      await WebAssembly.compile(bytes);
    } catch (e) {
      detail = `invalid WebAssembly: ${(e as Error).message}`;
    }
    reject(detail);
  }
  let info: ModuleInspection;
  try {
    info = inspectModule(bytes);
  } catch (e) {
    return reject(`binaryen could not read the module: ${(e as Error).message}`);
  }
  const problems = checkModule(info, bytes.byteLength, policy);
  if (problems.length > 0) reject(...problems);

  const runnable = transform ? transform(bytes, info) : bytes;
  const compiled = await WebAssembly.compile(new Uint8Array(runnable));
  const meta = warmUp(compiled, info.memory!.initialPages, policy, claimed.name, label);
  if (meta.abiVersion !== ABI_VERSION) {
    reject(`export abi_version: module reports ABI ${meta.abiVersion}, the host speaks ABI ${ABI_VERSION}`);
  }
  if (claimed.version !== undefined && meta.version !== claimed.version) {
    reject(`export version: module reports "${meta.version}" but was stored as ${claimed.version}`);
  }
  return {
    name: claimed.name,
    version: meta.version,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.byteLength,
    abiVersion: meta.abiVersion,
    layoutVersion: meta.layoutVersion,
    minPages: info.memory!.initialPages,
    hasMigrate: info.exports.has('migrate'),
    hasMigrateDown: info.exports.has('migrate_down'),
    compiled,
    prepareMs: performance.now() - started,
  };
}

function warmUp(
  compiled: WebAssembly.Module,
  minPages: number,
  policy: ModulePolicy,
  name: string,
  label: string,
): { abiVersion: number; layoutVersion: number; version: string } {
  const scratch = new PersistentMemory({
    memoryBase: policy.memoryBase,
    maxBytes: policy.maxPages * 65536,
    initialPages: minPages,
  });
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
  const step = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      throw new ModuleRejected(name, label, [`${what} failed during warm-up: ${(e as Error).message}`]);
    }
  };
  let instance!: WebAssembly.Instance;
  step('instantiation (top-level code)', () => {
    instance = new WebAssembly.Instance(compiled, buildImports(inert));
  });
  const ex = instance.exports as Record<string, (...args: number[]) => number>;
  let abiVersion = 0;
  let layoutVersion = 0;
  step('abi_version', () => (abiVersion = ex.abi_version!()));
  step('layout_version', () => (layoutVersion = ex.layout_version!()));
  step('version', () => ex.version!());
  const version = out.trim();
  step('init', () => {
    const code = ex.init!(HEADER_OFFSET);
    if (code !== 0) throw new Error(`init returned ${code} on a fresh memory`);
  });
  step('status', () => ex.status!());
  return { abiVersion, layoutVersion, version };
}
