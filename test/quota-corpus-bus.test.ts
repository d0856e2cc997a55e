// Attacks through the bus, against a real engine process with `npm start`'s defaults (probation,
// fuel, memory; ports on 0): bus amplification (every message sent on twice to itself) and a
// self-send loop (a million bus sends in one callback). For each: the control API answers
// within 100 ms at p99, the engine stays under 1 GiB, the attack module is rolled back, every
// key kv 1.0.0 wrote reads back, and the engine is idle afterwards (support/attack-run.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type AttackCase, runAttack, sendAndWait, writeKeys } from './support/attack-run.js';
import { UdpLines } from './support/attack-watch.js';
import { type RunningEngine, startEngine } from './support/engine-process.js';

let engine: RunningEngine;
let client: UdpLines;

test.before(async () => {
  engine = await startEngine([{ name: 'kv', version: '1.0.0', tcp: false }]);
  client = new UdpLines(engine.ports.get('kv')!.udp!);
});
test.after(async () => {
  client?.close();
  await engine?.stop();
});

const KEYS = 200;

const busAmplify: AttackCase = {
  module: 'attack-bus-amplify',
  // Each callback sends two messages, under every per-callback quota: the bus refuses what does
  // not fit the full queue (counted as dropped), and nothing here is a quota violation.
  rollback: 'operator',
  grows: ['dropped', 'quotaHits.sends'],
  trigger: async ({ client }) => {
    assert.is(await client.request('ATTACK kv', (r) => r === 'ATTACKING'), 'ATTACKING');
  },
};

test('bus amplification: the queue stays bounded and the module is rolled back', async () => {
  const keys = await writeKeys(client, 'amp-', KEYS);
  await runAttack(engine, 'kv', busAmplify, keys);
});

const selfSend: AttackCase = {
  module: 'attack-self-send',
  // One violation per request (the sends past the per-callback quota); probation rolls back
  // after more than its limit of violating callbacks, so the attack is repeated past it.
  rollback: 'engine',
  repeat: 150,
  grows: ['quotaHits.sends'],
  // The tally reply is itself a send over the quota, so the request's end is read from status.
  trigger: (ctx) => sendAndWait(ctx, () => ctx.client.send('ATTACK kv')),
};

test('a million self-sends in one callback: refused past the quota, the module is rolled back', async () => {
  const keys = await writeKeys(client, 'self-', KEYS);
  await runAttack(engine, 'kv', selfSend, keys);
});

test.run();
