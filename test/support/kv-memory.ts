// A dirty-tracked kv 2.0.0 instance over a PersistentMemory, driven by direct calls (no engine):
// what the checkpoint tests and benches use to make real persistent state.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARENA_OFFSET, HEADER_OFFSET } from '../../host/abi/abi.js';
import { buildImports } from '../../host/abi/imports.js';
import { inertHost } from '../../host/abi/inert-host.js';
import type { PersistentMemory } from '../../host/abi/memory.js';
import { instrumentDirtyPages } from '../../host/modules/dirty-pages.js';

const repoRoot = join(import.meta.dirname, '..', '..');

/** kv 2.0.0 with dirty-page marking (compile it once and pass it to every KvOnMemory). */
export function trackedKvModule(): WebAssembly.Module {
  return new WebAssembly.Module(new Uint8Array(instrumentDirtyPages(readFileSync(join(repoRoot, 'build/modules/kv/2.0.0.wasm')))));
}

export class KvOnMemory {
  readonly #memory: PersistentMemory;
  readonly #exports: Record<string, (...a: number[]) => number>;
  #reply = '';

  /** `init` on a fresh memory, `restart` on one that holds kv's data. */
  constructor(module: WebAssembly.Module, memory: PersistentMemory, mode: 'init' | 'restart') {
    this.#memory = memory;
    const host = inertHost(memory, {
      reply: (b) => {
        this.#reply = b.toString();
        return 0;
      },
    });
    this.#exports = new WebAssembly.Instance(module, buildImports(host)).exports as never;
    const code = this.#exports[mode]!(HEADER_OFFSET);
    if (code !== 0) throw new Error(`kv ${mode} returned ${code}`);
  }

  /** Sends one request line and returns the reply. */
  send(line: string): string {
    const payload = Buffer.from(line);
    this.#reply = '';
    this.#memory.writeInbox(0, payload, 'test', 0);
    this.#exports.on_message!(0, payload.length);
    return this.#reply;
  }
}

/** Hash of the persistent bytes a module owns: the header page and the arena up to its top. */
export function persistentHash(memory: PersistentMemory): string {
  const b = new Uint8Array(memory.memory.buffer);
  return createHash('sha256').update(b.subarray(0, 4096)).update(b.subarray(ARENA_OFFSET, memory.persistentBytesInUse())).digest('hex');
}
