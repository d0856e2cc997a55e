// 200 swaps in a row through the control API while UDP and TCP clients keep sending: every
// request gets exactly one reply, in order, and nothing written is lost.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TcpLineClient, UdpClient } from './support/clients.js';
import { startEngine } from './support/engine-process.js';

test('200 swaps in a row under load lose, duplicate and reorder nothing', async () => {
  const engine = await startEngine([{ name: 'kv', version: '1.0.0' }]);
  try {
    const token = readFileSync(join(engine.dataDir, 'control.token'), 'utf8').trim();
    const { udp, tcp } = engine.ports.get('kv')!;
    const udpClient = new UdpClient(udp!);
    const tcpClient = await TcpLineClient.connect(tcp!);
    let stop = false;
    const problems: string[] = [];
    let requests = 0;
    const load = async (send: (l: string[]) => Promise<string[]>, prefix: string): Promise<void> => {
      const deadline = Date.now() + 60_000;
      for (let n = 0; !stop && n < 50_000 && Date.now() < deadline; n++) {
        const r = await send([`SET ${prefix}${n} ${n}`, `GET ${prefix}${n}`, `GET ${prefix}${n >> 1}`]);
        requests += 3;
        const expect = ['OK', `VALUE ${n}`, `VALUE ${n >> 1}`];
        if (r.join('|') !== expect.join('|')) problems.push(`${prefix}${n}: ${r.join('|')}`);
      }
    };
    const loads = [load((l) => udpClient.pipeline(l, 3), 'u'), load((l) => tcpClient.pipeline(l), 't')];

    const pauses: number[] = [];
    let queued = 0;
    for (let i = 0; i < 200; i++) {
      const version = i % 2 === 0 ? '2.0.0' : '1.0.0';
      const res = await fetch(`http://${engine.control}/v1/components/kv/upgrade`, {
        method: 'POST',
        // Mutating requests need the bearer token the engine generated into its data dir (docs/API.md).
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ version }),
      });
      const report = (await res.json()) as { result: string; to: string; pauseUs: number; queued: number };
      assert.is(res.status, 200, JSON.stringify(report));
      assert.is(report.result, 'ok');
      assert.is(report.to, version);
      pauses.push(report.pauseUs);
      queued += report.queued;
    }
    stop = true;
    await Promise.all(loads);
    assert.equal(problems.slice(0, 5), [], `${problems.length} replies did not match their requests`);
    assert.equal(udpClient.unexpected, []);
    assert.ok(requests > 1000, `load kept running (${requests} requests)`);
    const status = (await (await fetch(`http://${engine.control}/v1/components/kv`)).json()) as {
      handled: { message: number; upgrade: number };
      faults: number;
      upgrades: number;
    };
    assert.is(status.faults, 0);
    assert.is(status.upgrades, 201, 'the initial load plus 200 swaps');
    assert.ok(status.handled.message >= requests, `engine handled ${status.handled.message} of ${requests} messages`);
    pauses.sort((x, y) => x - y);
    console.log(
      `  200 swaps under load: ${requests} requests, ${queued} events queued behind swaps, pause p50 ${pauses[100]} µs, max ${pauses[199]} µs`,
    );
    udpClient.close();
    tcpClient.close();
  } finally {
    await engine.stop();
  }
});

test.run();
