// A fleet node whose candidate faults at once (docs/FLEET.md): the faulting message can queue
// during the swap itself, so probation rolls the candidate back before the engine's upgrade()
// has resolved. The node's report must still say `failed`, and stay so: reported as being on
// probation, the rollout waited for the canary to pass it until the stage's deadline (120 s)
// instead of reverting at once. A real embedded engine, real UDP pokes every millisecond.
import dgram from 'node:dgram';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { engineConfig } from '../bench/lib/kv-engine.js';
import { Engine } from '../host/engine.js';
import { sha256Hex } from '../host/fleet/fleet-store.js';
import type { DesiredState, ModuleRef } from '../host/fleet/model.js';
import { NodeComponent } from '../host/fleet/node-component.js';
import { Logger } from '../host/log.js';
import { repoRoot } from './support/engine-process.js';
import { waitFor } from './support/wait-for.js';

const ATTEMPTS = 6;

test('a candidate rolled back by probation during its own swap is reported failed, every time', async () => {
  const config = engineConfig([{ name: 'kv', listen: [{ proto: 'udp', host: '127.0.0.1', port: 0 }] }]);
  config.components[0]!.probation = { windowMs: 300, maxFaults: 0 };
  const logger = new Logger('test', 'error');
  const engine = await Engine.start(config, { logger });
  const node = new NodeComponent(engine, 'kv', 'n1', null, logger, () => {});
  engine.onSwap((report) => node.onSwap(report));
  engine.onFault((fault) => node.onFault(fault));
  const bytes = readFileSync(join(repoRoot, 'build', 'hostile', 'deep-recursion.wasm'));
  const candidate: ModuleRef = { version: '6.6.6-recurse', object: 'recurse', sha256: sha256Hex(bytes) };
  const source = { getModule: async () => bytes };
  const socket = dgram.createSocket('udp4');
  const port = engine.addresses('kv')[0]!.port;
  const poke = setInterval(() => socket.send('RECURSE', port, '127.0.0.1'), 1);
  try {
    for (let i = 0; i < ATTEMPTS; i++) {
      const desired: DesiredState = {
        component: 'kv',
        rolloutId: `race-${i}`,
        phase: 'canary',
        stable: { version: '1.0.0' },
        candidate,
        stage: 0,
        stages: ['canary 1'],
        targets: ['n1'],
        updatedAt: new Date().toISOString(),
      };
      await node.reconcile(desired, source);
      // Failed, whether the fault came during the swap or after it; and still failed once
      // probation's window has passed (the report of a racing rollback turned `ok` then).
      await waitFor(() => node.report().state === 'failed', { what: `attempt ${i}: the node reports failed`, timeoutMs: 5000 });
      await waitFor(() => engine.component('kv').module?.version === '1.0.0', { what: `attempt ${i}: back on 1.0.0`, timeoutMs: 5000 });
      const failedAt = performance.now();
      await waitFor(() => performance.now() - failedAt > 2 * 300, { what: 'two probation windows', timeoutMs: 5000 });
      const report = node.report();
      assert.is(report.state, 'failed', `attempt ${i}: ${JSON.stringify(report)}`);
      assert.is(report.version, '1.0.0');
      assert.equal(report.ref, candidate);
    }
  } finally {
    clearInterval(poke);
    socket.close();
    node.close();
    await engine.stop();
    rmSync(config.dataDir, { recursive: true, force: true });
  }
});

test.run();
