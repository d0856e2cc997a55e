/**
 * Measure 6: resident memory per component and per 1,000,000 keys.
 *
 *   node --import tsx --expose-gc bench/cases/memory.ts [--quick]
 *
 * In one fresh process: RSS with the engine's code loaded, after starting N kv components
 * (each with its own persistent WebAssembly.Memory and instance, through Engine.start), and
 * after storing 1M keys (`SET k<i> v<i>`, as udp-load does) in one of them. RSS counts only
 * touched pages: the 128 MiB persistent region a memory reserves costs nothing until used.
 */
import { collectGarbage, progress, runCase } from '../lib/case.js';
import { fillKeys, startKvEngine, verifyStore } from '../lib/kv-engine.js';
import { round } from '../peers/stats.js';

const MiB = 1024 * 1024;

function settledRss(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().rss;
}

export async function measureMemory(quick: boolean): Promise<unknown> {
  const components = quick ? 5 : 20;
  const keys = 1_000_000;
  // One component first, so code and caches loaded once are not charged to each component.
  const warm = await startKvEngine([{ name: 'warm' }]);
  await warm.stop();
  const base = settledRss();
  const engine = await startKvEngine(Array.from({ length: components }, (_, i) => ({ name: `kv${i}` })));
  try {
    const withComponents = settledRss();
    const perComponent = (withComponents - base) / components;
    progress('memory', `${components} components: ${round(perComponent / MiB, 2)} MiB RSS each`);
    const c = engine.component('kv0');
    await fillKeys(c, 0, keys);
    await verifyStore(c, keys);
    const withKeys = settledRss();
    const persistent = c.memory.persistentBytesInUse();
    progress('memory', `1M keys: +${round((withKeys - withComponents) / MiB, 1)} MiB RSS, ${round(persistent / MiB, 1)} MiB persistent`);
    return {
      mode: quick ? 'quick' : 'full',
      components,
      rss_base_mib: round(base / MiB, 1),
      rss_per_component_mib: round(perComponent / MiB, 2),
      keys,
      key_shape: 'k<i> → v<i> (2–8 byte keys and values)',
      rss_per_1m_keys_mib: round((withKeys - withComponents) / MiB, 1),
      persistent_bytes_per_key: round(persistent / keys, 1),
      persistent_mib_1m_keys: round(persistent / MiB, 1),
    };
  } finally {
    await engine.stop();
  }
}

runCase(import.meta.url, (o) => measureMemory(o.quick));
