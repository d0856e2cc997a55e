/**
 * Measures what a swap's instantiation and an upgrade's compilation cost in V8, for
 * docs/MEASUREMENTS.md ("Compiling and instantiating"):
 * - `WebAssembly.compile` of kv 1.0.0 as built (build/modules/kv/1.0.0.wasm), with unique bytes
 *   per round (a custom section carries a counter) so V8's cache keyed by the bytes can't help;
 * - `new WebAssembly.Instance` of that compiled module against one existing memory (its start
 *   function initialises the AssemblyScript runtime, as in a swap);
 * - the same for a hand-written module with a 4 KiB data segment and no start function;
 * - the first call into a freshly compiled module, and compiling, with V8's lazy compilation
 *   (the default) and with `--no-wasm-lazy-compilation` (what host/engine.ts sets).
 * Run: `npm run build`, then `npx tsx scripts/measure/wasm-timings.ts`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import { summarize } from '../../bench/peers/stats.js';
import { MEMORY_BASE } from '../../host/abi/abi.js';
import { packageRoot } from '../../host/paths.js';

const kv = readFileSync(join(packageRoot, 'build/modules/kv/1.0.0.wasm'));
const PAGE = 65536;

/** The bytes with a custom section "n" holding `i` appended: a valid module V8 has not seen. */
function unique(bytes: Uint8Array, i: number): Uint8Array<ArrayBuffer> {
  const payload = Buffer.from(`n${String(i).padStart(10, '0')}`); // name length 1, "n", counter
  const section = Buffer.concat([Buffer.from([0, payload.length + 1, 1]), payload]);
  return new Uint8Array(Buffer.concat([bytes, section]));
}

/** Every import the module asks for: the given memory, and functions that return 0. */
function importsFor(mod: WebAssembly.Module, memory: WebAssembly.Memory): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const i of WebAssembly.Module.imports(mod)) {
    const ns = (imports[i.module] ??= {});
    ns[i.name] = i.kind === 'memory' ? memory : () => 0;
  }
  return imports;
}

/** A module importing env.memory with one active 4 KiB data segment at MEMORY_BASE + 1024. */
function handWritten(): Uint8Array<ArrayBuffer> {
  const leb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return out;
  };
  const sleb = (n: number): number[] => {
    const out: number[] = [];
    for (;;) {
      const b = n & 0x7f;
      n >>= 7;
      if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
      out.push(b | 0x80);
    }
  };
  const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
  const str = (s: string): number[] => [s.length, ...Buffer.from(s)];
  const data = new Array<number>(4096).fill(7);
  const importSec = [1, ...str('env'), ...str('memory'), 2, 0, ...leb(MEMORY_BASE / PAGE + 1)];
  const dataSec = [1, 0, 0x41, ...sleb(MEMORY_BASE + 1024), 0x0b, ...leb(data.length), ...data];
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...section(2, importSec), ...section(11, dataSec)]);
}

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1000; // µs
}

async function main(): Promise<void> {
  const rounds = 300;
  const memory = new WebAssembly.Memory({ initial: MEMORY_BASE / PAGE + 16, maximum: 8192 });
  for (let i = 0; i < 20; i++) await WebAssembly.compile(unique(kv, -1 - i)); // warm the compiler

  const compileMs: number[] = [];
  let compiled: WebAssembly.Module | null = null;
  for (let i = 0; i < rounds; i++) {
    const bytes = unique(kv, i);
    const t0 = process.hrtime.bigint();
    compiled = await WebAssembly.compile(bytes);
    compileMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const kvMod = compiled!;
  const kvImports = importsFor(kvMod, memory);
  const kvUs: number[] = [];
  for (let i = 0; i < rounds + 20; i++) {
    const us = time(() => new WebAssembly.Instance(kvMod, kvImports));
    if (i >= 20) kvUs.push(us);
  }
  const hand = new WebAssembly.Module(handWritten());
  const handImports = importsFor(hand, memory);
  const handUs: number[] = [];
  for (let i = 0; i < rounds + 20; i++) {
    const us = time(() => new WebAssembly.Instance(hand, handImports));
    if (i >= 20) handUs.push(us);
  }

  // First call after compiling: lazily (default), then with lazy compilation off.
  const firstCall = async (seed: number): Promise<{ first: number; second: number }> => {
    const mod = await WebAssembly.compile(unique(kv, seed));
    const inst = new WebAssembly.Instance(mod, importsFor(mod, memory));
    const version = inst.exports.version as () => void;
    return { first: time(() => version()), second: time(() => version()) };
  };
  const lazy: number[] = [];
  const lazySecond: number[] = [];
  for (let i = 0; i < 30; i++) {
    const r = await firstCall(1e6 + i);
    lazy.push(r.first);
    lazySecond.push(r.second);
  }
  v8.setFlagsFromString('--no-wasm-lazy-compilation');
  const eager: number[] = [];
  for (let i = 0; i < 30; i++) eager.push((await firstCall(2e6 + i)).first);
  const compileEagerMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const bytes = unique(kv, 3e6 + i);
    const t0 = process.hrtime.bigint();
    await WebAssembly.compile(bytes);
    compileEagerMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }

  const show = (what: string, xs: number[], digits: number): void => console.log(what.padEnd(46), JSON.stringify(summarize(xs, digits)));
  console.log(`kv 1.0.0: ${kv.length} bytes`);
  show('compile kv, lazy (ms)', compileMs, 3);
  show('compile kv, --no-wasm-lazy-compilation (ms)', compileEagerMs, 3);
  show('instantiate kv (µs)', kvUs, 1);
  show('instantiate hand-written, 4 KiB data (µs)', handUs, 1);
  show('first call of version(), lazy (µs)', lazy, 1);
  show('second call, lazy (µs)', lazySecond, 1);
  show('first call, --no-wasm-lazy-compilation (µs)', eager, 1);
}

await main();
