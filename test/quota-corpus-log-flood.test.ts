// A log flood (test/hostile/src/attack-log-flood.ts: 20,000 lines of 64 KiB per request, at warn
// level), against a real engine process with `npm start`'s defaults: the control API answers
// within 100 ms at p99, the engine stays under 1 GiB, the attack module is rolled back, every key
// kv 1.0.0 wrote reads back, and the engine is idle afterwards (support/attack-run.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { useKvEngine } from './support/attack-engine.js';
import { runAttack, writeKeys } from './support/attack-run.js';

const kv = useKvEngine(test);

test('a log flood of 1.25 GiB per request: suppressed and summarised, the module is rolled back', async () => {
  const keys = await writeKeys(kv.client, 'log-', 200);
  await runAttack(
    kv.engine,
    'kv',
    {
      module: 'attack-log-flood',
      rollback: 'engine',
      repeat: 150,
      grows: ['quotaHits.logLines', 'quotaHits.logBytes'],
      trigger: async ({ client }) => {
        assert.is(await client.request('ATTACK', (r) => r === 'LOGGED', 10_000), 'LOGGED');
      },
    },
    keys,
  );
  assert.match(kv.engine.output(), /suppressed/, 'the engine summarised the lines it did not write');
});

test.run();
