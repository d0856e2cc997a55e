// Fleet rollouts through failures: the NATS server restarted in the middle of a rollout (it
// completes: nodes and controller reconnect and read the state again), and the canary node
// SIGKILLed in the middle of one (it halts, naming the node, and the others stay on the stable
// version). Writers on every live node lose nothing; a node that joins afterwards converges.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot } from './support/engine-process.js';
import { type Node, reportsOf, rolloutCli, startNode, startNodes, Writer } from './support/fleet.js';
import { NatsServer, natsMissing } from './support/nats-server.js';
import { skipBecause } from './support/skip.js';
import { waitFor } from './support/wait-for.js';

const NAMES = ['f1', 'f2', 'f3', 'f4'];
const kvFile = (version: string): string => join(repoRoot, 'build', 'modules', 'kv', `${version}.wasm`);

let nats: NatsServer;
let nodes: Node[] = [];

const reportOf = async (node: string) => (await reportsOf(nats.url, 'kv').catch(() => new Map())).get(node);

const missing = natsMissing();
if (missing) {
  skipBecause(test, 'fleet rollouts through failures', missing);
} else {
  test.before(async () => {
    nats = await NatsServer.start();
    nodes = await startNodes(NAMES, [nats.url]);
    await waitFor(async () => (await reportsOf(nats.url, 'kv')).size === NAMES.length, {
      what: 'four nodes reporting',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
  });
  test.after(async () => {
    await Promise.all(nodes.map((n) => n.engine.stop()));
    await nats?.close();
  });

  test('the NATS server restarted during the canary: the rollout completes, nothing lost', async () => {
    const writers = await Promise.all(nodes.map((n) => Writer.start(n)));
    const rollout = rolloutCli(nats.url, 'kv', kvFile('2.0.0'), '--version', '2.0.0', '--canary', '1', '--steps', '50,100', '--hold', '1s');
    await waitFor(async () => (await reportOf('f1'))?.version === '2.0.0', {
      what: 'the canary on 2.0.0',
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    const t0 = performance.now();
    await nats.stop();
    await nats.restart();
    console.log(`  nats-server restarted in ${Math.round(performance.now() - t0)} ms`);
    const r = await rollout;
    assert.is(r.code, 0, `rollout failed: ${r.stdout}${r.stderr}`);
    const reports = [...(await reportsOf(nats.url, 'kv')).values()];
    assert.equal(
      reports.map((x) => x.version),
      NAMES.map(() => '2.0.0'),
    );
    for (const w of writers) assert.equal(await w.verify(), [], `node ${w.node} lost writes`);
  });

  test('the canary SIGKILLed during its probation: the rollout halts naming it; the others stay; a new node converges', async () => {
    const [canary, ...others] = nodes;
    const writers = await Promise.all(others.map((n) => Writer.start(n)));
    const rollout = rolloutCli(nats.url, 'kv', kvFile('3.0.0'), '--version', '3.0.0', '--canary', '1', '--steps', '100', '--hold', '5s');
    await waitFor(async () => (await reportOf('f1'))?.version === '3.0.0', {
      what: 'the canary on 3.0.0',
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    canary!.engine.process.kill('SIGKILL');
    const r = await rollout;
    assert.is(r.code, 3, `expected halted-and-reverted (3): ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /on node f1: node f1 stopped reporting/);
    for (const w of writers) assert.equal(await w.verify(), [], `node ${w.node} lost writes`);
    const reports = await reportsOf(nats.url, 'kv');
    for (const n of others) assert.is(reports.get(n.name)?.version, '2.0.0', `${n.name} stays on the stable version`);
    // A node that joins now (kv 1.0.0 from its configuration) converges to the stable 2.0.0.
    await canary!.engine.stop();
    nodes[0] = { name: 'f1', engine: await startNode('f1', [nats.url]) };
    await waitFor(async () => (await reportOf('f1'))?.version === '2.0.0', {
      what: 'the new f1 on 2.0.0',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
  });
}

test.run();
