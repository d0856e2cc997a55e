// Probation judges the events that queued during a swap too (docs/SAFETY.md, "Probation"): an
// event that waited behind the upgrade is handled in the swap's drain, before its report is
// done, and a fault there must still roll the new version back. It used to be lost: the
// rollback could not be queued while the swap was in flight, and the verdict had already ended
// probation, so the faulty version kept running. A real embedded engine, a real hostile module.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { engineConfig } from '../bench/lib/kv-engine.js';
import { Engine } from '../host/engine.js';
import { Logger } from '../host/log.js';
import { repoRoot } from './support/engine-process.js';
import { waitFor } from './support/wait-for.js';

test('a fault in the swap drain rolls the new version back', async () => {
  const config = engineConfig([{ name: 'kv' }]);
  config.components[0]!.probation = { windowMs: 60_000, maxFaults: 0 };
  const engine = await Engine.start(config, { logger: new Logger('test', 'error') });
  try {
    const bytes = readFileSync(join(repoRoot, 'build', 'hostile', 'deep-recursion.wasm'));
    const module = await engine.prepare('kv', bytes, '6.6.6-recurse');
    const kv = engine.component('kv');
    const swapped = kv.upgrade(module);
    // Queued behind the upgrade event: it is the first event the new version handles.
    kv.enqueue({ kind: 'message', channel: 0, peer: 'test', payload: Buffer.from('RECURSE') });
    const report = await swapped;
    assert.is(report.result, 'ok', report.cause);
    await waitFor(() => kv.module?.version === '1.0.0', { what: 'the rollback to 1.0.0', timeoutMs: 10_000 });
    const last = kv.status().lastUpgrade;
    assert.is(last?.reason, 'rollback');
    assert.match(last?.automatic ?? '', /probation: 1 faults/);
  } finally {
    await engine.stop();
    rmSync(config.dataDir, { recursive: true, force: true });
  }
});

test.run();
