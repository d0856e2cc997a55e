/**
 * Checks how V8 links an imported memory, which decides who owns the maximum (host/abi/memory.ts,
 * docs/MEASUREMENTS.md "The memory's maximum"): hand-written modules that import `env.memory`
 * with or without a declared maximum, against host memories with and without one; and what
 * `memory.grow` past the host's maximum returns. Run: `npx tsx scripts/measure/memory-import.ts`.
 */
import binaryen from 'binaryen';

/** A module importing env.memory with `limits` (e.g. "2" or "2 4"), exporting grow(pages). */
function module(limits: string): WebAssembly.Module {
  const m = binaryen.parseText(`(module
    (import "env" "memory" (memory ${limits}))
    (func (export "grow") (param $pages i32) (result i32) (memory.grow (local.get $pages))))`);
  const bytes = new Uint8Array(m.emitBinary());
  m.dispose();
  return new WebAssembly.Module(bytes);
}

function link(what: string, limits: string, host: WebAssembly.MemoryDescriptor): WebAssembly.Instance | null {
  try {
    const instance = new WebAssembly.Instance(module(limits), { env: { memory: new WebAssembly.Memory(host) } });
    console.log(`${what}: links`);
    return instance;
  } catch (e) {
    console.log(`${what}: ${(e as Error).name}: ${(e as Error).message}`);
    return null;
  }
}

const noMax = link('module min 2, no max; host 2..8 pages', '2', { initial: 2, maximum: 8 });
link('module min 2, no max; host 1 page (below the minimum)', '2', { initial: 1, maximum: 8 });
link('module min 2, max 4; host 2 pages, no maximum', '2 4', { initial: 2 });
link('module min 2, max 4; host 2..8 pages', '2 4', { initial: 2, maximum: 8 });
link('module min 2, max 4; host 2..4 pages', '2 4', { initial: 2, maximum: 4 });

const grow = noMax!.exports.grow as (pages: number) => number;
console.log(`grow by 6 pages up to the host's maximum of 8: returns ${grow(6)} (the old size)`);
console.log(`grow by 1 more page: returns ${grow(1)}`);
