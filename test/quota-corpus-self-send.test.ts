// A million self-sends over the bus within one callback (test/hostile/src/attack-self-send.ts),
// against a real engine process with `npm start`'s defaults: the control API answers
// within 100 ms at p99, the engine stays under 1 GiB, the attack module is rolled back, every key
// kv 1.0.0 wrote reads back, and the engine is idle afterwards (support/attack-run.ts).
import { test } from 'uvu';
import { useKvEngine } from './support/attack-engine.js';
import { runAttack, sendAndWait, writeKeys } from './support/attack-run.js';

const kv = useKvEngine(test);

test('a million self-sends in one callback: refused past the quota, the module is rolled back', async () => {
  const keys = await writeKeys(kv.client, 'self-', 200);
  await runAttack(
    kv.engine,
    'kv',
    {
      module: 'attack-self-send',
      // One violation per request (the sends past the per-callback quota); probation rolls back
      // after more than its limit of violating callbacks, so the attack is repeated past it.
      rollback: 'engine',
      repeat: 150,
      grows: ['quotaHits.sends'],
      // The tally reply is itself a send over the quota, so the request's end is read from status.
      trigger: (ctx) => sendAndWait(ctx, () => ctx.client.send('ATTACK kv')),
    },
    keys,
  );
});

test.run();
