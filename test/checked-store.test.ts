// The data directory's store of checked modules (host/modules/checked-store.ts): an engine
// started again on the same data directory takes a module's checked bytes from there instead of
// the binaryen worker; a damaged entry is dropped and the module checked afresh.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MEMORY_BASE } from '../host/abi/abi.js';
import { CheckedModuleStore } from '../host/modules/checked-store.js';
import { preparationKey } from '../host/modules/claimed.js';
import { ModulePreparer } from '../host/modules/preparer.js';
import { UdpClient } from './support/clients.js';
import { tempDir } from './support/control-plane.js';
import { CrashSite } from './support/crash.js';
import { repoRoot } from './support/engine-process.js';

const kvBytes = (): Uint8Array<ArrayBuffer> => new Uint8Array(readFileSync(join(repoRoot, 'build/modules/kv/1.0.0.wasm')));
const policy = {
  memoryBase: MEMORY_BASE,
  maxPages: MEMORY_BASE / 65536 + 256,
  maxModuleBytes: 1 << 20,
  allowWasi: false,
  trackDirtyPages: true,
};
const claimed = { name: 'kv', version: '1.0.0' };

test('a stored entry reads back as the worker made it; damaged, torn or for other bytes, it reads as absent', async () => {
  const dir = tempDir();
  const preparer = new ModulePreparer();
  try {
    const checked = await preparer.check(kvBytes(), claimed, policy);
    const key = preparationKey(kvBytes(), claimed, policy);
    const store = new CheckedModuleStore(dir);
    assert.is(store.read(key), null, 'nothing stored yet');
    assert.ok(store.write(key, checked));
    const again = new CheckedModuleStore(dir).read(key);
    assert.ok(again, 'a second store on the directory (a restarted engine) finds it');
    assert.equal(again.runnable, checked.runnable);
    assert.equal([...again.info.exports.keys()], [...checked.info.exports.keys()]);
    assert.is(again.stored, true);
    assert.is(
      store.read(preparationKey(kvBytes(), claimed, { ...policy, maxPages: policy.maxPages + 1 })),
      null,
      'another policy is another entry',
    );

    const [file] = readdirSync(dir);
    const path = join(dir, file!);
    const good = readFileSync(path);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 100]! ^= 0x01;
    writeFileSync(path, flipped);
    assert.is(store.read(key), null, 'a flipped bit fails the checksum');
    assert.equal(readdirSync(dir), [], 'and the entry is removed');
    writeFileSync(path, good.subarray(0, good.length >> 1));
    assert.is(store.read(key), null, 'a torn entry reads as absent');
    assert.equal(readdirSync(dir), []);
  } finally {
    await preparer.close();
  }
});

test('an engine started again on its data directory skips the worker; a damaged entry is checked afresh', async () => {
  const site = new CrashSite();
  // A memory limit no shipped configuration uses: the build's seeds do not have this policy.
  const kv = { name: 'kv', version: '1.0.0', tcp: false, limits: { memoryBytes: 320 << 20 } };
  const loadedLine = (output: string): string => output.split('\n').find((l) => l.includes('loaded kv@1.0.0 in')) ?? '(none)';
  try {
    const first = await site.start([kv]);
    assert.not.match(loadedLine(first.output()), /checked bytes kept/, 'the first start checks kv in the worker');
    await site.kill(first);
    const kept = readdirSync(join(site.dataDir, 'prepared'));
    assert.is(kept.length, 1, `one checked module kept: ${kept}`);

    const second = await site.start([kv]);
    assert.match(loadedLine(second.output()), /checked bytes kept from before/);
    const port = second.ports.get('kv')!.udp!;
    assert.is(await udpRequest(port, 'SET k v'), 'OK', 'the module from the store serves');
    await site.kill(second);

    const path = join(site.dataDir, 'prepared', kept[0]!);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(path, bytes);
    const third = await site.start([kv]);
    assert.not.match(loadedLine(third.output()), /checked bytes kept/, 'the damaged entry was not used');
    assert.is(await udpRequest(third.ports.get('kv')!.udp!, 'GET k'), 'VALUE v');
    await third.stop();
    assert.equal(readFileSync(path).length, bytes.length, 'the entry was written again');
    assert.ok(!readFileSync(path).equals(bytes), 'and is no longer the damaged one');
  } finally {
    site.remove();
  }
});

test("a fresh engine takes the bundled kv's checked bytes from the build's seeds and writes none of its own", async () => {
  const site = new CrashSite();
  try {
    const engine = await site.start([{ name: 'kv', version: '1.0.0', tcp: false }]);
    const line =
      engine
        .output()
        .split('\n')
        .find((l) => l.includes('loaded kv@1.0.0 in')) ?? '(none)';
    assert.match(line, /checked bytes kept from before/, 'npm run build seeded kv 1.0.0 under the default policy');
    assert.is(await udpRequest(engine.ports.get('kv')!.udp!, 'SET a b'), 'OK');
    await engine.stop();
    assert.equal(safeList(join(site.dataDir, 'prepared')), [], 'nothing new to keep');
  } finally {
    site.remove();
  }
});

const safeList = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

async function udpRequest(port: number, line: string): Promise<string> {
  const client = new UdpClient(port);
  try {
    return await client.request(line);
  } finally {
    client.close();
  }
}

test.run();
