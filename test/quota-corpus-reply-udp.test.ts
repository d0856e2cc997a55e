// A reply flood to a UDP peer (test/hostile/src/attack-reply-flood.ts: 100,000 replies of 1,000
// bytes per request), against a real engine process with `npm start`'s defaults: the control API answers
// within 100 ms at p99, the engine stays under 1 GiB, the attack module is rolled back, every key
// kv 1.0.0 wrote reads back, and the engine is idle afterwards (support/attack-run.ts).
import { test } from 'uvu';
import { replyFlood } from './hostile/attack-cases.js';
import { useKvEngine } from './support/attack-engine.js';
import { runAttack, writeKeys } from './support/attack-run.js';

const kv = useKvEngine(test);

test('a reply flood to a UDP peer: bounded, and the module is rolled back', async () => {
  const keys = await writeKeys(kv.client, 'udp-', 200);
  const received = kv.client.received;
  // Sent from this client, so that it counts the flood.
  const outcome = await runAttack(
    kv.engine,
    'kv',
    replyFlood(() => kv.client.send('ATTACK')),
    keys,
  );
  console.log(`${outcome.module} over UDP: ${kv.client.received - received} datagrams reached the peer`);
});

test.run();
