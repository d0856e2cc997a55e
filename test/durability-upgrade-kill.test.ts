// An upgrade in progress when the engine is killed with SIGKILL: before the swap event, right
// after the swap ran (its report logged, its acknowledgement not yet sent) and after the CLI
// was told "ok". After each restart kv runs the version the journal says is current (2.0.0
// whenever the upgrade was acknowledged) and every acknowledged SET reads back.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCheckpoint } from '../host/durability/checkpoint/index.js';
import type { CheckpointState } from '../host/durability/crash-checkpoints.js';
import { readJournal } from '../host/durability/journal/reader.js';
import { RecordKind } from '../host/durability/journal/record.js';
import { UdpClient } from './support/clients.js';
import { CrashSite, OneAtATimeUdp, writeUntilDeadUdp } from './support/crash.js';
import type { RunningEngine } from './support/engine-process.js';

const site = new CrashSite();
test.after(() => site.remove());
const KV = [{ name: 'kv', version: '1.0.0' }];

/**
 * The version recovery must run: that of the last upgrade record in kv's journal, or, when a
 * checkpoint took the journal's upgrade records with it (segments behind a durable checkpoint
 * are deleted), the version the newest checkpoint recorded.
 */
function journalVersion(): string {
  let version: string | null = null;
  for (const r of readJournal(join(site.dataDir, 'durable', 'kv', 'journal')).records)
    if (r.body.kind === RecordKind.upgrade) version = r.body.version;
  if (version !== null) return version;
  const checkpoint = loadCheckpoint(join(site.dataDir, 'durable'), 'kv');
  // Neither: no upgrade was recorded, so the configured version is the current one.
  return (checkpoint?.meta.state as CheckpointState | undefined)?.module?.version ?? KV[0]!.version;
}

type When = 'before the swap' | 'right after the swap' | 'after the acknowledgement';

async function round(engine: RunningEngine, when: When, to: string, acked: Map<string, string>, n: number): Promise<RunningEngine> {
  const udp = engine.ports.get('kv')!.udp!;
  const client = new OneAtATimeUdp();
  const writer = writeUntilDeadUdp(client, udp, `u${n}_`, acked);
  const cli = engine.hotswap('upgrade', 'kv', to);
  if (when === 'before the swap') await site.kill(engine);
  else if (when === 'right after the swap') {
    await engine.waitForOutput(new RegExp(`kv: upgrade [\\d.]+ -> ${to.replace(/\./g, '\\.')}: ok`), 30_000);
    await site.kill(engine);
  }
  const result = await cli;
  if (when === 'after the acknowledgement') {
    assert.is(result.code, 0, result.stderr);
    await site.kill(engine);
  }
  await writer;
  const expected = journalVersion();
  if (result.code === 0) assert.is(expected, to, `${when}: the acknowledged upgrade is in the journal`);
  const next = await site.start(KV);
  const check = new UdpClient(next.ports.get('kv')!.udp!);
  try {
    await checkRound(check, client, when, expected, acked);
  } catch (e) {
    // A failed check must not leave the engine running: it would keep this process alive until
    // the runner's deadline and hide the failure behind a timeout.
    check.close();
    client.close();
    await next.stop();
    throw e;
  }
  console.log(`${when}: CLI exit ${result.code}, restarted on ${expected}, ${acked.size} keys back`);
  return next;
}

async function checkRound(
  check: UdpClient,
  client: OneAtATimeUdp,
  when: When,
  expected: string | null,
  acked: Map<string, string>,
): Promise<void> {
  assert.is(await check.request('VERSION'), expected, `${when}: runs the journal's version`);
  const keys = [...acked.keys()];
  const replies = await check.pipeline(keys.map((k) => `GET ${k}`));
  assert.equal(
    keys.filter((k, i) => replies[i] !== `VALUE ${acked.get(k)}`),
    [],
    `${when}: acknowledged keys lost`,
  );
  assert.equal(client.strays, [], `${when}: no reply repeated`);
  client.close();
  check.close();
}

test('kv killed before, right after and after an acknowledged upgrade comes back on the journal version', async () => {
  const acked = new Map<string, string>();
  let engine = await site.start(KV);
  engine = await round(engine, 'before the swap', '2.0.0', acked, 0);
  engine = await round(engine, 'right after the swap', '2.0.0', acked, 1);
  const now = journalVersion() === '2.0.0' ? '1.0.0' : '2.0.0';
  engine = await round(engine, 'after the acknowledgement', now, acked, 2);
  await engine.stop();
});

test.run();
