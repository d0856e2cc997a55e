/**
 * Measure 5, the costs of safety besides fuel (fuel is measured with dispatch, where
 * the same workload runs metered and unmetered):
 *  - the rollback snapshot: PersistentMemory.snapshot() and restore() with 1 MB and 100 MB of
 *    persistent data in use, against a bare memcpy of the same bytes into a buffer allocated
 *    once (what the copy costs without a fresh allocation and its page faults);
 *  - what preparing a module costs before a swap (binaryen inspection, fuel metering, compile,
 *    all of ModuleFactory.prepare): this runs on the engine's event loop during engine.upgrade().
 *
 *   node --import tsx --expose-gc bench/cases/safety.ts [--quick]
 */
import { HEADER_OFFSET, HeaderField } from '../../host/abi/abi.js';
import { PersistentMemory } from '../../host/abi/memory.js';
import { ModuleFactory } from '../../host/component/module-factory.js';
import { policyOf } from '../../host/engine.js';
import { DEFAULT_FUEL, meterFuel } from '../../host/modules/fuel.js';
import { inspectModule } from '../../host/modules/inspect.js';
import { BundledModules } from '../../host/repository/bundled.js';
import { collectGarbage, progress, runCase } from '../lib/case.js';
import { engineConfig } from '../lib/kv-engine.js';
import { summarize } from '../peers/stats.js';

const factory = new ModuleFactory(); // prepares modules outside an engine

const MB = 1024 * 1024;

function time(reps: number, fn: () => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    out.push((performance.now() - t0) * 1000);
  }
  return out;
}

const brief = (xs: number[]) => {
  const s = summarize(xs, 0);
  return { count: s.count, p50: s.p50, p99: s.p99 };
};

function snapshotCost(bytesInUse: number, reps: number) {
  const memory = new PersistentMemory({ maxBytes: 512 * MB });
  // Persistent data in use = the allocator's high-water mark in the header (heapTop).
  new Uint32Array(memory.memory.buffer)[(HEADER_OFFSET + HeaderField.heapTop) >>> 2] = bytesInUse;
  // Touch every byte so the pages are resident, as they are in a store that holds this much.
  const view = new Uint8Array(memory.memory.buffer, 0, bytesInUse);
  for (let i = 0; i < bytesInUse; i += 4096) view[i] = i & 0xff;
  if (memory.persistentBytesInUse() !== bytesInUse) throw new Error('heapTop did not set the bytes in use');
  collectGarbage();
  const snaps: number[] = [];
  const restores: number[] = [];
  for (let i = 0; i < reps; i++) {
    let t0 = performance.now();
    const snap = memory.snapshot();
    snaps.push((performance.now() - t0) * 1000);
    t0 = performance.now();
    memory.restore(snap);
    restores.push((performance.now() - t0) * 1000);
    if (snap.bytes.length !== bytesInUse) throw new Error('snapshot size mismatch');
  }
  const reused = Buffer.allocUnsafeSlow(bytesInUse);
  const copies = time(reps, () => void reused.set(view));
  return { bytes: bytesInUse, snapshot_us: brief(snaps), restore_us: brief(restores), memcpy_into_reused_buffer_us: brief(copies) };
}

export async function measureSafety(quick: boolean): Promise<unknown> {
  const snapshots = [snapshotCost(1 * MB, quick ? 50 : 500), snapshotCost(100 * MB, quick ? 5 : 30)];
  for (const s of snapshots)
    progress(
      'safety',
      `snapshot ${s.bytes / MB} MB: ${s.snapshot_us.p50} µs, restore ${s.restore_us.p50} µs, memcpy ${s.memcpy_into_reused_buffer_us.p50} µs`,
    );
  collectGarbage();

  const stored = await new BundledModules().get('kv', '2.0.0');
  const policy = policyOf(engineConfig([{ name: 'kv' }]).components[0]!);
  const reps = quick ? 5 : 20;
  const inspect = time(reps, () => void inspectModule(stored.bytes));
  const meter = time(reps, () => void meterFuel(stored.bytes, DEFAULT_FUEL));
  const metered = meterFuel(stored.bytes, DEFAULT_FUEL);
  const compile: number[] = [];
  const prepare: number[] = [];
  const prepareUnmetered: number[] = [];
  for (let i = 0; i < reps; i++) {
    // New bytes each time (a trailing custom section), so V8's cache by bytes can't help.
    const unique = withCustomSection(metered, i);
    let t0 = performance.now();
    await WebAssembly.compile(new Uint8Array(unique));
    compile.push((performance.now() - t0) * 1000);
    t0 = performance.now();
    await factory.prepare(withCustomSection(stored.bytes, i), { name: 'kv', version: '2.0.0' }, policy);
    prepare.push((performance.now() - t0) * 1000);
    t0 = performance.now();
    await factory.prepare(withCustomSection(stored.bytes, 1000 + i), { name: 'kv', version: '2.0.0' }, { ...policy, fuel: null });
    prepareUnmetered.push((performance.now() - t0) * 1000);
  }
  return {
    mode: quick ? 'quick' : 'full',
    snapshot: snapshots,
    prepare: {
      module_bytes: stored.bytes.byteLength,
      metered_bytes: metered.byteLength,
      inspect_us: brief(inspect),
      fuel_metering_us: brief(meter),
      compile_us: brief(compile),
      prepare_module_us: brief(prepare),
      prepare_module_unmetered_us: brief(prepareUnmetered),
    },
  };
}

/** The module with a custom section appended: same code, different bytes. */
function withCustomSection(bytes: Uint8Array, n: number): Uint8Array<ArrayBuffer> {
  const name = Buffer.from(`bench${n}`);
  const payload = Buffer.concat([Buffer.from([name.length]), name]);
  return new Uint8Array(Buffer.concat([bytes, Buffer.from([0, payload.length]), payload]));
}

runCase(import.meta.url, (o) => measureSafety(o.quick));
