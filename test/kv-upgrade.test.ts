// The core promise, end to end through a real engine process: 10,000 keys over UDP and TCP,
// upgrades 1.0.0 → 2.0.0 → 1.0.0 → 2.0.0 by the CLI while clients keep sending, and then every
// request got exactly one reply, in order, every key reads back, and DEL works only on 2.0.0.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TcpLineClient, UdpClient } from './support/clients.js';
import { type RunningEngine, repoRoot, startEngine } from './support/engine-process.js';
import { waitFor } from './support/wait-for.js';

let engine: RunningEngine;

test.before(async () => {
  engine = await startEngine([{ name: 'kv', version: '1.0.0' }]);
});
test.after(async () => {
  await engine?.stop();
});

/** A client that keeps sending SET/GET pairs whose replies identify the request they answer. */
function trafficLoop(send: (lines: string[]) => Promise<string[]>, prefix: string) {
  let stop = false;
  let sent = 0;
  let failure: Error | null = null;
  const mismatches: string[] = [];
  const done = (async () => {
    const deadline = Date.now() + 60_000; // bounded in time and in count
    for (let n = 0; !stop && n < 60_000 && Date.now() < deadline; n++) {
      const key = `${prefix}${n}`;
      const replies = await send([`SET ${key} v${n}`, `GET ${key}`]);
      sent += 2;
      if (replies[0] !== 'OK' || replies[1] !== `VALUE v${n}`) mismatches.push(`${key}: ${JSON.stringify(replies)}`);
      // Paced (at most about one pair per millisecond), so the client keeps sending through all
      // the upgrades, however long the CLI takes, instead of using up its count in seconds.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  })().catch((e: unknown) => {
    failure = e instanceof Error ? e : new Error(String(e));
    throw failure;
  });
  return {
    sent: () => sent,
    /** Throws what stopped the client (a request without reply), so a waiting test fails at once. */
    check: () => {
      if (failure) throw new Error(`${prefix} client stopped after ${sent} requests: ${failure.message}`);
    },
    stop: async () => {
      stop = true;
      await done;
      return { sent, mismatches };
    },
  };
}

test('10,000 keys survive 1.0.0 → 2.0.0 → 1.0.0 → 2.0.0 under traffic, with exactly one in-order reply per request', async () => {
  const { udp, tcp } = engine.ports.get('kv')!;
  const udpClient = new UdpClient(udp!);
  const tcpClient = await TcpLineClient.connect(tcp!);

  // Fill: half the keys over UDP, half over TCP.
  const udpSets = Array.from({ length: 5000 }, (_, i) => `SET key${i} value${i}`);
  const tcpSets = Array.from({ length: 5000 }, (_, i) => `SET key${i + 5000} value${i + 5000}`);
  const [udpReplies, tcpReplies] = await Promise.all([udpClient.pipeline(udpSets, 16), tcpClient.pipeline(tcpSets)]);
  assert.ok(
    udpReplies.every((r) => r === 'OK'),
    'every UDP SET answered OK',
  );
  assert.ok(
    tcpReplies.every((r) => r === 'OK'),
    'every TCP SET answered OK',
  );
  assert.is(await udpClient.request('COUNT'), '10000');

  // DEL is unknown to 1.0.0.
  assert.is(await udpClient.request('DEL key0'), 'ERROR unknown command');

  const udpTraffic = trafficLoop((lines) => udpClient.pipeline(lines, 2), 'u');
  const tcpTraffic = trafficLoop((lines) => tcpClient.pipeline(lines), 't');
  // Both clients got more replies since the last look: the upgrades really happen under traffic.
  const trafficFlows = async (what: string): Promise<void> => {
    const [u0, t0] = [udpTraffic.sent(), tcpTraffic.sent()];
    await waitFor(
      () => {
        udpTraffic.check();
        tcpTraffic.check();
        return udpTraffic.sent() >= u0 + 20 && tcpTraffic.sent() >= t0 + 20;
      },
      { what: `both clients to keep sending ${what}`, timeoutMs: 15_000 },
    );
  };
  const versions = ['2.0.0', '1.0.0', '2.0.0'];
  for (const version of versions) {
    await trafficFlows(`before the upgrade to ${version}`);
    const res = await engine.hotswap('upgrade', 'kv', version);
    assert.is(res.code, 0, `upgrade to ${version} failed: ${res.stderr}`);
    assert.match(res.stdout, new RegExp(`-> ${version.replace(/\./g, '\\.')} ok`));
    assert.match(res.stdout, /pause: \d+ µs/);
    assert.match(res.stdout, /events queued during the swap: \d+/);
    assert.is(await udpClient.request('VERSION'), version);
  }
  await trafficFlows('after the last upgrade');
  const u = await udpTraffic.stop();
  const t = await tcpTraffic.stop();
  assert.equal(u.mismatches, [], 'UDP replies matched their requests, in order');
  assert.equal(t.mismatches, [], 'TCP replies matched their requests, in order');
  assert.ok(u.sent > 100 && t.sent > 100, `clients kept sending during the upgrades (udp ${u.sent}, tcp ${t.sent})`);
  assert.equal(udpClient.unexpected, [], 'no duplicate UDP replies');

  // Every original key reads back, over both transports.
  const gets = Array.from({ length: 10000 }, (_, i) => `GET key${i}`);
  const [viaUdp, viaTcp] = await Promise.all([udpClient.pipeline(gets, 16), tcpClient.pipeline(gets)]);
  const wrong = viaUdp.map((r, i) => (r === `VALUE value${i}` && viaTcp[i] === r ? null : `key${i}: ${r} / ${viaTcp[i]}`)).filter(Boolean);
  assert.equal(wrong.slice(0, 5), [], `${wrong.length} keys did not read back`);
  assert.is(await udpClient.request('COUNT'), String(10000 + u.sent / 2 + t.sent / 2));

  // DEL works on 2.0.0 ...
  assert.is(await tcpClient.request('DEL key0'), 'DELETED');
  assert.is(await tcpClient.request('GET key0'), 'NOT_FOUND');
  assert.is(await tcpClient.request('DEL key0'), 'NOT_FOUND');
  // ... and not after going back to 1.0.0, while the deletion itself persists.
  assert.is((await engine.hotswap('upgrade', 'kv', '1.0.0')).code, 0);
  assert.is(await udpClient.request('DEL key1'), 'ERROR unknown command');
  assert.is(await udpClient.request('GET key1'), 'VALUE value1');
  assert.is(await udpClient.request('GET key0'), 'NOT_FOUND');

  const status = await engine.hotswap('status', 'kv', '--json');
  assert.is(status.code, 0);
  const s = JSON.parse(status.stdout) as { version: string; state: string; faults: number; queueDepth: number };
  assert.is(s.version, '1.0.0');
  assert.is(s.state, 'running');
  assert.is(s.faults, 0);

  udpClient.close();
  tcpClient.close();
});

test('an upgrade to an unknown version fails clearly and leaves the running version serving', async () => {
  const res = await engine.hotswap('upgrade', 'kv', '9.9.9');
  assert.is.not(res.code, 0);
  assert.match(res.stderr, /kv@9\.9\.9 not found/);
  const client = new UdpClient(engine.ports.get('kv')!.udp!);
  assert.is(await client.request('VERSION'), '1.0.0');
  assert.is(await client.request('GET key1'), 'VALUE value1');
  client.close();
});

test('upgrade by path to a .wasm file, and a file that is not Wasm is rejected with the reason', async () => {
  const ok = await engine.hotswap('upgrade', 'kv', join(repoRoot, 'build/modules/kv/2.0.0.wasm'));
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /1\.0\.0 -> 2\.0\.0 ok/);
  const bogus = join(engine.dataDir, 'bogus.wasm');
  writeFileSync(bogus, 'this is not a module');
  const bad = await engine.hotswap('upgrade', 'kv', bogus);
  assert.is.not(bad.code, 0);
  assert.match(bad.stderr, /module kv@\(unversioned\) rejected: not a WebAssembly module/);
  const client = new UdpClient(engine.ports.get('kv')!.udp!);
  assert.is(await client.request('VERSION'), '2.0.0');
  assert.is((await engine.hotswap('upgrade', 'kv', '1.0.0')).code, 0);
  client.close();
});

test('show prints the status text the module itself produces', async () => {
  const res = await engine.hotswap('show', 'kv');
  assert.is(res.code, 0, res.stderr);
  assert.match(res.stdout, /Module version = 1\.0\.0/);
  assert.match(res.stdout, /Keys = \d+/);
});

test.run();
