// The hotswap CLI end to end: a real engine process (`hotswap start`) and the CLI as a user runs
// it, on the same machine, so it finds the generated token by itself. Uploads are signed, since
// this engine trusts one Ed25519 key.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kvAs, tempDir } from './support/control-plane.js';
import { cli, type RunningEngine, repoRoot, startEngine } from './support/engine-process.js';

let engine: RunningEngine;
let dir: string;
const keys = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');

test.before(async () => {
  dir = tempDir();
  writeFileSync(join(dir, 'key.pem'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'trusted.pub.pem'), keys.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'kv-1.0.5.wasm'), kvAs('1.0.5'));
  writeFileSync(join(dir, 'kv-1.0.6.wasm'), kvAs('1.0.6'));
  // A detached signature over other bytes: what a mixed-up release pipeline would produce.
  writeFileSync(join(dir, 'kv-1.0.6.wasm.sig'), sign(null, kvAs('1.0.7'), stranger.privateKey));
  engine = await startEngine([{ name: 'kv', version: '1.0.0', tcp: false }], {
    control: { host: '127.0.0.1', port: 0, trustedKey: join(dir, 'trusted.pub.pem') },
  });
});
test.after(async () => {
  await engine?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The CLI without an engine address (help and usage errors need none). */
const bare = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: repoRoot }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });

test('--help documents every command', async () => {
  const r = await bare('--help');
  assert.is(r.code, 0);
  for (const cmd of ['start', 'status', 'show', 'push', 'upgrade', 'rollback', 'versions', 'history', '--json', '--token']) {
    assert.ok(r.stdout.includes(cmd), `help mentions ${cmd}`);
  }
});

test('push → upgrade → rollback → history round trip, finding the token without being told', async () => {
  const push = await engine.hotswap('push', 'kv', join(dir, 'kv-1.0.5.wasm'), '--version', '1.0.5', '--sign', join(dir, 'key.pem'));
  assert.is(push.code, 0, push.stderr);
  assert.match(push.stdout, /pushed kv 1\.0\.5 sha256 [0-9a-f]{12}… [\d.]+ KiB, ABI 1, layout 1, signed/);
  assert.match(push.stderr, /pushing kv@1\.0\.5: 100% \(/, 'upload progress on stderr');

  const versions = await engine.hotswap('versions', 'kv', '--json');
  assert.is(versions.code, 0, versions.stderr);
  const list = JSON.parse(versions.stdout) as { version: string; running: boolean; signature: string | null }[];
  assert.equal(
    list.map((v) => v.version).filter((v) => v.startsWith('1.0')),
    ['1.0.0', '1.0.5'],
  );
  assert.ok(list.find((v) => v.version === '1.0.0')!.running);
  assert.ok(list.find((v) => v.version === '1.0.5')!.signature);

  const up = await engine.hotswap('upgrade', 'kv', '1.0.5');
  assert.is(up.code, 0, up.stderr);
  assert.match(up.stdout, /kv: 1\.0\.0 -> 1\.0\.5 ok/);
  assert.match(up.stdout, /pause: \d+ µs/);
  assert.match(up.stdout, /events queued during the swap: \d+/);
  assert.match(up.stdout, /phases \(µs\): .*hold \d+.*activate \d+.*restart \d+/);

  const back = await engine.hotswap('rollback', 'kv');
  assert.is(back.code, 0, back.stderr);
  assert.match(back.stdout, /kv: rollback 1\.0\.5 -> 1\.0\.0 ok/);

  const history = await engine.hotswap('history', 'kv');
  assert.is(history.code, 0, history.stderr);
  const lines = history.stdout.trim().split('\n');
  assert.match(lines[0]!, /^AT\s+KIND\s+FROM\s+TO\s+RESULT/);
  assert.match(lines[1]!, /rollback\s+1\.0\.5\s+1\.0\.0\s+ok/);
  assert.match(lines[2]!, /upgrade\s+1\.0\.0\s+1\.0\.5\s+ok/);

  const status = await engine.hotswap('status', 'kv', '--json');
  assert.is(JSON.parse(status.stdout).version, '1.0.0');
});

test('a module pushed with a detached signature over other bytes is refused', async () => {
  const r = await engine.hotswap(
    'push',
    'kv',
    join(dir, 'kv-1.0.6.wasm'),
    '--version',
    '1.0.6',
    '--signature',
    join(dir, 'kv-1.0.6.wasm.sig'),
  );
  assert.is(r.code, 1);
  assert.match(r.stderr, /hotswap: module kv@1\.0\.6: the signature does not match/);
  assert.is(r.stdout, '');
  const unsigned = await engine.hotswap('upgrade', 'kv', join(dir, 'kv-1.0.6.wasm'));
  assert.is(unsigned.code, 1);
  assert.match(unsigned.stderr, /a signature is required/);
});

test('errors go to stderr with a non-zero exit status', async () => {
  const usage = await bare('push', 'kv', 'x.wasm');
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /usage: hotswap push/);
  const unknownFlag = await bare('status', '--bogus');
  assert.is(unknownFlag.code, 2);
  const missing = await engine.hotswap('rollback', 'kv', '9.9.9');
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /module kv@9\.9\.9 not found/);
  const wrongToken = await engine.hotswap('upgrade', 'kv', '1.0.5', '--token', 'not-the-token');
  assert.is(wrongToken.code, 1, 'an explicit wrong token is not silently replaced');
  assert.match(wrongToken.stderr, /bearer token is wrong/);
  const down = await bare('status', '--control', '127.0.0.1:1');
  assert.is(down.code, 1);
  assert.match(down.stderr, /cannot reach the engine/);
});

test.run();
