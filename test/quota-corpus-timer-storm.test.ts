// A timer storm (test/hostile/src/attack-timer-storm.ts: 100,000 timers repeating every 1 ms,
// set in restart and again on each request), against a real engine process with `npm start`'s defaults: the control API answers
// within 100 ms at p99, the engine stays under 1 GiB, the attack module is rolled back, every key
// kv 1.0.0 wrote reads back, and the engine is idle afterwards (support/attack-run.ts).
// Idle includes the timer table: back to kv's own timers (none).
import { test } from 'uvu';
import { useKvEngine } from './support/attack-engine.js';
import { runAttack, sendAndWait, writeKeys } from './support/attack-run.js';

const kv = useKvEngine(test);

test('a timer storm in restart: bounded, and the rollback takes the timers away', async () => {
  const keys = await writeKeys(kv.client, 'timer-', 200);
  await runAttack(
    kv.engine,
    'kv',
    {
      module: 'attack-timer-storm',
      // The storm in restart is one violation; each request storms again, until probation's limit.
      rollback: 'engine',
      repeat: 150,
      grows: ['quotaHits.timers', 'quotaHits.timerPeriod'],
      trigger: (ctx) => sendAndWait(ctx, () => ctx.client.send('ATTACK')),
    },
    keys,
  );
});

test.run();
