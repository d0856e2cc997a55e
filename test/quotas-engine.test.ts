// Quota hits as an operator sees them, through a real Engine with a real SQLite history and
// real UDP: a module that replies many times per request is refused past the quota, the hits
// show in status, in /metrics (hotswap_quota_hits_total) and, once, in the history as kind
// `quota`; the operator's rollback then restores the previous version.
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EngineMetrics } from '../host/control/metrics.js';
import type { Engine } from '../host/engine.js';
import { openDatabase } from '../host/repository/database.js';
import { UpgradeHistory } from '../host/repository/history.js';
import { hostile, startKvEngine, udpPort } from './hostile/corpus.js';
import { waitFor } from './support/wait-for.js';

const db = openDatabase(mkdtempSync(join(tmpdir(), 'hotswap-quota-history-')));
const history = new UpgradeHistory(db);
let engine: Engine;

test.before(async () => {
  engine = await startKvEngine({}, { history });
});
test.after(async () => {
  await engine.stop();
  db.close();
});

/** Sends `text` to kv over UDP and collects the datagrams that come back until `quietMs` of silence. */
async function udp(text: string, quietMs = 200): Promise<string[]> {
  const socket = createSocket('udp4');
  const got: string[] = [];
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return new Promise((resolve) => {
    let timer = setTimeout(done, 2000);
    function done(): void {
      socket.close();
      resolve(got);
    }
    socket.on('message', (m) => {
      got.push(m.toString());
      clearTimeout(timer);
      timer = setTimeout(done, quietMs);
    });
    socket.send(text, udpPort(engine), '127.0.0.1');
  });
}

test('a reply flood over UDP: capped per request, counted in status, /metrics and the history', async () => {
  const hog = await engine.prepare('kv', hostile('quota-hog'), '9.9.9-quota-hog');
  assert.is((await engine.component('kv').upgrade(hog)).result, 'ok');
  const replies = await udp('REPLY 1000');
  assert.is(replies.length, 256, 'sendsPerCallback (256 by default) replies, not 1000');
  const status = engine.component('kv').status();
  assert.equal(status.quotaHits, { sends: 744 });
  const metrics = await new EngineMetrics(engine).text();
  assert.match(metrics, /hotswap_quota_hits_total\{component="kv",resource="sends"\} 744/);
  const entry = await waitFor(() => history.list('kv').find((h) => h.kind === 'quota'), { what: 'a quota entry in the history' });
  assert.is(entry.result, 'over_quota');
  assert.match(entry.cause ?? '', /kv@9\.9\.9-quota-hog: 744 sends quota hits/);
  await udp('REPLY 1000');
  assert.is(history.list('kv').filter((h) => h.kind === 'quota').length, 1, 'not a second entry within the minute');
  const back = await engine.rollback('kv');
  assert.is(back.result, 'ok');
  assert.is(engine.component('kv').status().version, '2.0.0');
});

test.run();
