// Attacks through the bus, against a real engine process with `npm start`'s defaults (probation,
// fuel, memory; ports on 0): bus amplification (every message sent on twice to itself) and a
// self-send loop (a million bus sends in one callback). For each: the control API answers
// within 100 ms at p99, the engine stays under 1 GiB, the attack module is rolled back, every
// key kv 1.0.0 wrote reads back, and the engine is idle afterwards (support/attack-run.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type AttackCase, runAttack, writeKeys } from './support/attack-run.js';
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
  rollback: 'engine',
  repeat: 3,
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
  rollback: 'engine',
  repeat: 6,
  trigger: async ({ client, notes }) => {
    const tally = await client.request('ATTACK kv', (r) => r.startsWith('SENT '), 20_000);
    notes.push(tally);
  },
};

test('a million self-sends in one callback: refused past the quota, the module is rolled back', async () => {
  const keys = await writeKeys(client, 'self-', KEYS);
  await runAttack(engine, 'kv', selfSend, keys);
});

test.run();
