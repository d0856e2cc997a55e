/**
 * Checks what host/modules/inspect.ts and dirty-pages.ts rely on in binaryen.js, for
 * docs/MEASUREMENTS.md ("binaryen.js"):
 * 1. which data-segment and reader functions exist at runtime against what index.d.ts declares
 *    (the typings lag the runtime);
 * 2. that data-segment offsets are visible through binaryen (V8's WebAssembly.Module reflection
 *    shows imports and exports only, without memory limits), here for kv 1.0.0: every segment
 *    lies at or above memoryBase;
 * 3. that kv as AssemblyScript builds it validates only with the features it was built with.
 * Run: `npm run build`, then `npx tsx scripts/measure/binaryen-api.ts`.
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import binaryen from 'binaryen';
import { MEMORY_BASE } from '../../host/abi/abi.js';
import { packageRoot } from '../../host/paths.js';

const typings = readFileSync(join(createRequire(import.meta.url).resolve('binaryen'), '../index.d.ts'), 'utf8');
const api = binaryen as unknown as Record<string, unknown>;
const kv = readFileSync(join(packageRoot, 'build/modules/kv/1.0.0.wasm'));

const m = binaryen.readBinary(kv);
const onModule = m as unknown as Record<string, unknown>;
const names = ['getNumDataSegments', 'getDataSegmentByIndex', 'getDataSegmentInfo', 'getMemorySegmentInfo', 'readBinaryWithFeatures'];
for (const name of names) {
  // Declared anywhere in index.d.ts (as a function or a Module method) counts as declared.
  const declared = new RegExp(`\\b${name}\\(`).test(typings);
  const present = typeof api[name] === 'function' || typeof onModule[name] === 'function';
  console.log(`${name.padEnd(24)} typings: ${declared ? 'declared' : 'missing '}  runtime: ${present ? 'present' : 'missing'}`);
}
const store = api.Store as Record<string, unknown> | undefined;
console.log(
  `binaryen.Store.getPtr    typings: ${/namespace Store\b/.test(typings) ? 'declared' : 'missing '}  runtime: ${typeof store?.getPtr === 'function' ? 'present' : 'missing'}`,
);

const reflected = WebAssembly.Module.imports(new WebAssembly.Module(kv)).find((i) => i.kind === 'memory');
console.log(`V8 reflection of kv's memory import: ${JSON.stringify(reflected)} (no limits, no segments)`);

const all =
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.BulkMemory |
  binaryen.Features.SignExt |
  ((binaryen.Features as unknown as Record<string, number>).BulkMemoryOpt ?? 0);
const segments = m as unknown as {
  getNumDataSegments(): number;
  getDataSegmentByIndex(i: number): number;
  getDataSegmentInfo(ref: number): { offset: number };
};
const count = segments.getNumDataSegments();
const offsets = Array.from({ length: count }, (_, i) => segments.getDataSegmentInfo(segments.getDataSegmentByIndex(i)).offset);
console.log(`kv 1.0.0: ${count} data segments, lowest offset ${Math.min(...offsets)} (memoryBase ${MEMORY_BASE})`);

console.log(`features after readBinary: ${m.getFeatures()} (${m.getFeatures() === binaryen.Features.MVP ? 'MVP only' : 'more than MVP'})`);
console.log('validate with those features (binaryen prints why it fails):');
const plainValid = m.validate();
m.setFeatures(all);
console.log(`valid with readBinary's features: ${Boolean(plainValid)}; with the five AssemblyScript features: ${Boolean(m.validate())}`);
m.dispose();
