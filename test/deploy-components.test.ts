// Components created and removed at runtime, against a real ControlPlane: real HTTP and real
// sockets on 127.0.0.1, a real SQLite file and components.json in a temporary data directory,
// restarts over the same directory. Token (401), the capability allow-list (403), an unknown
// capability (400), a taken name (409), a port in use (named, nothing left bound), module bytes
// sent along, removal freeing the ports, and the set coming back after a restart.
import dgram from 'node:dgram';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../host/config.js';
import { ControlPlane } from '../host/control/plane.js';
import { Logger } from '../host/log.js';
import { UdpClient } from './support/clients.js';
import { kvAs, tempDir, writeConfig } from './support/control-plane.js';

let dataDir = '';
let plane: ControlPlane | null = null;
let base = '';
let token = '';

/** (Re)starts the plane over `dataDir`, with kv configured and `deploy` as the allow-list. */
async function start(deploy: Record<string, unknown> = { capabilities: { net: ['hs-lab0'] } }): Promise<void> {
  const file = writeConfig(dataDir, {}, { deploy });
  plane = await ControlPlane.start(loadConfig(file), { logger: new Logger('test', 'error') });
  base = `http://${plane.server.address}`;
  token = readFileSync(join(dataDir, 'control.token'), 'utf8').trim();
}

async function stop(): Promise<void> {
  await plane?.stop();
  plane = null;
}

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of many shapes; each assertion reads its own fields
async function call(method: string, path: string, json?: unknown, auth = true): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = auth ? { authorization: `Bearer ${token}` } : {};
  if (json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
  return { status: res.status, body: await res.json() };
}

const names = async (): Promise<string[]> => (await call('GET', '/v1/components')).body.map((c: { name: string }) => c.name).sort();

/** Binds `port` (udp or tcp) on 127.0.0.1 and lets go at once: proves nobody holds it. */
async function canBind(proto: 'udp' | 'tcp', port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (proto === 'udp') {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    } else {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    }
  });
}

test.before(async () => {
  dataDir = tempDir();
  await start();
});

