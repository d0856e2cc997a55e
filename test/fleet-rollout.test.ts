// Fleet rollouts end to end: a real nats-server (JetStream), five real engine processes joined as
// nodes, writers on every node, and the `hotswap rollout` CLI. A rollout that passes reaches
// every node in its stages' order; a candidate that faults on the canary stops there and
// reverts; a tampered or wrongly signed object is refused by every node. No write is lost.
import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConcurrentChange, FleetStore, sha256Hex } from '../host/fleet/fleet-store.js';
import { abortRollout } from '../host/fleet/operations.js';
import { repoRoot } from './support/engine-process.js';
import { type Node, reportsOf, rolloutCli, signingKey, startNodes, Writer } from './support/fleet.js';
import { NatsServer, natsMissing } from './support/nats-server.js';
import { skipBecause } from './support/skip.js';
import { waitFor } from './support/wait-for.js';

const NAMES = ['n1', 'n2', 'n3', 'n4', 'n5'];
const kvFile = (version: string): string => join(repoRoot, 'build', 'modules', 'kv', `${version}.wasm`);
const recurseFile = join(repoRoot, 'build', 'hostile', 'deep-recursion.wasm');

let nats: NatsServer;
let nodes: Node[] = [];
let key: ReturnType<typeof signingKey>;

const versions = async (): Promise<Record<string, string | null>> =>
  Object.fromEntries([...(await reportsOf(nats.url, 'kv')).values()].map((r) => [r.node, r.version]));

async function historyTargets(node: Node): Promise<string[]> {
  const { stdout } = await node.engine.hotswap('history', 'kv', '--json');
  return (JSON.parse(stdout) as { to: string | null }[]).map((h) => h.to ?? '');
}

