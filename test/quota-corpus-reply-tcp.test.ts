// A reply flood to a TCP peer that does not read (test/hostile/src/attack-reply-flood.ts:
// 100,000 replies of 1,000 bytes per request), against a real engine process with `npm start`'s defaults: the control API answers
// within 100 ms at p99, the engine stays under 1 GiB, the attack module is rolled back, every key
// kv 1.0.0 wrote reads back, and the engine is idle afterwards (support/attack-run.ts).
// Once the peer reads again, its replies still come in order.
import net from 'node:net';
import { test } from 'uvu';
import { replyFlood } from './hostile/attack-cases.js';
import { useKvEngine } from './support/attack-engine.js';
import { runAttack, writeKeys } from './support/attack-run.js';
import { waitFor } from './support/wait-for.js';

const kv = useKvEngine(test, { tcp: true });

test('a reply flood to a TCP peer that does not read: bounded, and the module is rolled back', async () => {
  const keys = await writeKeys(kv.client, 'tcp-', 200);
  const peer = net.connect(kv.engine.ports.get('kv')!.tcp!, '127.0.0.1');
  await new Promise<void>((resolve, reject) => peer.once('connect', resolve).once('error', reject));
  let bytes = 0;
  let text = '';
  peer.on('data', (b: Buffer) => {
    bytes += b.byteLength;
    text = (text + b.toString('latin1')).slice(-4096);
  });
  peer.pause(); // a peer that does not read: every reply the engine sends waits in its buffers
  try {
    const outcome = await runAttack(
      kv.engine,
      'kv',
      replyFlood(() => peer.write('ATTACK\n')),
      keys,
    );
    // Now read: the replies come in order, so the answer to VERSION comes after the flood.
    peer.resume();
    peer.write('VERSION\n');
    await waitFor(() => /\n1\.0\.0\n$/.test(text), { what: 'the reply to VERSION after the flood', timeoutMs: 30_000 });
    console.log(`${outcome.module} over TCP: the peer read ${(bytes / 2 ** 20).toFixed(1)} MiB once it read`);
  } finally {
    peer.destroy();
  }
});

test.run();
