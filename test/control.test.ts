// The control API against a real ControlPlane: real HTTP on 127.0.0.1, a real SQLite file and
// real blobs in a temporary data directory. Every status code of docs/API.md, signatures, a
// tampered blob, a restart over the same data directory, and concurrent uploads and upgrades.

import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../host/config.js';
import { ControlPlane } from '../host/control/plane.js';
import { Logger } from '../host/log.js';
import { kv100, kvAs, type Plane, startPlane, tempDir, withNote, writeConfig } from './support/control-plane.js';

const UPLOAD_LIMIT = 256 * 1024;
let dataDir: string;
let p: Plane;

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers of many shapes; each assertion reads and checks its own fields
  body: any;
  headers: Headers;
}

async function call(
  method: string,
  path: string,
  opts: { token?: string | null; json?: unknown; raw?: string; wasm?: Uint8Array; type?: string; headers?: Record<string, string> } = {},
  base = p.base,
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? p.token : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.raw !== undefined) {
    headers['content-type'] = 'application/json';
    body = opts.raw;
  } else if (opts.wasm) {
    headers['content-type'] = 'application/wasm';
    body = new Uint8Array(opts.wasm);
  }
  if (opts.type) headers['content-type'] = opts.type;
  const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text, headers: res.headers };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test.before(async () => {
  dataDir = tempDir();
  p = await startPlane(dataDir, { uploadLimitBytes: UPLOAD_LIMIT });
});
test.after(async () => {
  await p?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('bundled modules are registered at first start, and the token file is private', async () => {
  const r = await call('GET', '/v1/components/kv/versions');
  assert.is(r.status, 200);
  const versions = r.body.map((v: { version: string }) => v.version);
  assert.ok(versions.includes('1.0.0') && versions.includes('2.0.0'), versions.join());
  const v1 = r.body.find((v: { version: string }) => v.version === '1.0.0');
  assert.is(v1.sha256, sha(kv100));
  assert.is(v1.uploadedBy, 'bundled');
  assert.is(v1.running, true);
  assert.is(v1.abiVersion, 1, 'filled in when the engine loaded it');
  assert.is(statSync(join(dataDir, 'control.token')).mode & 0o777, 0o600);
  assert.ok(statSync(join(dataDir, 'blobs', 'sha256', v1.sha256.slice(0, 2), v1.sha256)).isFile(), 'content-addressed blob');
});

test('401: mutating requests need the bearer token; reads do not', async () => {
  const none = await call('POST', '/v1/components/kv/upgrade', { token: null, json: { version: '2.0.0' } });
  assert.is(none.status, 401);
  assert.match(none.body.error, /Authorization: Bearer/);
  assert.is(none.body.tokenFile, join(dataDir, 'control.token'), 'loopback clients learn where the token is');
  const wrong = await call('PUT', '/v1/components/kv/versions/1.0.5', { token: 'nope', wasm: kvAs('1.0.5') });
  assert.is(wrong.status, 401);
  assert.match(wrong.body.error, /wrong/);
  assert.is((await call('POST', '/v1/components/kv/rollback', { token: null, json: {} })).status, 401);
  assert.is((await call('GET', '/v1/components/kv/versions/1.0.5')).status, 404, 'nothing was stored');
  assert.is((await call('GET', '/v1/components/kv', { token: null })).status, 200);
});

test('400: malformed JSON, bad bodies, and names outside the strict patterns', async () => {
  const bad = await call('POST', '/v1/components/kv/upgrade', { raw: '{"version": ' });
  assert.is(bad.status, 400);
  assert.match(bad.body.error, /JSON/);
  assert.is((await call('POST', '/v1/components/kv/upgrade', { json: { version: 2 } })).status, 400);
  assert.is((await call('POST', '/v1/components/kv/upgrade', { json: ['2.0.0'] })).status, 400);
  for (const path of [
    '/v1/components/kv/versions/..%2F..%2Fetc%2Fpasswd',
    '/v1/components/kv/versions/1.0',
    '/v1/components/KV/versions/1.0.5',
    '/v1/components/..%2Fkv/versions/1.0.5',
    '/v1/components/kv/versions/1.0.5%00',
  ]) {
    const r = await call('PUT', path, { wasm: kvAs('1.0.5') });
    assert.is(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.error, /must (match|be)/);
  }
  const upgrade = await call('POST', '/v1/components/kv/upgrade', { json: { version: '../2.0.0' } });
  assert.is(upgrade.status, 400);
  assert.match(upgrade.body.error, /semantic version/);
});

test('415: wrong content types', async () => {
  const put = await call('PUT', '/v1/components/kv/versions/1.0.5', { json: { version: '1.0.5' } });
  assert.is(put.status, 415);
  assert.match(put.body.error, /application\/wasm/);
  assert.is((await call('POST', '/v1/components/kv/upgrade', { raw: 'version=2.0.0', type: 'text/plain' })).status, 415);
  assert.is((await call('POST', '/v1/components/kv/rollback', { wasm: kv100 })).status, 415);
});

test('413: bodies over the configured upload limit', async () => {
  const big = withNote(kvAs('1.0.5'), 'x');
  const padded = Buffer.concat([big, Buffer.alloc(UPLOAD_LIMIT)]);
  const r = await call('PUT', '/v1/components/kv/versions/1.0.5', { wasm: padded });
  assert.is(r.status, 413);
  assert.match(r.body.error, new RegExp(`upload limit of ${UPLOAD_LIMIT} bytes`));
});

test('404: unknown component or version', async () => {
  const comp = await call('POST', '/v1/components/nope/upgrade', { json: { version: '1.0.0' } });
  assert.is(comp.status, 404);
  assert.match(comp.body.error, /no component named "nope"/);
  const version = await call('POST', '/v1/components/kv/upgrade', { json: { version: '9.9.9' } });
  assert.is(version.status, 404);
  assert.match(version.body.error, /module kv@9\.9\.9 not found/);
  assert.is((await call('GET', '/v1/components/nope/history')).status, 404);
  assert.is((await call('GET', '/v1/components/kv/versions/9.9.9')).status, 404);
  assert.is((await call('POST', '/v1/components/kv/rollback', { json: { version: '9.9.8' } })).status, 404);
});

test('push: 201 with the metadata, 200 for the same bytes again, 409 for other bytes, 422 for a bad module', async () => {
  const bytes = kvAs('1.0.5');
  const created = await call('PUT', '/v1/components/kv/versions/1.0.5', { wasm: bytes, headers: { 'x-hotswap-uploader': 'alice@edge1' } });
  assert.is(created.status, 201, JSON.stringify(created.body));
  assert.is(created.headers.get('location'), '/v1/components/kv/versions/1.0.5');
  assert.is(created.body.module, 'kv');
  assert.is(created.body.version, '1.0.5');
  assert.is(created.body.sha256, sha(bytes));
  assert.is(created.body.size, bytes.byteLength);
  assert.is(created.body.abiVersion, 1);
  assert.is(created.body.layoutVersion, 1);
  assert.match(created.body.uploadedBy, /^alice@edge1 \(/);
  assert.ok(!Number.isNaN(Date.parse(created.body.uploadedAt)));

  const again = await call('PUT', '/v1/components/kv/versions/1.0.5', { wasm: bytes });
  assert.is(again.status, 200);
  assert.is(again.body.uploadedAt, created.body.uploadedAt, 'versions are immutable');

  const other = await call('PUT', '/v1/components/kv/versions/1.0.5', { wasm: withNote(bytes, 'rebuilt') });
  assert.is(other.status, 409);
  assert.match(other.body.error, /kv@1\.0\.5 already exists with other bytes/);

  const garbage = await call('PUT', '/v1/components/kv/versions/1.0.6', { wasm: Buffer.from('definitely not wasm') });
  assert.is(garbage.status, 422);
  assert.match(garbage.body.error, /module kv@1\.0\.6 rejected: not a WebAssembly module/);
  const mislabelled = await call('PUT', '/v1/components/kv/versions/1.0.6', { wasm: kvAs('1.0.7') });
  assert.is(mislabelled.status, 422);
  assert.match(mislabelled.body.problems.join(), /export version: module reports "1\.0\.7"/);
  assert.is((await call('GET', '/v1/components/kv/versions/1.0.6')).status, 404, 'a rejected module is not stored');
});

test('upgrade answers with the swap report; rollback goes back; history has every step with its cause', async () => {
  const up = await call('POST', '/v1/components/kv/upgrade', { json: { version: '1.0.5' } });
  assert.is(up.status, 200, JSON.stringify(up.body));
  assert.is(up.body.from, '1.0.0');
  assert.is(up.body.to, '1.0.5');
  assert.is(up.body.result, 'ok');
  for (const phase of ['hold', 'term', 'instantiate', 'activate', 'bind', 'migrate', 'restart', 'drain']) {
    assert.ok(phase in up.body.phasesUs, `phase ${phase} reported`);
  }
  assert.type(up.body.phasesUs.activate, 'number'); // instantiated ahead: only activated in the pause
  assert.type(up.body.queued, 'number');
  assert.type(up.body.pauseUs, 'number');

  const up2 = await call('POST', '/v1/components/kv/upgrade', { json: { version: '2.0.0' } });
  assert.is(up2.status, 200);
  const back = await call('POST', '/v1/components/kv/rollback', { json: {} });
  assert.is(back.status, 200, JSON.stringify(back.body));
  assert.is(back.body.reason, 'rollback');
  assert.is(back.body.from, '2.0.0');
  assert.is(back.body.to, '1.0.5');
  const backAgain = await call('POST', '/v1/components/kv/rollback', { json: {} });
  assert.is(backAgain.body.to, '1.0.0', 'a second rollback walks further back');
  const named = await call('POST', '/v1/components/kv/rollback', { json: { version: '2.0.0' } });
  assert.is(named.body.to, '2.0.0');
  const status = await call('GET', '/v1/components/kv');
  assert.is(status.body.version, '2.0.0');

  const h = await call('GET', '/v1/components/kv/history');
  assert.is(h.status, 200);
  const steps = h.body.map((e: { kind: string; from: string; to: string; result: string }) => `${e.kind} ${e.from}->${e.to} ${e.result}`);
  assert.equal(steps.slice(0, 5), [
    'rollback 1.0.0->2.0.0 ok',
    'rollback 1.0.5->1.0.0 ok',
    'rollback 2.0.0->1.0.5 ok',
    'upgrade 1.0.5->2.0.0 ok',
    'upgrade 1.0.0->1.0.5 ok',
  ]);
  const refused = h.body.find((e: { to: string }) => e.to === '9.9.9');
  assert.ok(refused, 'the refused upgrade to 9.9.9 is in the history');
  assert.is(refused.result, 'rejected');
  assert.match(refused.cause, /kv@9\.9\.9 not found/);
  const limited = await call('GET', '/v1/components/kv/history?limit=2');
  assert.is(limited.body.length, 2);
  assert.is((await call('GET', '/v1/components/kv/history?limit=0')).status, 400);
});

test('409: a second upgrade while one is in progress', async () => {
  // Versions this engine never prepared (stored directly, not uploaded): an upgrade to one it
  // prepared before comes from its prepared-module cache and may end before the second arrives.
  for (const v of ['1.0.3', '1.0.4']) {
    p.plane.store.put({ module: 'kv', version: v, bytes: kvAs(v), abiVersion: 1, layoutVersion: 1, uploadedBy: 'test' });
  }
  const [a, b] = await Promise.all([
    call('POST', '/v1/components/kv/upgrade', { json: { version: '1.0.3' } }),
    call('POST', '/v1/components/kv/upgrade', { json: { version: '1.0.4' } }),
  ]);
  const statuses = [a.status, b.status].sort();
  assert.equal(statuses, [200, 409], JSON.stringify([a.body, b.body]));
  const conflict = a.status === 409 ? a : b;
  assert.match(conflict.body.error, /in progress/);
});

test('a tampered blob is detected and refused, never run; the running version keeps serving', async () => {
  const bytes = kvAs('1.0.8');
  assert.is((await call('PUT', '/v1/components/kv/versions/1.0.8', { wasm: bytes })).status, 201);
  const blob = join(dataDir, 'blobs', 'sha256', sha(bytes).slice(0, 2), sha(bytes));
  chmodSync(blob, 0o600);
  // Flip one byte of the version string: a valid module that would report "1.0.9" if it ran.
  writeFileSync(blob, kvAs('1.0.9'));
  const before = (await call('GET', '/v1/components/kv')).body.version;
  const r = await call('POST', '/v1/components/kv/upgrade', { json: { version: '1.0.8' } });
  assert.is(r.status, 500);
  assert.is(r.body.code, 'BlobDamaged');
  assert.match(r.body.error, /kv@1\.0\.8: stored blob is damaged/);
  assert.ok(r.body.error.includes(sha(bytes)), 'names the expected sha256');
  const after = await call('GET', '/v1/components/kv');
  assert.is(after.body.version, before);
  assert.is(after.body.state, 'running');
  const h = await call('GET', '/v1/components/kv/history?limit=1');
  assert.is(h.body[0].result, 'rejected');
  assert.match(h.body[0].cause, /damaged/);
});

test('metrics and health', async () => {
  const m = await call('GET', '/metrics', { token: null });
  assert.is(m.status, 200);
  assert.match(m.headers.get('content-type') ?? '', /text\/plain/);
  assert.match(m.body, /hotswap_events_total\{component="kv",type="upgrade"\} \d+/);
  assert.match(m.body, /hotswap_queue_depth\{component="kv"\} 0/);
  assert.match(m.body, /hotswap_swap_pause_seconds_count\{component="kv"\} [1-9]/);
  assert.match(m.body, /hotswap_upgrades_total\{component="kv",reason="upgrade",result="ok"\} [1-9]/);
  assert.match(m.body, /hotswap_upgrades_total\{component="kv",reason="rollback",result="ok"\} 3/);
  assert.match(m.body, /hotswap_upgrades_total\{component="kv",reason="upgrade",result="rejected"\} [1-9]/);
  assert.match(m.body, /hotswap_fuel_traps_total\{component="kv"\} 0/);
  const h = await call('GET', '/healthz', { token: null });
  assert.is(h.status, 200);
  assert.is(h.body.ok, true);
});

test('concurrent uploads and upgrades do not corrupt anything', async () => {
  const versions = ['1.1.0', '1.1.1', '1.1.2', '1.1.3', '1.1.4', '1.1.5'];
  const uploads = versions.flatMap((v) => [
    call('PUT', `/v1/components/kv/versions/${v}`, { wasm: kvAs(v) }),
    call('PUT', `/v1/components/kv/versions/${v}`, { wasm: withNote(kvAs(v), 'rival') }),
  ]);
  const upgrades = ['2.0.0', '1.0.0', '2.0.0'].map((v) => call('POST', '/v1/components/kv/upgrade', { json: { version: v } }));
  const answers = await Promise.all([...uploads, ...upgrades]);
  for (let i = 0; i < versions.length; i++) {
    const pair = [answers[2 * i]!.status, answers[2 * i + 1]!.status].sort();
    assert.equal(pair, [201, 409], `exactly one of two rival uploads of ${versions[i]} wins`);
  }
  for (const a of answers.slice(uploads.length)) assert.ok([200, 409].includes(a.status), JSON.stringify(a.body));
  // Every stored version loads (its blob hashes to its address), including by an upgrade now.
  for (const v of versions) {
    const meta = (await call('GET', `/v1/components/kv/versions/${v}`)).body;
    const blob = readFileSync(join(dataDir, 'blobs', 'sha256', meta.sha256.slice(0, 2), meta.sha256));
    assert.is(sha(blob), meta.sha256);
  }
  const last = await call('POST', '/v1/components/kv/upgrade', { json: { version: '1.1.5' } });
  assert.is(last.status, 200, JSON.stringify(last.body));
  const db = new Database(join(dataDir, 'hotswap.db'), { readonly: true });
  assert.is(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();
});

test('restarting over the same data directory keeps the repository, the history and the token', async () => {
  const before = await call('GET', '/v1/components/kv/history');
  const token = p.token;
  await p.stop();
  p = await startPlane(dataDir, { uploadLimitBytes: UPLOAD_LIMIT });
  assert.is(p.token, token);
  // The component's journal (docs/DURABILITY.md) brings back the version it ran, not the configured 1.0.0.
  assert.is((await call('GET', '/v1/components/kv')).body.version, '1.1.5', 'the version that ran before the restart runs after it');
  const meta = await call('GET', '/v1/components/kv/versions/1.0.5');
  assert.is(meta.status, 200);
  assert.is(meta.body.uploadedBy.startsWith('alice@edge1'), true);
  const after = await call('GET', '/v1/components/kv/history');
  assert.equal(after.body, before.body);
  const up = await call('POST', '/v1/components/kv/upgrade', { json: { version: '1.1.3' } });
  assert.is(up.status, 200, 'uploaded versions are loadable after the restart');
  assert.is((await call('GET', '/v1/components/kv/history?limit=1')).body[0].to, '1.1.3');
});

test('signed modules: with a trusted key, only a valid Ed25519 signature is accepted', async () => {
  const trusted = generateKeyPairSync('ed25519');
  const stranger = generateKeyPairSync('ed25519');
  const dir = tempDir();
  const signed = await startPlane(dir, { trustedKey: trusted.publicKey.export({ type: 'spki', format: 'pem' }).toString() });
  try {
    const bytes = kvAs('1.2.0');
    const put = (headers: Record<string, string>) =>
      call('PUT', '/v1/components/kv/versions/1.2.0', { wasm: bytes, token: signed.token, headers }, signed.base);
    const unsigned = await put({});
    assert.is(unsigned.status, 403);
    assert.match(unsigned.body.error, /module kv@1\.2\.0: a signature is required/);
    const wrongKey = await put({ 'x-hotswap-signature': sign(null, bytes, stranger.privateKey).toString('base64') });
    assert.is(wrongKey.status, 403);
    assert.match(wrongKey.body.error, /signature does not match/);
    const otherBytes = await put({ 'x-hotswap-signature': sign(null, kvAs('1.2.1'), trusted.privateKey).toString('base64') });
    assert.is(otherBytes.status, 403);
    const garbled = await put({ 'x-hotswap-signature': 'AAAA' });
    assert.is(garbled.status, 403);
    assert.match(garbled.body.error, /64 bytes/);
    assert.is((await call('GET', '/v1/components/kv/versions/1.2.0', {}, signed.base)).status, 404, 'nothing stored');
    const good = sign(null, bytes, trusted.privateKey).toString('base64');
    const ok = await put({ 'x-hotswap-signature': good });
    assert.is(ok.status, 201, JSON.stringify(ok.body));
    assert.is(ok.body.signature, good);
    // Uploading through the upgrade endpoint is held to the same rule.
    const direct = await call('POST', '/v1/components/kv/upgrade', { wasm: kvAs('1.2.2'), token: signed.token }, signed.base);
    assert.is(direct.status, 403);
  } finally {
    await signed.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the request log: a line per change at info, with the error; reads only at debug', async () => {
  const dir = tempDir();
  const lines: string[] = [];
  const plane = await ControlPlane.start(loadConfig(writeConfig(dir)), {
    logger: new Logger('engine', 'info', { write: (line) => void lines.push(line) }),
  });
  try {
    const base = `http://${plane.server.address}`;
    const token = readFileSync(join(dir, 'control.token'), 'utf8').trim();
    assert.is((await call('GET', '/v1/components/kv', { token }, base)).status, 200);
    assert.is((await call('POST', '/v1/components/kv/upgrade', { token, json: { version: '9.9.9' } }, base)).status, 404);
    const logged = /^\S+Z info {2}\[control\] POST \/v1\/components\/kv\/upgrade 404 [\d.]+ ms: module kv@9\.9\.9 not found$/;
    // The line is written when the response has gone out, which can be just after fetch returns.
    for (const deadline = Date.now() + 5000; !lines.some((l) => logged.test(l)) && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(lines.filter((l) => /\[control\] (GET|POST) /.test(l)).length, 1, lines.join('\n'));
    assert.ok(
      lines.some((l) => logged.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => l.endsWith(`info  [control] control endpoint on ${base}`)),
      lines.join('\n'),
    );
  } finally {
    await plane.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
