// Reply floods, against a real engine process with `npm start`'s defaults: each request gets
// 100,000 replies of 1,000 bytes, to a UDP peer and to a TCP peer that does not read. For each:
// the control API answers within 100 ms at p99, the engine stays under 1 GiB, the attack module
// is rolled back, every key kv 1.0.0 wrote reads back, and the engine is idle afterwards.
import net from 'node:net';
import { test } from 'uvu';
import { type AttackCase, componentStatus, runAttack, writeKeys } from './support/attack-run.js';
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

const udpFlood: AttackCase = {
  module: 'attack-reply-flood',
  rollback: 'engine',
  repeat: 6,
  trigger: async ({ client, notes }) => {
    const received = client.received;
    const seen = client.lines.length;
    client.send('ATTACK');
    // The last reply tells how the host answered; UDP may drop it, so a quiet half second after
    // the flood ends the wait too.
    const tally = await waitFor(
      () =>
        client.lines.slice(seen).find((l) => l.startsWith('FLOODED')) ??
        (client.received > received && performance.now() - client.lastAt > 500 ? 'FLOODED (tally lost)' : null),
      { what: 'the reply flood to end', timeoutMs: 15_000 },
    );
    notes.push(`${tally}, ${client.received - received} datagrams received`);
  },
};

test('a reply flood to a UDP peer: bounded, and the module is rolled back', async () => {
  const keys = await writeKeys(client, 'udp-', KEYS);
  await runAttack(engine, 'kv', udpFlood, keys);
});

test('a reply flood to a TCP peer that does not read: bounded, and the module is rolled back', async () => {
  const keys = await writeKeys(client, 'tcp-', KEYS);
  const peer = net.connect(engine.ports.get('kv')!.tcp!, '127.0.0.1');
  await new Promise<void>((resolve, reject) => peer.once('connect', resolve).once('error', reject));
  peer.pause(); // a peer that does not read: every reply the engine sends waits in its buffers
  let bytes = 0;
  let text = '';
  peer.on('data', (b: Buffer) => {
    bytes += b.byteLength;
    text = (text + b.toString('latin1')).slice(-4096);
  });
  const tcpFlood: AttackCase = {
    module: 'attack-reply-flood',
    rollback: 'engine',
    repeat: 6,
    trigger: async ({ engine, component }) => {
      const handled = (s: Record<string, unknown>): number =>
        ((s.handled as { message: number }).message ?? 0) + ((s.faults as number | undefined) ?? 0);
      const before = handled(await componentStatus(engine, component));
      peer.write('ATTACK\n');
      await waitFor(async () => handled(await componentStatus(engine, component)) > before, {
        what: 'the engine to handle the TCP request',
        timeoutMs: 15_000,
        intervalMs: 50,
      });
    },
  };
  try {
    const outcome = await runAttack(engine, 'kv', tcpFlood, keys);
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
