/**
 * Checks the two WASI facts a swap depends on, for docs/MEASUREMENTS.md ("WASI across swaps"):
 * 1. Node's built-in `node:wasi` binds to one instance: initialising it for a second instance
 *    (the module after a swap) throws;
 * 2. @wasmer/wasi can be re-bound to each new instance and keeps collecting stdout, but only
 *    when the instance re-exports the imported memory: without the export it fails.
 * The module is hand-written: it imports `env.memory` and `fd_write`, and `hello()` writes
 * "hi\n" to stdout. Run: `npx tsx scripts/measure/wasi.ts`.
 */

import { WASI as NodeWasi } from 'node:wasi';
import { init, WASI as WasmerWasi } from '@wasmer/wasi';
import binaryen from 'binaryen';

const module = (exportMemory: boolean): WebAssembly.Module => {
  const wat = `(module
    (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
    (import "env" "memory" (memory 1))
    ${exportMemory ? '(export "memory" (memory 0))' : ''}
    (data (i32.const 64) "hi\\n")
    (func (export "_initialize"))
    (func (export "hello")
      (i32.store (i32.const 0) (i32.const 64)) ;; iovec: base 64, length 3
      (i32.store (i32.const 4) (i32.const 3))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))`;
  const m = binaryen.parseText(wat);
  const bytes = new Uint8Array(m.emitBinary());
  m.dispose();
  return new WebAssembly.Module(bytes);
};

const attempt = (what: string, fn: () => string): void => {
  try {
    console.log(`${what}: ${fn()}`);
  } catch (e) {
    console.log(`${what}: throws ${(e as Error).name}: ${(e as Error).message.split('\n')[0]}`);
  }
};

const memory = new WebAssembly.Memory({ initial: 1 });
const withExport = module(true);

// 1. node:wasi, one WASI object, two instances (before and after a swap).
const nodeWasi = new NodeWasi({ version: 'preview1', returnOnExit: true });
const nodeInstance = (): WebAssembly.Instance =>
  new WebAssembly.Instance(withExport, { ...nodeWasi.getImportObject(), env: { memory } } as WebAssembly.Imports);
attempt('node:wasi, first instance', () => {
  nodeWasi.initialize(nodeInstance());
  return 'initialised';
});
attempt('node:wasi, second instance (after a swap)', () => {
  nodeWasi.initialize(nodeInstance());
  return 'initialised';
});

// 2. @wasmer/wasi, re-bound per instance; then a module that does not re-export its memory.
await init();
const run = (mod: WebAssembly.Module, times: number): string => {
  const wasi = new WasmerWasi({ args: [], env: {} });
  for (let i = 0; i < times; i++) {
    const instance = new WebAssembly.Instance(mod, {
      ...(wasi.getImports(mod) as WebAssembly.Imports),
      env: { memory },
    });
    wasi.instantiate(instance, {});
    (instance.exports.hello as () => void)();
  }
  return `stdout ${JSON.stringify(wasi.getStdoutString())}`;
};
attempt('@wasmer/wasi, memory re-exported, 3 instances', () => run(withExport, 3));
attempt('@wasmer/wasi, memory not re-exported', () => run(module(false), 1));
