// Crash survival through the real engine process: kv under UDP and TCP load is killed with a
// real SIGKILL at 20 random moments. After every restart on the same data directory each key
// whose SET was answered OK reads back with its value, and no reply to a request answered
// before the crash comes again (the clients keep their sockets open through the restart).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UdpClient } from './support/clients.js';
import { CrashSite, OneAtATimeUdp, writeUntilDeadTcp, writeUntilDeadUdp } from './support/crash.js';
import type { RunningEngine } from './support/engine-process.js';

const KILLS = 20;
// A crash checkpoint every 0.5 s (docs/DURABILITY.md): the kills land before, during and after
// checkpoints, and recovery goes through checkpoint + journal tail, with segments truncated behind.
process.env.HOTSWAP_CHECKPOINT_MS = '500';
const site = new CrashSite();
/** The engine running now: stopped after the test whatever happened, so a failure cannot hang the file. */
let engine: RunningEngine | undefined;
test.after(async () => {
  await engine?.stop();
  site.remove();
});

/** Every acknowledged key, read back over UDP; returns the keys that came back wrong. */
async function lost(engine: RunningEngine, acked: Map<string, string>): Promise<string[]> {
  const client = new UdpClient(engine.ports.get('kv')!.udp!);
  try {
    const keys = [...acked.keys()];
    const replies = await client.pipeline(
      keys.map((k) => `GET ${k}`),
      64,
    );
    return keys.filter((k, i) => replies[i] !== `VALUE ${acked.get(k)}`).map((k, i) => `${k}: ${replies[i]}`);
  } finally {
    client.close();
  }
}

test(`kv killed with SIGKILL at ${KILLS} random moments under UDP and TCP load loses no acknowledged SET`, async () => {
  const acked = new Map<string, string>();
  engine = await site.start([{ name: 'kv', version: '1.0.0' }]);
  const started = performance.now();
  for (let round = 0; round < KILLS; round++) {
    const { udp, tcp } = engine!.ports.get('kv')!;
    const clients = [new OneAtATimeUdp(), new OneAtATimeUdp()];
    const writers = [
      ...clients.map((c, i) => writeUntilDeadUdp(c, udp!, `r${round}u${i}_`, acked)),
      writeUntilDeadTcp(tcp!, `r${round}t_`, acked),
    ];
    const moment = 30 + Math.random() * 400;
    await new Promise((resolve) => setTimeout(resolve, moment));
    const before = acked.size;
    await site.kill(engine!);
    await Promise.all(writers);
    // Restart on the same directory; the old clients' sockets stay open meanwhile.
    engine = await site.start([{ name: 'kv', version: '1.0.0' }]);
    // Killed before even the first record was durable (nothing acknowledged), it starts afresh.
    if (acked.size > 0) assert.match(engine.output(), /recovered \d+ events from the journal/);
    const wrong = await lost(engine!, acked);
    assert.equal(
      wrong.slice(0, 5),
      [],
      `round ${round} (killed after ${moment.toFixed(0)} ms): ${wrong.length} of ${acked.size} acknowledged keys lost`,
    );
    for (const c of clients) {
      assert.equal(c.strays, [], `round ${round}: replies repeated after the restart`);
      c.close();
    }
    assert.ok(acked.size > before - 1, 'the load made progress');
    if (process.env.DEBUG_CRASH) console.log(`round ${round}: ${acked.size} acked, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  await engine.stop();
  console.log(`${KILLS} kills, ${acked.size} acknowledged SETs all read back, ${((performance.now() - started) / 1000).toFixed(1)} s`);
});

test.run();
