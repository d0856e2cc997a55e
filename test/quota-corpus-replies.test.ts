// Reply floods, against a real engine process with `npm start`'s defaults: each request gets
// 100,000 replies of 1,000 bytes, to a UDP peer and to a TCP peer that does not read. For each:
// the control API answers within 100 ms at p99, the engine stays under 1 GiB, the attack module
// is rolled back, every key kv 1.0.0 wrote reads back, and the engine is idle afterwards.
import net from 'node:net';
import { test } from 'uvu';
import { type AttackCase, runAttack, sendAndWait, writeKeys } from './support/attack-run.js';
import { UdpLines } from './support/attack-watch.js';
import { type RunningEngine, startEngine } from './support/engine-process.js';
import { waitFor } from './support/wait-for.js';

let engine: RunningEngine;
let client: UdpLines;

test.before(async () => {
  engine = await startEngine([{ name: 'kv', version: '1.0.0' }]);
  client = new UdpLines(engine.ports.get('kv')!.udp!);
});
test.after(async () => {
  client?.close();
  await engine?.stop();
});

const KEYS = 200;

/** One violation per request (replies past the per-callback quota), repeated past probation's limit. */
const flood = (send: () => void): AttackCase => ({
  module: 'attack-reply-flood',
  rollback: 'engine',
  repeat: 150,
  grows: ['quotaHits.sends', 'quotaHits.sendBytes'],
  // The tally reply is over the quota too, so the request's end is read from status.
  trigger: (ctx) => sendAndWait(ctx, send),
});

test('a reply flood to a UDP peer: bounded, and the module is rolled back', async () => {
  const keys = await writeKeys(client, 'udp-', KEYS);
  const received = client.received;
  const outcome = await runAttack(
    engine,
    'kv',
    flood(() => client.send('ATTACK')), // from this client, so that it counts the flood
    keys,
  );
  console.log(`${outcome.module} over UDP: ${client.received - received} datagrams reached the peer`);
});

test('a reply flood to a TCP peer that does not read: bounded, and the module is rolled back', async () => {
  const keys = await writeKeys(client, 'tcp-', KEYS);
  const peer = net.connect(engine.ports.get('kv')!.tcp!, '127.0.0.1');
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
      engine,
      'kv',
      flood(() => peer.write('ATTACK\n')),
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
