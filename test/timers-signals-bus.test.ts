// Host-owned event sources across swaps, through a real engine process: timers keep their
// due time, a real `kill -USR1` reaches on_signal, and two components talk by name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UdpClient } from './support/clients.js';
import { type RunningEngine, startEngine } from './support/engine-process.js';
import { waitFor } from './support/wait-for.js';

let engine: RunningEngine;
let a: UdpClient;
let b: UdpClient;

test.before(async () => {
  engine = await startEngine([
    { name: 'alpha', module: 'beacon', version: '1.0.0', tcp: false, signals: ['SIGUSR1', 'SIGHUP'] },
    { name: 'bravo', module: 'beacon', version: '1.0.0', tcp: false, signals: ['SIGUSR2'] },
  ]);
  a = new UdpClient(engine.ports.get('alpha')!.udp!);
  b = new UdpClient(engine.ports.get('bravo')!.udp!);
});
test.after(async () => {
  a?.close();
  b?.close();
  await engine?.stop();
});

test('a timer due in 16 s before an upgrade is due in about 16 s minus the elapsed time after it', async () => {
  const ticksBefore = Number(await a.request('TICKS'));
  // The module reports the host timer's dueIn (ms, truncated). Between the two readings at most
  // `elapsed` passed (measured around both requests), so if the timer carried on across the
  // swap, `after` lies in [before - elapsed - 1, before]; a timer restarted by the new version
  // would be due later than before, one lost or shortened would be due sooner than that window.
  const t0 = performance.now();
  const before = Number(await a.request('DUE'));
  assert.ok(before > 10_000 && before <= 16_000, `long timer due in ${before} ms`);
  const res = await engine.hotswap('upgrade', 'alpha', '1.1.0');
  assert.is(res.code, 0, res.stderr);
  assert.is(await a.request('VERSION'), '1.1.0');
  const after = Number(await a.request('DUE'));
  const elapsed = performance.now() - t0;
  assert.ok(
    after <= before && after >= before - elapsed - 1,
    `due ${before} ms before, ${after} ms after, at most ${elapsed.toFixed(0)} ms elapsed`,
  );
  // The repeating 100 ms timer kept firing across the swap and its count lives on.
  await waitFor(async () => Number(await a.request('TICKS')) >= ticksBefore + 3, { what: `TICKS to pass ${ticksBefore + 2}` });
  const show = await engine.hotswap('show', 'alpha');
  assert.match(show.stdout, /Module version = 1\.1\.0/);
  // The same timer through the status text (whole seconds); it was at most 16 s and is not yet due.
  const shown = /Long timer next due in (\d+) seconds/.exec(show.stdout);
  assert.ok(shown && Number(shown[1]) <= Math.floor(after / 1000), `status shows the carried-on timer: ${show.stdout}`);
});

test('a real kill -USR1 reaches on_signal of the subscribed component only, across a swap', async () => {
  process.kill(engine.process.pid!, 'SIGUSR1');
  await engine.waitForOutput(/\[alpha\] signal 10 handled by 1\.1\.0/);
  assert.is(await a.request('SIGNALS'), 'hup=0 usr1=1 usr2=0');
  assert.is(await b.request('SIGNALS'), 'hup=0 usr1=0 usr2=0', 'bravo did not subscribe to SIGUSR1');

  assert.is((await engine.hotswap('upgrade', 'alpha', '1.0.0')).code, 0);
  process.kill(engine.process.pid!, 'SIGHUP'); // would end a Node process without a handler
  process.kill(engine.process.pid!, 'SIGUSR2');
  await engine.waitForOutput(/\[alpha\] signal 1 handled by 1\.0\.0/);
  await engine.waitForOutput(/\[bravo\] signal 12 handled by 1\.0\.0/);
  assert.is(await a.request('SIGNALS'), 'hup=1 usr1=1 usr2=0');
  assert.is(await b.request('SIGNALS'), 'hup=0 usr1=0 usr2=1');
  assert.is(engine.process.exitCode, null, 'the engine is still running');
});

test('two components exchange messages by name, before and after a swap of either', async () => {
  assert.is(await a.request('PING bravo'), 'SENT');
  await waitFor(async () => (await a.request('PONGS')) === '1', { what: 'alpha to count the pong of its first ping' });
  assert.is(await b.request('PINGS'), '1');

  assert.is((await engine.hotswap('upgrade', 'bravo', '1.1.0')).code, 0);
  assert.is(await a.request('PING bravo'), 'SENT');
  assert.is(await b.request('PING alpha'), 'SENT');
  await waitFor(async () => (await a.request('PONGS')) === '2' && (await b.request('PONGS')) === '1', {
    what: 'both pongs to arrive',
  });
  assert.is(await b.request('PINGS'), '2');
  assert.is(await a.request('PINGS'), '1');
  assert.is(await b.request('PONGS'), '1');
  // An unknown name is an error the module sees, not a crash.
  assert.match(await a.request('PING nobody'), /^ERROR -2$/);
});

test.run();
