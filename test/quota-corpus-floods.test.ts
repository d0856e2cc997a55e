// Attacks on the host's timers, log and `status` output, against a real engine process with
// `npm start`'s defaults: 100,000 timers at 1 ms set in restart, 20,000 log lines of 64 KiB per
// request, and a `status` of 128 MiB. For each: the control API answers within 100 ms at p99,
// the engine stays under 1 GiB, the attack module is rolled back, every key kv 1.0.0 wrote
// reads back, and the engine is idle afterwards with kv's timers only (support/attack-run.ts).
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

const timerStorm: AttackCase = {
  module: 'attack-timer-storm',
  // The storm in restart is one violation; each request storms again, until probation's limit.
  rollback: 'engine',
  repeat: 150,
  grows: ['quotaHits.timers', 'quotaHits.timerPeriod'],
  trigger: (ctx) => sendAndWait(ctx, () => ctx.client.send('ATTACK')),
};

test('a timer storm in restart: bounded, and the rollback takes the timers away', async () => {
  const keys = await writeKeys(client, 'timer-', KEYS);
  await runAttack(engine, 'kv', timerStorm, keys);
});

const logFlood: AttackCase = {
  module: 'attack-log-flood',
  rollback: 'engine',
  repeat: 150,
  grows: ['quotaHits.logLines', 'quotaHits.logBytes'],
  trigger: async ({ client }) => {
    assert.is(await client.request('ATTACK', (r) => r === 'LOGGED', 10_000), 'LOGGED');
  },
};

test('a log flood of 1.25 GiB per request: suppressed and summarised, the module is rolled back', async () => {
  const keys = await writeKeys(client, 'log-', KEYS);
  await runAttack(engine, 'kv', logFlood, keys);
  assert.match(engine.output(), /suppressed/, 'the engine summarised the lines it did not write');
});

const hugeStatus: AttackCase = {
  module: 'attack-huge-status',
  // Every `show` over the output quota is one violation: asked for often enough, it is rolled back.
  rollback: 'engine',
  repeat: 150,
  grows: ['quotaHits.output'],
  trigger: async ({ engine, component, notes }, round) => {
    const res = await fetch(`http://${engine.control}/v1/components/${component}/show`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    if (round === 0) notes.push(`show answered ${res.status} with ${text.length} characters`);
    assert.ok(text.length <= 1024 * 1024, `hotswap show's text is truncated (${text.length} characters)`);
  },
};

test('a 128 MiB status: truncated, the control API keeps answering', async () => {
  const keys = await writeKeys(client, 'status-', KEYS);
  await runAttack(engine, 'kv', hugeStatus, keys);
  const show = await engine.hotswap('show', 'kv');
  assert.is(show.code, 0, show.stderr);
  assert.match(show.stdout, /Module version = 1\.0\.0/);
});

test.run();
