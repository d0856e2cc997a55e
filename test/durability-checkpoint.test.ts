// Checkpoints in the real engine: a journaled kv checkpoints as records come in and its
// journal is cut behind them; after a SIGKILL it comes back from the checkpoint plus the records
// after it, on the version it ran, with every acknowledged key; and again after a second kill
// right after that restart.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UdpClient } from './support/clients.js';
import { CrashSite } from './support/crash.js';
import type { RunningEngine } from './support/engine-process.js';
import { waitFor } from './support/wait-for.js';

// A crash checkpoint every 0.3 s (docs/DURABILITY.md) once records came in.
process.env.HOTSWAP_CHECKPOINT_MS = '300';
const site = new CrashSite();
let engine: RunningEngine | null = null;
// A failed check must not leave the engine running: the file would hang until its deadline.
test.after(async () => {
  await engine?.stop();
  site.remove();
});
const kv = { name: 'kv', version: '1.0.0' };
const durable = join(site.dataDir, 'durable', 'kv');
const files = (dir: string): string[] => {
  try {
    return readdirSync(join(durable, dir)).sort();
  } catch {
    return [];
  }
};

async function setKeys(engine: RunningEngine, from: number, to: number): Promise<void> {
  const client = new UdpClient(engine.ports.get('kv')!.udp!);
  try {
    const lines = Array.from({ length: to - from }, (_, i) => `SET key${from + i} value${from + i}`);
    const replies = await client.pipeline(lines, 16);
    assert.ok(
      replies.every((r) => r === 'OK'),
      'every SET answered OK',
    );
  } finally {
    client.close();
  }
}

async function wrongKeys(engine: RunningEngine, n: number): Promise<string[]> {
  const client = new UdpClient(engine.ports.get('kv')!.udp!);
  try {
    const replies = await client.pipeline(
      Array.from({ length: n }, (_, i) => `GET key${i}`),
      32,
    );
    return replies.flatMap((r, i) => (r === `VALUE value${i}` ? [] : [`key${i}: ${r}`]));
  } finally {
    client.close();
  }
}

test('kv checkpoints as it runs, cuts its journal, and comes back from the checkpoint after SIGKILL', async () => {
  engine = await site.start([kv]);
  await setKeys(engine, 0, 1_500);
  // A checkpoint committed, and the journal segments behind it removed (also when the component
  // is idle by then: the checkpoint starts a new segment itself).
  await waitFor(() => files('checkpoint').some((f) => f.endsWith('.ckpt')) && Number(files('journal')[0]?.slice(0, 20)) > 1, {
    what: 'a checkpoint file and the first journal segment removed',
    timeoutMs: 20_000,
  });
  const upgraded = await engine.hotswap('upgrade', 'kv', '2.0.0');
  assert.is(upgraded.code, 0, upgraded.stdout + upgraded.stderr);
  await setKeys(engine, 1_500, 2_500);
  await site.kill(engine);

  engine = await site.start([kv]);
  await engine.waitForOutput(/checkpoint at record \d+ restored/);
  assert.equal((await wrongKeys(engine, 2_500)).slice(0, 5), [], 'every acknowledged key is back');
  const client = new UdpClient(engine.ports.get('kv')!.udp!);
  assert.is(await client.request('VERSION'), '2.0.0', 'the version it ran');
  assert.is(await client.request('DEL key0'), 'DELETED', "2.0.0's DEL works over the restored data");
  client.close();

  // Killed again at once: the chain written before, and the journal after it, still hold everything.
  await site.kill(engine);
  engine = await site.start([kv]);
  await engine.waitForOutput(/recovered \d+ events from the journal/);
  const wrong = await wrongKeys(engine, 2_500);
  assert.equal(wrong, ['key0: NOT_FOUND'], 'everything but the deleted key');
});

test.run();
