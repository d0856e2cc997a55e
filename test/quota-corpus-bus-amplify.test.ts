// Bus amplification (test/hostile/src/attack-bus-amplify.ts: every message sent on twice to
// itself), against a real engine process with `npm start`'s defaults: the control API answers
// within 100 ms at p99, the engine stays under 1 GiB, the attack module is rolled back, every key
// kv 1.0.0 wrote reads back, and the engine is idle afterwards (support/attack-run.ts).
import { test } from 'uvu';
import { busAmplify } from './hostile/attack-cases.js';
import { useKvEngine } from './support/attack-engine.js';
import { runAttack, writeKeys } from './support/attack-run.js';

const kv = useKvEngine(test);

test('bus amplification: the queue stays bounded, and after the rollback the engine is idle', async () => {
  const keys = await writeKeys(kv.client, 'amp-', 200);
  await runAttack(kv.engine, 'kv', busAmplify, keys);
});

test.run();