const missing = natsMissing();
if (missing) {
  skipBecause(test, 'fleet rollouts', missing);
} else {
  test.before(async () => {
    nats = await NatsServer.start();
    key = signingKey();
    nodes = await startNodes(NAMES, [nats.url], key.publicPem);
    await waitFor(async () => Object.keys(await versions()).length === NAMES.length, {
      what: 'five nodes reporting',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
  });
  test.after(async () => {
    await Promise.all(nodes.map((n) => n.engine.stop()));
    await nats?.close();
  });

  test('5 engines, kv 1.0.0 -> 2.0.0, canary 1, steps 50,100, under writes: every node, in stage order, nothing lost', async () => {
    const writers = await Promise.all(nodes.map((n) => Writer.start(n)));
    const t0 = performance.now();
    const r = await rolloutCli(
      nats.url,
      'kv',
      kvFile('2.0.0'),
      '--version',
      '2.0.0',
      '--canary',
      '1',
      '--steps',
      '50,100',
      '--hold',
      '500ms',
      '--sign',
      key.privateFile,
    );
    console.log(`  rollout 1.0.0 -> 2.0.0 on 5 nodes: ${Math.round(performance.now() - t0)} ms`);
    assert.is(r.code, 0, `rollout failed: ${r.stderr}`);
    for (const w of writers) assert.equal(await w.verify(), [], `node ${w.node} lost writes`);
    assert.ok(writers.every((w) => w.acked.length > 0));
    const reports = [...(await reportsOf(nats.url, 'kv')).values()];
    assert.equal(
      reports.map((x) => x.version),
      NAMES.map(() => '2.0.0'),
    );
    // The stages, from the nodes' own reports: 1 canary, then up to 3 of 5 (50%), then all 5.
    const byStage = [0, 1, 2].map((s) => reports.filter((x) => x.stage === s));
    assert.equal(
      byStage.map((s) => s.length),
      [1, 2, 2],
      JSON.stringify(reports),
    );
    const times = byStage.map((s) => s.map((x) => Date.parse(x.swappedAt!)));
    assert.ok(Math.max(...times[0]!) < Math.min(...times[1]!), 'the canary swapped before the 50% step');
    assert.ok(Math.max(...times[1]!) < Math.min(...times[2]!), 'the 50% step swapped before the 100% step');
    const status = await rolloutCli(nats.url, 'status', 'kv');
    assert.is(status.code, 0, status.stderr);
    assert.match(status.stdout, /^kv: rollout \S+ done, stable 2\.0\.0/);
    assert.is(status.stdout.match(/^ {2}n\d +2\.0\.0 +ok/gm)?.length, NAMES.length, status.stdout);
  });

  test('a candidate that faults under traffic on the canary stops there; the canary reverts; no other node ran it', async () => {
    const writers = await Promise.all(nodes.map((n) => Writer.start(n, 'RECURSE')));
    const r = await rolloutCli(
      nats.url,
      'kv',
      recurseFile,
      '--version',
      '6.6.6-recurse',
      '--canary',
      '1',
      '--steps',
      '100',
      '--hold',
      '3s',
      '--sign',
      key.privateFile,
    );
    assert.is(r.code, 3, `expected halted-and-reverted (3): ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /halted at stage canary 1 on node n1/);
    assert.equal(await versions(), Object.fromEntries(NAMES.map((n) => [n, '2.0.0'])));
    for (const w of writers) assert.equal(await w.verify(), [], `node ${w.node} lost writes`);
    assert.ok((await historyTargets(nodes[0]!)).includes('6.6.6-recurse'), 'the canary ran the candidate');
    for (const n of nodes.slice(1)) assert.not.ok((await historyTargets(n)).includes('6.6.6-recurse'), `${n.name} never ran it`);
  });

  test('a tampered object and a wrong signature are refused by every node', async () => {
    const store = await FleetStore.connect({ servers: [nats.url], name: 'fleet test' });
    try {
      const good = readFileSync(kvFile('3.0.0'));
      const bad = Buffer.from(good);
      bad[bad.length - 1]! ^= 1;
      const cases = [
        // The desired state names the real bytes' sha256, but the object holds changed bytes.
        {
          what: 'tampered',
          object: await store.putModule('kv', '3.0.0', bad),
          signature: undefined,
          cause: /sha256 [0-9a-f]{64} does not match/,
        },
        // The right bytes, signed by a key no node trusts.
        {
          what: 'wrong signature',
          object: await store.putModule('kv', '3.0.0-b', good),
          signature: otherSignature(good),
          cause: /signature does not match/,
        },
      ];
      for (const c of cases) {
        // Written as a controller would, with every node a target at once, so each must refuse.
        const current = (await store.readDesired('kv'))!;
        await store.writeDesired(
          {
            ...current.value,
            rolloutId: `tamper-${c.what}`,
            phase: 'step',
            candidate: {
              version: '3.0.0',
              object: c.object.object,
              sha256: sha256Hex(good),
              ...(c.signature ? { signature: c.signature } : {}),
            },
            stage: 0,
            stages: ['100%'],
            targets: NAMES,
            updatedAt: new Date().toISOString(),
          },
          current.revision,
        );
        const refused = await waitFor(
          async () => {
            const reports = [...(await reportsOf(nats.url, 'kv')).values()];
            const mine = reports.filter((x) => x.rolloutId === `tamper-${c.what}` && x.state === 'failed');
            return mine.length === NAMES.length && mine;
          },
          { what: `every node refusing the ${c.what} object`, timeoutMs: 20_000, intervalMs: 200 },
        );
        for (const x of refused) assert.match(x.cause ?? '', c.cause, `${x.node}: ${x.cause}`);
        const aborted = await abortRollout(store, 'kv', 20_000);
        assert.is(aborted.result, 'aborted');
        assert.equal(await versions(), Object.fromEntries(NAMES.map((n) => [n, '2.0.0'])), `${c.what}: every node stays on 2.0.0`);
      }
      for (const n of nodes) assert.not.ok((await historyTargets(n)).includes('3.0.0'), `${n.name} never ran 3.0.0`);
    } finally {
      await store.close();
    }
  });

  test('two controllers start the same rollout at once: one runs it, the other is refused (exit 5); the desired state is written by compare-and-set', async () => {
    const store = await FleetStore.connect({ servers: [nats.url], name: 'fleet test' });
    try {
      // Compare-and-set itself: two writes on the same revision, the second loses.
      const current = (await store.readDesired('kv'))!;
      const stamp = (id: string) => ({ ...current.value, rolloutId: id, updatedAt: new Date().toISOString() });
      await store.writeDesired(stamp('cas-a'), current.revision);
      const lost = await store.writeDesired(stamp('cas-b'), current.revision).then(
        () => null,
        (e: unknown) => e,
      );
      assert.instance(lost, ConcurrentChange, 'the second write on the same revision is refused');
      assert.is((await store.readDesired('kv'))!.value.rolloutId, 'cas-a');
    } finally {
      await store.close();
    }
    const writers = await Promise.all(nodes.map((n) => Writer.start(n)));
    const args = [kvFile('3.0.0'), '--version', '3.0.0', '--canary', '1', '--steps', '100', '--hold', '300ms', '--sign', key.privateFile];
    const [a, b] = await Promise.all([rolloutCli(nats.url, 'kv', ...args), rolloutCli(nats.url, 'kv', ...args)]);
    const codes = [a!.code, b!.code].sort();
    assert.equal(codes, [0, 5], `exit codes ${a!.code} and ${b!.code}:\n${a!.stdout}${a!.stderr}\n---\n${b!.stdout}${b!.stderr}`);
    const loser = a!.code === 5 ? a! : b!;
    // Either it read the winner's state (refused up front) or lost the compare-and-set (preempted).
    assert.match(loser.stderr + loser.stdout, /another controller took over|is at stage/);
    console.log(`  the refused controller: ${(loser.stderr + loser.stdout).trim().split('\n').pop()}`);
    assert.equal(await versions(), Object.fromEntries(NAMES.map((n) => [n, '3.0.0'])), "every node runs the winner's version");
    for (const w of writers) assert.equal(await w.verify(), [], `node ${w.node} lost writes`);
  });
}

/** A valid Ed25519 signature of `bytes`, by a key the nodes do not trust. */
function otherSignature(bytes: Uint8Array): string {
  return sign(null, bytes, createPrivateKey(readFileSync(signingKey().privateFile))).toString('base64');
}

test.run();
