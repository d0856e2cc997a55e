// Timers survive a crash with their due times: beacon sets a one-shot timer due 16 s after its
// INIT. The engine is killed with SIGKILL 5 s after that and started again 2 s later; the timer
// then fires about 9 s after the restart (16 s after INIT), not 16 s after it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UdpClient } from './support/clients.js';
import { CrashSite } from './support/crash.js';
import { waitFor } from './support/wait-for.js';

const site = new CrashSite();
// A crash checkpoint every 0.5 s: the timer table comes back from a checkpoint, then the journal after it.
process.env.HOTSWAP_CHECKPOINT_MS = '500';
test.after(() => site.remove());
const BEACON = [{ name: 'beacon', version: '1.0.0', tcp: false }];

test('a timer due in 16 s, engine killed after 5 s and restarted 2 s later, fires about 9 s after the restart', async () => {
  const before = performance.now();
  let engine = await site.start(BEACON);
  const ready = performance.now();
  // INIT ran between `before` and `ready`; the 16 s are counted from it.
  let client = new UdpClient(engine.ports.get('beacon')!.udp!);
  const due = Number(await client.request('DUE'));
  assert.ok(due > 14_000 && due <= 16_000, `due in ${due} ms after the start`);
  client.close();
  await new Promise((resolve) => setTimeout(resolve, 5000 - (performance.now() - ready))); // the scenario: 5 s, then kill -9
  await site.kill(engine);
  await new Promise((resolve) => setTimeout(resolve, 2000)); // the scenario: down for 2 s
  const restarted = performance.now();
  engine = await site.start(BEACON);
  const back = performance.now();
  client = new UdpClient(engine.ports.get('beacon')!.udp!);
  // Until it fires, the timer counts down from what was left at the crash, never from a fresh
  // 16 s; once it fired, DUE answers -1 (it is no longer set).
  const first = Number(await client.request('DUE'));
  // -1: it fired already, which only a restart slower than the timer allows (a loaded machine).
  const left = 16_000 - (back - ready);
  assert.ok(
    first === -1 ? back - before >= 16_000 - 100 : first <= left,
    `due in ${first} ms, ${((back - ready) / 1000).toFixed(1)} s after the first start`,
  );
  await waitFor(async () => (await client.request('DUE')) === '-1', { what: 'the 16 s timer to fire', timeoutMs: 14_000, intervalMs: 50 });
  const firedAfterInit = performance.now() - before;
  console.log(
    `restart took ${((back - restarted) / 1000).toFixed(1)} s; fired ${((performance.now() - restarted) / 1000).toFixed(2)} s after ` +
      `the restart, ${(firedAfterInit / 1000).toFixed(2)} s after the first start`,
  );
  // 16 s after INIT (INIT lies within [before, ready]), or at once if the engine came back
  // later than that (a loaded machine); the poll adds up to 50 ms plus a reply.
  assert.ok(firedAfterInit >= 16_000 - 100, `fired too early: ${firedAfterInit.toFixed(0)} ms after the first start`);
  const latest = Math.max(16_000 + (ready - before), back - before);
  assert.ok(
    firedAfterInit <= latest + 1000,
    `fired too late: ${firedAfterInit.toFixed(0)} ms after the first start (due by ${latest.toFixed(0)})`,
  );
  // The repeating 100 ms timer carries on too.
  const ticks = Number(await client.request('TICKS'));
  await waitFor(async () => Number(await client.request('TICKS')) >= ticks + 3, { what: 'ticks to carry on' });
  client.close();
  await engine.stop();
});

test.run();
