// Unit tests of the `net` capability's interface table and of settings flattening: parsing
// `ip -j addr show`, stable indices as links come, go and come back, and nested settings as the
// module reads them. No namespaces, no root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { flattenSettings } from '../host/capabilities/config.js';
import { InterfaceTable, type LinkState, parseIpAddr } from '../host/capabilities/interfaces.js';

const link = (ifname: string, flags: string[], inet?: [string, number]): Record<string, unknown> => ({
  ifname,
  flags,
  addr_info: inet
    ? [
        { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
        { family: 'inet', local: inet[0], prefixlen: inet[1] },
      ]
    : [],
});

test('parseIpAddr: loopback skipped; up needs UP, LOWER_UP and an IPv4 address', () => {
  const json = JSON.stringify([
    link('lo', ['LOOPBACK', 'UP', 'LOWER_UP'], ['127.0.0.1', 8]),
    link('eth0', ['BROADCAST', 'UP', 'LOWER_UP'], ['10.0.1.2', 24]),
    link('eth1', ['NO-CARRIER', 'BROADCAST', 'UP'], ['10.0.2.1', 24]),
    link('eth2', ['BROADCAST', 'UP', 'LOWER_UP']),
  ]);
  assert.equal(parseIpAddr(json), [
    { name: 'eth0', address: '10.0.1.2', prefixLen: 24, up: true },
    { name: 'eth1', address: '10.0.2.1', prefixLen: 24, up: false },
    { name: 'eth2', address: '', prefixLen: 0, up: false },
  ]);
});

test('InterfaceTable: configured interfaces listed before they exist; indices stable across changes', () => {
  const at = (links: LinkState[]) => links;
  const table = new InterfaceTable(['eth1', 'eth0'], at([{ name: 'stub0', address: '10.9.0.1', prefixLen: 24, up: true }]));
  assert.equal(
    table.all().map((i) => [i.index, i.name, i.rip, i.up, i.active]),
    [
      [0, 'eth0', true, false, false],
      [1, 'eth1', true, false, false],
      [2, 'stub0', false, true, false],
    ],
  );
  assert.equal(table.notUp(), ['eth0 (no IPv4 address)', 'eth1 (no IPv4 address)']);

  const up = table.update([
    { name: 'eth0', address: '10.0.1.2', prefixLen: 24, up: true },
    { name: 'stub0', address: '10.9.0.1', prefixLen: 24, up: true },
    { name: 'new0', address: '10.8.0.1', prefixLen: 16, up: true },
  ]);
  assert.equal(
    up.map((i) => [i.index, i.name, i.active]),
    [
      [0, 'eth0', true],
      [3, 'new0', false],
    ],
    'eth0 came up and new0 was appended; eth1 (still absent) did not change',
  );
  assert.is(table.findBySource('10.0.1.1')?.name, 'eth0');
  assert.is(table.findBySource('10.0.1.2'), undefined, 'our own address');

  const down = table.update([{ name: 'stub0', address: '10.9.0.1', prefixLen: 24, up: true }]);
  assert.equal(
    down.map((i) => [i.index, i.name, i.up, i.address]),
    [
      [0, 'eth0', false, '10.0.1.2'],
      [3, 'new0', false, '10.8.0.1'],
    ],
    'vanished links are down and keep index and last address',
  );
  assert.is(table.findBySource('10.0.1.1'), undefined, 'a down link holds no source');
  assert.equal(table.update([{ name: 'stub0', address: '10.9.0.1', prefixLen: 24, up: true }]), [], 'nothing changed');
  assert.is(table.size, 4);
});

test('flattenSettings: lists joined, objects as dotted keys that list their members', () => {
  assert.equal(
    flattenSettings({
      update: 30,
      filterIn: ['10.99.0.0/16', '10.98.0.0/16'],
      interfaces: { eth1: { send: 'broadcast', neighbors: ['10.0.2.2'] } },
      keyChains: { k: { '1': { secret: 's', sendUntil: 100 } } },
    }),
    {
      update: '30',
      filterIn: '10.99.0.0/16,10.98.0.0/16',
      interfaces: 'eth1',
      'interfaces.eth1': 'send,neighbors',
      'interfaces.eth1.send': 'broadcast',
      'interfaces.eth1.neighbors': '10.0.2.2',
      keyChains: 'k',
      'keyChains.k': '1',
      'keyChains.k.1': 'secret,sendUntil',
      'keyChains.k.1.secret': 's',
      'keyChains.k.1.sendUntil': '100',
    },
  );
});

test.run();