test.after(async () => {
  await stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('POST /v1/components without the token is 401 and creates nothing', async () => {
  const r = await call('POST', '/v1/components', { name: 'shop', version: '1.0.0', module: 'kv' }, false);
  assert.is(r.status, 401);
  assert.equal(await names(), ['kv']);
});

test('capabilities the allow-list does not grant are 403; an unknown one is 400', async () => {
  const routes = await call('POST', '/v1/components', { name: 'r', module: 'kv', version: '1.0.0', capabilities: { routes: {} } });
  assert.is(routes.status, 403);
  assert.match(routes.body.error, /capabilities\.routes is not allowed/);
  const everywhere = await call('POST', '/v1/components', { name: 'r', module: 'kv', version: '1.0.0', capabilities: { net: {} } });
  assert.is(everywhere.status, 403);
  assert.match(everywhere.body.error, /net on every interface is not allowed .*allows hs-lab0/);
  const other = await call('POST', '/v1/components', {
    name: 'r',
    module: 'kv',
    version: '1.0.0',
    capabilities: { net: { interfaces: ['eth9'] } },
  });
  assert.is(other.status, 403);
  assert.match(other.body.error, /net on eth9 is not allowed/);
  const unknown = await call('POST', '/v1/components', { name: 'r', module: 'kv', version: '1.0.0', capabilities: { disk: true } });
  assert.is(unknown.status, 400);
  assert.match(unknown.body.error, /capabilities.*disk/);
  assert.equal(await names(), ['kv']);
});

test('a component created from a stored version serves UDP at once; its name is then taken (409)', async () => {
  const r = await call('POST', '/v1/components', { name: 'shop', module: 'kv', version: '1.0.0', listen: [{ proto: 'udp', port: 0 }] });
  assert.is(r.status, 201, JSON.stringify(r.body));
  assert.is(r.body.state, 'running');
  const port = r.body.addresses[0].port as number;
  const udp = new UdpClient(port);
  try {
    assert.is(await udp.request('SET a 1'), 'OK');
    assert.is(await udp.request('GET a'), 'VALUE 1');
  } finally {
    udp.close();
  }
  const again = await call('POST', '/v1/components', { name: 'shop', module: 'kv', version: '1.0.0' });
  assert.is(again.status, 409);
  assert.is(again.body.code, 'ComponentExists');
  assert.equal(await names(), ['kv', 'shop']);
});

test('a port in use is named, the component list is unchanged, and the listener opened before it is closed again', async () => {
  const holder = dgram.createSocket('udp4');
  await new Promise<void>((done) => holder.bind(0, '127.0.0.1', done));
  const taken = holder.address().port;
  const free = net.createServer();
  await new Promise<void>((done) => free.listen(0, '127.0.0.1', done));
  const tcpPort = (free.address() as net.AddressInfo).port;
  await new Promise<void>((done) => free.close(() => done()));
  try {
    const r = await call('POST', '/v1/components', {
      name: 'clash',
      module: 'kv',
      version: '1.0.0',
      listen: [
        { proto: 'tcp', port: tcpPort },
        { proto: 'udp', port: taken },
      ],
    });
    assert.is(r.status, 409, JSON.stringify(r.body));
    assert.is(r.body.code, 'PortInUse');
    assert.match(r.body.error, new RegExp(`udp 127\\.0\\.0\\.1:${taken} is already in use`));
    assert.equal(await names(), ['kv', 'shop']);
    assert.ok(await canBind('tcp', tcpPort), 'the tcp listener opened before the failure was closed');
  } finally {
    holder.close();
  }
});

test('module bytes sent along are checked, stored and run; a refused module is 422 and creates nothing', async () => {
  const bytes = kvAs('1.0.7');
  const r = await call('POST', '/v1/components', { name: 'cart', module: 'kv', wasm: bytes.toString('base64') });
  assert.is(r.status, 201, JSON.stringify(r.body));
  assert.is(r.body.version, '1.0.7');
  const bad = await call('POST', '/v1/components', { name: 'junk', version: '1.0.0', wasm: Buffer.from('not wasm').toString('base64') });
  assert.is(bad.status, 422, JSON.stringify(bad.body));
  assert.equal(await names(), ['cart', 'kv', 'shop']);
});

test('a restart brings the components created at runtime back, at the version they ran', async () => {
  const before = (await call('GET', '/v1/components/cart')).body.version;
  await stop();
  assert.ok(existsSync(join(dataDir, 'components.json')));
  await start();
  assert.equal(await names(), ['cart', 'kv', 'shop']);
  assert.is((await call('GET', '/v1/components/cart')).body.version, before);
  assert.is((await call('GET', '/v1/components/shop')).body.state, 'running');
});

test('DELETE stops the component and frees its port; it stays gone after a restart, configured or not', async () => {
  const shop = plane!.engine.addresses('shop')[0]!;
  // A refused upgrade is a history entry: each of the two has one to keep or drop.
  for (const name of ['shop', 'kv']) assert.is((await call('POST', `/v1/components/${name}/upgrade`, { version: '9.9.9' })).status, 404);
  assert.is(plane!.history.list('kv').length, 1);
  const r = await call('DELETE', '/v1/components/shop');
  assert.is(r.status, 200, JSON.stringify(r.body));
  assert.is(r.body.data, 'kept');
  assert.ok(await canBind('udp', shop.port), 'the port is free again');
  assert.ok(existsSync(join(dataDir, 'durable', 'kv')), "kv's journal is kept in the data directory");
  const dropped = (await call('DELETE', '/v1/components/kv?data=drop')).body;
  assert.is(dropped.data, 'dropped');
  assert.is(dropped.journalDropped, true);
  assert.not.ok(existsSync(join(dataDir, 'durable', 'kv')), "kv's journal is deleted with data=drop");
  assert.ok(existsSync(join(dataDir, 'durable', 'shop')), "shop's journal is kept with data=keep");
  assert.is(plane!.history.list('kv').length, 0, 'kv history dropped');
  assert.is(plane!.history.list('shop').length, 1, 'shop history kept');
  assert.is((await call('GET', '/v1/components/kv/history')).status, 404);
  assert.is((await call('DELETE', '/v1/components/nope')).status, 404);
  await stop();
  await start();
  assert.equal(await names(), ['cart']);
});

/** Creates `shop` (kv 1.0.0 on a fresh UDP port) and returns what `GET a` answers there. */
async function recreateShopAndGetA(): Promise<string> {
  const r = await call('POST', '/v1/components', { name: 'shop', module: 'kv', version: '1.0.0', listen: [{ proto: 'udp', port: 0 }] });
  assert.is(r.status, 201, JSON.stringify(r.body));
  const udp = new UdpClient(r.body.addresses[0].port as number);
  try {
    return await udp.request('GET a');
  } finally {
    udp.close();
  }
}

test('a component removed with its data kept recovers its keys when deployed again; after data=drop it starts empty', async () => {
  assert.is(await recreateShopAndGetA(), 'VALUE 1', 'the key shop set before its removal (data=keep)');
  const r = await call('DELETE', '/v1/components/shop?data=drop');
  assert.is(r.body.journalDropped, true);
  assert.is(await recreateShopAndGetA(), 'NOT_FOUND', 'a fresh shop does not have the dropped key');
});

test.run();
