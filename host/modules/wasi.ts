// The WASI sandbox of one component (@wasmer/wasi): stdout and stderr as log lines, no
// filesystem; re-bound to each new instance of the component's module.
import { init, WASI } from '@wasmer/wasi';
import { WASI_NAMESPACE } from '../abi/abi.js';

/**
 * Loads @wasmer/wasi's own Wasm; needed before any WasiSandbox is made. The library memoizes its
 * init itself (one load per process, later calls await the same promise), so no state here.
 */
export async function wasiReady(): Promise<void> {
  await init();
}

/** True when a compiled module imports anything from the WASI namespace. */
export function usesWasi(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(module).some((i) => i.module === WASI_NAMESPACE);
}

export type WasiStream = 'stdout' | 'stderr';

/**
 * A component's WASI sandbox (docs/SAFETY.md, "WASI"): one @wasmer/wasi object per component,
 * re-bound to every new instance, so output keeps flowing across swaps. It offers no
 * arguments, no environment variables and no preopened directories, so `path_open` and friends
 * find nothing (and modules/check.ts rejects modules that even import them). What a module
 * writes to stdout and stderr is handed to `sink` after each callback.
 *
 * Node's built-in `node:wasi` can't be used: it binds to one instance for good (docs/MEASUREMENTS.md, "WASI across swaps").
 */
export class WasiSandbox {
  readonly #wasi: WASI;
  readonly #sink: (stream: WasiStream, text: string) => void;

  /** Call `await wasiReady()` first (prepareModule does, for every module that imports WASI). */
  constructor(sink: (stream: WasiStream, text: string) => void) {
    this.#wasi = new WASI({ args: [], env: {} });
    this.#sink = sink;
  }

  /** The WASI import namespace for one instance of `module`. */
  imports(module: WebAssembly.Module): WebAssembly.Imports {
    return this.#wasi.getImports(module) as WebAssembly.Imports;
  }

  /** Points the sandbox at a new instance (which must export its memory: AssemblyScript's default). */
  bind(instance: WebAssembly.Instance): void {
    this.#wasi.instantiate(instance, {});
  }

  /** Hands what the module wrote since the last flush to the sink, line by line. */
  flush(): void {
    this.#emit('stdout', this.#wasi.getStdoutString());
    this.#emit('stderr', this.#wasi.getStderrString());
  }

  #emit(stream: WasiStream, text: string): void {
    if (text.length === 0) return;
    for (const line of text.replace(/\n$/, '').split('\n')) this.#sink(stream, line);
  }
}
