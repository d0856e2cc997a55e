/**
 * Measures what it costs to hand an event from JavaScript to Wasm, for docs/MEASUREMENTS.md
 * ("Calling from JavaScript into Wasm"):
 * - a call of an export taking one i32 and returning it (the bare JS→Wasm call);
 * - one event (4 i32 words) written into linear memory through a cached Int32Array, then one call;
 * - the same with a fresh `new Int32Array(memory.buffer, …)` per event;
 * - batches of 16 and 4096 events written through the cached view, one call per batch.
 * Each figure is per event (loop overhead included): the fastest of 15 rounds (the one least
 * disturbed by other processes on shared cores), and the median.
 * Run: `npx tsx scripts/measure/call-cost.ts`.
 */
import binaryen from 'binaryen';

const EVENTS = 4_000_000;
const ROUNDS = 15;

const wat = `(module
  (import "env" "memory" (memory 1))
  (func (export "id") (param $a i32) (result i32) (local.get $a))
  ;; sums the 4 words of each of $n events starting at address 0
  (func (export "handle") (param $n i32) (result i32) (local $p i32) (local $s i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 4)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $s (i32.add (local.get $s) (i32.add
        (i32.add (i32.load (local.get $p)) (i32.load offset=4 (local.get $p)))
        (i32.add (i32.load offset=8 (local.get $p)) (i32.load offset=12 (local.get $p))))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $l)))
    (local.get $s)))`;

const m = binaryen.parseText(wat);
if (!m.validate()) throw new Error('invalid module');
const bytes = new Uint8Array(m.emitBinary());
m.dispose();
const memory = new WebAssembly.Memory({ initial: 1 });
const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
const id = inst.exports.id as (a: number) => number;
const handle = inst.exports.handle as (n: number) => number;
const cached = new Int32Array(memory.buffer);
let sink = 0;

const cases: Record<string, () => void> = {
  'bare call, one i32': () => {
    for (let i = 0; i < EVENTS; i++) sink ^= id(i);
  },
  'write 16 B via cached view + call': () => {
    for (let i = 0; i < EVENTS; i++) {
      cached[0] = i;
      cached[1] = i;
      cached[2] = i;
      cached[3] = i;
      sink ^= handle(1);
    }
  },
  'new Int32Array per event + call': () => {
    for (let i = 0; i < EVENTS; i++) {
      const view = new Int32Array(memory.buffer, 0, 4);
      view[0] = i;
      view[1] = i;
      view[2] = i;
      view[3] = i;
      sink ^= handle(1);
    }
  },
};
for (const batch of [16, 4096]) {
  cases[`batch of ${batch}, one call per batch`] = () => {
    for (let i = 0; i < EVENTS; i += batch) {
      for (let j = 0, w = 0; j < batch; j++, w += 4) {
        cached[w] = i;
        cached[w + 1] = j;
        cached[w + 2] = i;
        cached[w + 3] = j;
      }
      sink ^= handle(batch);
    }
  };
}

for (let i = 0; i < 5000; i++) sink ^= handle(16) ^ id(i); // tier both exports up to TurboFan
const samples = new Map<string, number[]>(Object.keys(cases).map((k) => [k, []]));
for (let r = 0; r < ROUNDS + 2; r++) {
  for (const [name, run] of Object.entries(cases)) {
    const t0 = process.hrtime.bigint();
    run();
    const ns = Number(process.hrtime.bigint() - t0) / EVENTS;
    if (r >= 2) samples.get(name)!.push(ns); // two warm-up rounds for V8's tiers
  }
}
for (const [name, ns] of samples) {
  const median = [...ns].sort((a, b) => a - b)[Math.floor(ns.length / 2)]!;
  console.log(`${name.padEnd(40)} fastest ${Math.min(...ns).toFixed(2)} ns/event, median ${median.toFixed(2)}`);
}
console.log(`(checksum ${sink})`);
