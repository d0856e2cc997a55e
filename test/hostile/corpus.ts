/**
 * The hostile-module corpus of test/safety*.test.ts (docs/SAFETY.md, "Tests"). Behavioural
 * cases are AssemblyScript entries in test/hostile/src/, compiled by `npm run build:modules`
 * into build/hostile/<case>.wasm. Structural cases are derived here, in the test, from real
 * module bytes with binaryen's module API: no hand-made binaries.
 */

import dgram from 'node:dgram';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import binaryen from 'binaryen';
import { MEMORY_BASE, REQUIRED_EXPORTS, type Signature } from '../../host/abi/abi.js';
import type { ComponentConfig, EngineConfig } from '../../host/config.js';
import { Engine, type EngineOptions } from '../../host/engine.js';
import type { FuelBudgets } from '../../host/modules/fuel-budgets.js';

const root = join(import.meta.dirname, '..', '..');

export const hostile = (name: string): Uint8Array => readFileSync(join(root, 'build', 'hostile', `${name}.wasm`));
export const bundled = (name: string, version: string): Uint8Array => readFileSync(join(root, 'build', 'modules', name, `${version}.wasm`));

const FEATURES =
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.SignExt;

/** Rewrites a real module with binaryen's module API (add an import, drop an export, ...). */
export function mutate(bytes: Uint8Array, edit: (mod: binaryen.Module) => void): Uint8Array {
  const mod = binaryen.readBinary(bytes);
  try {
    mod.setFeatures(FEATURES);
    edit(mod);
    return new Uint8Array(mod.emitBinary());
  } finally {
    mod.dispose();
  }
}

const wasmType = (t: string): number => (binaryen as unknown as Record<string, number>)[t]!;
const typeOf = (types: readonly string[]): number => (types.length === 0 ? binaryen.none : binaryen.createType(types.map(wasmType)));

/**
 * A from-scratch module with every required export (returning zeros) that imports env.memory,
 * so that the ONE defect under test is all that is wrong with it.
 */
export function stubModule(options: { segmentAt?: number; maxPages?: number; abiVersion?: number }): Uint8Array {
  const mod = new binaryen.Module();
  try {
    const pages = MEMORY_BASE / 65536 + 1;
    const segments = [{ offset: mod.i32.const(options.segmentAt ?? MEMORY_BASE), data: [...Buffer.from('stub data')], passive: false }];
    mod.setMemory(pages, options.maxPages ?? -1, 'memory', segments as never, false, false, 'mem');
    mod.addMemoryImport('mem', 'env', 'memory');
    for (const [name, sig] of Object.entries(REQUIRED_EXPORTS) as [string, Signature][]) {
      const result = sig.results[0];
      const value = name === 'abi_version' ? (options.abiVersion ?? 1) : name === 'layout_version' ? 1 : 0;
      const body = result === undefined ? mod.nop() : mod.i32.const(value);
      mod.addFunction(name, typeOf(sig.params), typeOf(sig.results), [], body);
      mod.addFunctionExport(name, name);
    }
    if (!mod.validate()) throw new Error('stub module does not validate');
    return new Uint8Array(mod.emitBinary());
  } finally {
    mod.dispose();
  }
}

/** Small budgets, so runaway cases burn their fuel in milliseconds. */
export const TEST_FUEL: FuelBudgets = {
  message: 2_000_000,
  timer: 2_000_000,
  signal: 2_000_000,
  init: 5_000_000,
  restart: 5_000_000,
  migrate: 50_000_000,
  lifecycle: 2_000_000,
};
/** memoryBase plus 16 MiB: room for the kv data, small enough that growing into it is quick. */
export const TEST_MEMORY_BYTES = MEMORY_BASE + 16 * 1024 * 1024;

export async function startKvEngine(component: Partial<ComponentConfig> = {}, options: EngineOptions = {}): Promise<Engine> {
  const config: EngineConfig = {
    dataDir: mkdtempSync(join(tmpdir(), 'hotswap-safety-')),
    logLevel: 'error',
    control: { host: '127.0.0.1', port: 0 },
    components: [
      {
        name: 'kv',
        module: 'kv',
        version: '2.0.0',
        listen: [{ proto: 'udp', host: '127.0.0.1', port: 0 }],
        signals: [],
        limits: { memoryBytes: TEST_MEMORY_BYTES, moduleBytes: 1024 * 1024, fuel: TEST_FUEL },
        snapshot: 'incremental', // the default: the corpus proves the dirty-page rollback copy
        wasi: false,
        probation: { windowMs: 60_000, maxFaults: 2 },
        ...component,
      },
    ],
  };
  return Engine.start(config, options);
}

/**
 * A real UDP client keeping a steady stream of `SET` requests (each on its own key) flowing to
 * a kv component, at most `window` in flight, in a bounded loop. kv answers in order on one
 * socket, so replies are matched to requests by order. `stop()` waits for every reply.
 */
export class SteadyTraffic {
  readonly #socket = dgram.createSocket('udp4');
  readonly #port: number;
  readonly #prefix: string;
  readonly #window: number;
  readonly #waiting: ((reply: string) => void)[] = [];
  readonly replies: string[] = [];
  sent = 0;
  #running = true;
  #loop: Promise<void> = Promise.resolve();
  #finished = false;

  constructor(port: number, prefix: string, window = 8) {
    this.#port = port;
    this.#prefix = prefix;
    this.#window = window;
    this.#socket.on('message', (msg) => {
      this.replies.push(msg.toString());
      this.#waiting.shift()?.(msg.toString());
    });
  }

  /** Starts sending; at most `limit` requests, and never past `maxMs`. */
  start(limit = 5000, maxMs = 10_000): this {
    const deadline = performance.now() + maxMs;
    const worker = async (): Promise<void> => {
      while (this.#running && this.sent < limit && performance.now() < deadline) {
        const i = this.sent++;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no reply to request ${i} within 5 s`)), 5000);
          this.#waiting.push(() => {
            clearTimeout(timer);
            resolve();
          });
          this.#socket.send(`SET ${this.#prefix}${i} v${i}`, this.#port, '127.0.0.1');
        });
      }
    };
    this.#loop = Promise.all(Array.from({ length: this.#window }, worker)).then(() => {
      this.#finished = true;
    });
    return this;
  }

  /** Whether every worker has ended (limit or deadline reached, or stopped). */
  get finished(): boolean {
    return this.#finished;
  }

  /** Stops sending and waits for the replies to everything sent. */
  async stop(): Promise<{ sent: number; replies: string[] }> {
    this.#running = false;
    await this.#loop;
    this.#socket.close();
    return { sent: this.sent, replies: this.replies };
  }
}

/** One request/reply at a time on a fresh socket (for commands that get no reply, use `send`). */
export class UdpProbe {
  readonly #socket = dgram.createSocket('udp4');
  readonly #port: number;
  readonly #waiting: ((reply: string) => void)[] = [];

  constructor(port: number) {
    this.#port = port;
    this.#socket.on('message', (msg) => this.#waiting.shift()?.(msg.toString()));
  }

  send(line: string): void {
    this.#socket.send(line, this.#port, '127.0.0.1');
  }

  request(line: string, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to "${line}"`)), timeoutMs);
      this.#waiting.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.send(line);
    });
  }

  close(): void {
    this.#socket.close();
  }
}

export const udpPort = (engine: Engine, name = 'kv'): number => engine.addresses(name).find((a) => a.proto === 'udp')!.port;
