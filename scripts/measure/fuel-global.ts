/**
 * Measures what a fuel check costs on a tight loop depending on where the fuel counter lives,
 * for docs/MEASUREMENTS.md ("Where the fuel counter lives"): the same loop (an add and an xor
 * per iteration) with no check, with the counter in a module-internal mutable global, in a
 * mutable global imported from the host (a `WebAssembly.Global`), and in a local written back
 * to the internal global at the end (the design of host/modules/fuel.ts). Each check is a decrement
 * and a trap below zero. Rounds alternate between the variants. The fastest round of each is
 * reported (the one least disturbed by other processes on shared cores), the median beside it.
 * Run: `npx tsx scripts/measure/fuel-global.ts`.
 */
import binaryen from 'binaryen';

const ITERATIONS = 20_000_000;
const ROUNDS = 15;

/** The loop body shared by all variants: x = (x + n) ^ 0x5bd1e995, n times (cheap, so the check shows). */
function loop(check: string): string {
  return `
    (loop $l
      (local.set $x (i32.xor (i32.add (local.get $x) (local.get $n)) (i32.const 0x5bd1e995)))
      ${check}
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))`;
}

const globalCheck = `
      (global.set $fuel (i32.sub (global.get $fuel) (i32.const 1)))
      (if (i32.lt_s (global.get $fuel) (i32.const 0)) (then (unreachable)))`;
const localCheck = `
      (local.set $f (i32.sub (local.get $f) (i32.const 1)))
      (if (i32.lt_s (local.get $f) (i32.const 0)) (then (unreachable)))`;

const fn = (body: string, locals = '(local $x i32)'): string => `
  (func (export "run") (param $n i32) (result i32) ${locals}
    ${body}
    (local.get $x))`;

const variants: Record<string, string> = {
  plain: `(module ${fn(loop(''))})`,
  internal: `(module (global $fuel (export "fuel") (mut i32) (i32.const 0)) ${fn(loop(globalCheck))})`,
  imported: `(module (import "env" "fuel" (global $fuel (mut i32))) ${fn(loop(globalCheck))})`,
  local: `(module (global $fuel (export "fuel") (mut i32) (i32.const 0))
    ${fn(`(local.set $f (global.get $fuel)) ${loop(localCheck)} (global.set $fuel (local.get $f))`, '(local $x i32) (local $f i32)')})`,
};

function compile(wat: string): Uint8Array<ArrayBuffer> {
  const m = binaryen.parseText(wat);
  m.setFeatures(binaryen.Features.MutableGlobals);
  if (!m.validate()) throw new Error(`invalid module:\n${wat}`);
  const bytes = new Uint8Array(m.emitBinary());
  m.dispose();
  return bytes;
}

const fuel = new WebAssembly.Global({ value: 'i32', mutable: true }, 0);
const runs = Object.entries(variants).map(([name, wat]) => {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(compile(wat)), { env: { fuel } });
  const run = inst.exports.run as (n: number) => number;
  const internal = inst.exports.fuel as WebAssembly.Global | undefined;
  const refill = (): void => {
    if (internal) internal.value = 2 ** 31 - 1;
    fuel.value = 2 ** 31 - 1;
  };
  refill();
  for (let i = 0; i < 5000; i++) run(1000); // many short calls, so V8 tiers the loop up to TurboFan
  return { name, run, refill, ns: [] as number[] };
});

for (let r = 0; r < ROUNDS + 2; r++) {
  for (const v of runs) {
    v.refill();
    const t0 = process.hrtime.bigint();
    v.run(ITERATIONS);
    const ns = Number(process.hrtime.bigint() - t0) / ITERATIONS;
    if (r >= 2) v.ns.push(ns); // the first two rounds warm up V8's tiers
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percent = (x: number, base: number): string => `${x >= base ? '+' : ''}${((x / base - 1) * 100).toFixed(1)}%`;
const plain = runs[0]!.ns;
for (const v of runs) {
  const [min, med] = [Math.min(...v.ns), median(v.ns)];
  const vs = v.name === 'plain' ? '' : ` (${percent(min, Math.min(...plain))}; median ${percent(med, median(plain))})`;
  console.log(`${v.name.padEnd(9)} fastest ${min.toFixed(3)} ns/iteration, median ${med.toFixed(3)}${vs}`);
}
