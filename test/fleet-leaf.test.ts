// The edge topology: a hub nats-server with JetStream and a leaf nats-server (an edge site) that
// reaches the hub's JetStream through its leaf-node connection; engines connect to the leaf only.
// With the hub stopped the leaf's engines keep serving and lose no write; when the hub is back,
// a rollout started at the hub reaches them.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot } from './support/engine-process.js';
import { type Node, reportsOf, rolloutCli, startNodes, Writer } from './support/fleet.js';
import { NatsServer, natsMissing } from './support/nats-server.js';
import { skipBecause } from './support/skip.js';
import { waitFor } from './support/wait-for.js';

const NAMES = ['edge1', 'edge2'];
const kvFile = join(repoRoot, 'build', 'modules', 'kv', '2.0.0.wasm');

let hub: NatsServer;
let leaf: NatsServer;
let nodes: Node[] = [];

const missing = natsMissing();
if (missing) {
  skipBecause(test, 'hub and leaf', missing);
} else {
  test.before(async () => {
    hub = await NatsServer.start({ leafHub: true, domain: 'hub' });
    leaf = await NatsServer.start({ jetstream: false, leafOf: hub.leafPort! });
    nodes = await startNodes(NAMES, [leaf.url], undefined, 'hub');
    await waitFor(async () => (await reportsOf(hub.url, 'kv')).size === NAMES.length, {
      what: 'both leaf nodes reporting through the hub',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
  });
  test.after(async () => {
    await Promise.all(nodes.map((n) => n.engine.stop()));
    await leaf?.close();
    await hub?.close();
  });

  test("the leaf's engines keep serving with the hub down, and converge when it is back", async () => {
    const writers = await Promise.all(nodes.map((n) => Writer.start(n)));
    await hub.stop();
    // Serving on: every writer gets more acknowledged writes while the hub is down.
    const before = writers.map((w) => w.acked.length);
    await waitFor(() => writers.every((w, i) => w.acked.length >= before[i]! + 100), {
      what: '100 more writes on each leaf engine with the hub down',
      timeoutMs: 30_000,
      intervalMs: 50,
    });
    for (const n of nodes) assert.is(n.engine.process.exitCode, null, `${n.name} still runs`);
    await hub.restart();
    const restarted = Date.now();
    await waitFor(
      async () =>
        [...(await reportsOf(hub.url, 'kv').catch(() => new Map())).values()].filter((x) => Date.parse(x.at) > restarted).length === 2,
      {
        what: 'both leaf nodes reporting again through the hub',
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
    const r = await rolloutCli(hub.url, 'kv', kvFile, '--version', '2.0.0', '--canary', '0', '--steps', '100', '--timeout', '60s');
    assert.is(r.code, 0, `rollout failed: ${r.stdout}${r.stderr}`);
    const reports = await reportsOf(hub.url, 'kv');
    assert.equal(
      NAMES.map((n) => reports.get(n)?.version),
      ['2.0.0', '2.0.0'],
    );
    for (const w of writers) assert.equal(await w.verify(), [], `node ${w.node} lost writes`);
  });
}

test.run();
