/**
 * The import object a module instance links against: the paper's "library API symbol" table,
 * built over the HostServices its component implements and the capabilities it was granted.
 */
import { randomFillSync } from 'node:crypto';
import { HEADER_OFFSET, HOST_NAMESPACE, HostResult, LogLevel, WASI_NAMESPACE } from './abi.js';
import { capabilityImports, type HostCapabilities } from './capability-imports.js';
import type { ImportGate } from './import-gate.js';
import type { PersistentMemory } from './memory.js';

/**
 * Everything non-deterministic a module can observe. Injected so that a future event journal
 * can record it and a shadow upgrade can replay it (see docs/ARCHITECTURE.md, "Seams").
 */
export interface Environment {
  nowMs(): number;
  monotonicMs(): number;
  randomFill(target: Uint8Array): void;
}

export const systemEnvironment: Environment = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  randomFill: (target) => void randomFillSync(target),
};

export type { ImportGate } from './import-gate.js';

/** What the host does for a module; implemented by the component's ModuleHost (host/component/module-host.ts). */
export interface HostServices {
  readonly memory: PersistentMemory;
  readonly environment: Environment;
  /** The component's import quotas; absent (a warm-up, a test double): every call is admitted. */
  readonly gate?: ImportGate;
  reply(bytes: Buffer): number;
  /** Sends `len` bytes at `ptr` in the module's memory (read only if the message is taken). */
  send(channel: number, peer: string, ptr: number, len: number): number;
  log(level: number, text: string): void;
  setTimer(id: number, delayMs: number, repeatMs: number): void;
  cancelTimer(id: number): boolean;
  timerDueIn(id: number): number;
  output(text: string): void;
  /** hs.next_message: the batch's next message (its record's index) or -1; absent: never a batch. */
  nextMessage?(): number;
}

/** A module called `abort` (AssemblyScript assertion, out of memory, explicit abort). */
export class ModuleAbort extends Error {
  constructor(readonly detail: string) {
    super(`module aborted: ${detail}`);
    this.name = 'ModuleAbort';
  }
}

/** The name of a hs.log level number (unknown numbers log as info). */
export const levelName = (level: number): string => Object.entries(LogLevel).find(([, v]) => v === level)?.[0] ?? 'info';

/**
 * Builds the import object for one module instance. It is the only door out of the sandbox; see
 * docs/ABI.md for each function. `capabilities` is what the component's configuration granted
 * (absent: every capability import answers denied, e.g. during a warm-up).
 */
export function buildImports(host: HostServices, capabilities?: HostCapabilities): WebAssembly.Imports {
  const mem = host.memory;
  const gate = host.gate;
  const hs = {
    ...(gate ? gatedImports(host, gate) : openImports(host)),
    timer_set: (id: number, delayMs: number, repeatMs: number): void => host.setTimer(id >>> 0, delayMs, repeatMs),
    timer_cancel: (id: number): number => (host.cancelTimer(id >>> 0) ? 0 : -1),
    timer_due_in: (id: number): number => host.timerDueIn(id >>> 0),
    now_ms: (): number => host.environment.nowMs(),
    monotonic_ms: (): number => host.environment.monotonicMs(),
    random_fill: (ptr: number, len: number): void => {
      host.environment.randomFill(new Uint8Array(mem.memory.buffer, ptr, len));
    },
    data_root: (): number => HEADER_OFFSET,
    next_message: host.nextMessage ? (): number => host.nextMessage!() : (): number => -1,
    // Host capabilities: denied unless the component's configuration grants them.
    ...capabilityImports(capabilities, mem, gate),
  };
  const env = {
    memory: mem.memory,
    abort: (msg: number, file: number, line: number, col: number): never => {
      throw new ModuleAbort(`${mem.readAsString(msg) || 'abort'} at ${mem.readAsString(file) || '?'}:${line}:${col}`);
    },
    trace: (msg: number, n: number, ...args: number[]): void => {
      if (gate?.log(0) !== false) host.log(LogLevel.debug, `trace: ${mem.readAsString(msg)} ${args.slice(0, n).join(', ')}`);
    },
    seed: (): number => {
      const b = new Uint8Array(8);
      host.environment.randomFill(b);
      return new DataView(b.buffer).getUint32(0) + 1;
    },
    'Date.now': (): number => host.environment.nowMs(),
  };
  // WASI's clock and randomness come from the same Environment as hs.now_ms and hs.random_fill,
  // so a journal sees every non-deterministic input of a WASI module too. They override
  // @wasmer/wasi's own (host/component/instance.ts merges this namespace over its imports).
  const wasi = {
    clock_time_get: (clockId: number, _precision: bigint, resultPtr: number): number => {
      const ms = clockId === WASI_CLOCK_REALTIME ? host.environment.nowMs() : host.environment.monotonicMs();
      new DataView(mem.memory.buffer).setBigUint64(resultPtr, BigInt(Math.round(ms * 1e6)), true);
      return 0; // errno success
    },
    random_get: (ptr: number, len: number): number => {
      host.environment.randomFill(new Uint8Array(mem.memory.buffer, ptr, len));
      return 0;
    },
  };
  return { [HOST_NAMESPACE]: hs, env, [WASI_NAMESPACE]: wasi };
}

/** The imports that copy bytes out of the module, without quotas (warm-up, benchmarks' baseline). */
function openImports(host: HostServices) {
  const mem = host.memory;
  return {
    log: (level: number, ptr: number, len: number): void => host.log(level, mem.readUtf8(ptr, len)),
    reply: (ptr: number, len: number): number => host.reply(mem.readReply(ptr, len)),
    send: (channel: number, peerPtr: number, peerLen: number, ptr: number, len: number): number =>
      host.send(channel >>> 0, mem.readName(peerPtr, peerLen), ptr, len),
    output: (ptr: number, len: number): void => host.output(mem.readUtf8(ptr, len)),
  };
}

/**
 * The same imports behind the component's quotas: the gate is asked with the length first, so a
 * refused call reads nothing (a log flood costs a counter increment per line, not a decode).
 */
function gatedImports(host: HostServices, gate: ImportGate) {
  const mem = host.memory;
  return {
    log: (level: number, ptr: number, len: number): void => {
      if (gate.log(len)) host.log(level, mem.readUtf8(ptr, len));
    },
    reply: (ptr: number, len: number): number => (gate.send(len) ? host.reply(mem.readReply(ptr, len)) : HostResult.quotaExceeded),
    send: (channel: number, peerPtr: number, peerLen: number, ptr: number, len: number): number =>
      gate.send(len) ? host.send(channel >>> 0, mem.readName(peerPtr, peerLen), ptr, len) : HostResult.quotaExceeded,
    output: (ptr: number, len: number): void => {
      const keep = gate.output(len);
      if (keep > 0) host.output(mem.readUtf8(ptr, keep));
    },
  };
}

/** WASI clock id 0: wall-clock time; every other clock is served from the monotonic clock. */
const WASI_CLOCK_REALTIME = 0;
