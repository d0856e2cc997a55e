// Import quotas on a real Component with real prepared modules (test/hostile/src/quota-*.ts):
// an import over its quota returns -6 and is counted; a log flood writes one summary line
// instead of the lines; timers are capped in number and period; `status` output is cut; a swap
// rolled back by its transaction, by probation (quota violations) or by an operator puts the
// timer table back; and the configuration names a bad quota field.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Component, type ComponentOptions, type QuotaRecord } from '../host/component/component.js';
import type { SwapReport } from '../host/component/swap.js';
import { ConfigError, loadConfig } from '../host/config.js';
import { Logger } from '../host/log.js';
import type { PreparedModule } from '../host/modules/prepared.js';
import { hostile } from './hostile/corpus.js';
import { prepareForTest, testPolicy } from './support/prepare.js';
import { waitFor } from './support/wait-for.js';

const components: Component[] = [];
test.after.each(() => {
  for (const c of components.splice(0)) c.stop();
});

/** Prepares test/hostile/src/<name>.ts's module under the version it reports. */
const prepare = (name: string): Promise<PreparedModule> => prepareForTest(hostile(name), 'kv', `9.9.9-${name}`);

/** A component running quota-hog, its log lines collected. */
async function start(options: Partial<ComponentOptions> = {}): Promise<{ c: Component; lines: string[]; v1: PreparedModule }> {
  const lines: string[] = [];
  const c = new Component({
    name: 'kv',
    policy: testPolicy(),
    logger: new Logger('kv', 'info', { write: (l) => void lines.push(l) }),
    ...options,
  });
  components.push(c);
  const v1 = await prepare('quota-hog');
  await c.load(v1);
  return { c, lines, v1 };
}

/** Delivers `text`, then waits until a kv request queued behind it was answered; returns its replies. */
async function send(c: Component, text: string): Promise<string[]> {
  const replies: string[] = [];
  c.enqueue({
    kind: 'message',
    channel: 0,
    peer: 'test',
    payload: Buffer.from(text),
    replyTo: {
      reply: (b) => {
        replies.push(b.toString());
        return 0;
      },
    },
  });
  await new Promise<void>((resolve) =>
    c.enqueue({
      kind: 'message',
      channel: 0,
      peer: 'test',
      payload: Buffer.from('GET nothing'),
      replyTo: {
        reply: () => {
          resolve();
          return 0;
        },
      },
    }),
  );
  return replies;
}

/** The due-in times quota-hog's `status` prints for its timers 1000.., by id. */
function dueTimes(c: Component): Map<number, number> {
  const due = new Map<number, number>();
  for (const m of c.show().matchAll(/^timer (\d+) (-?[\d.]+)$/gm)) due.set(Number(m[1]), Number(m[2]));
  return due;
}

test('a reply flood: replies past sendsPerCallback return -6, are not sent, and are counted', async () => {
  const { c } = await start({ quotas: { sendsPerCallback: 10 } });
  const replies = await send(c, 'REPLY 25');
  assert.is(replies.length, 10, 'only the first 10 replies went out');
  assert.match(c.show(), /refused=15 last=-6/, 'the module saw -6 for each refused reply');
  const s = c.status();
  assert.equal(s.quotaHits, { sends: 15 });
  assert.is(s.quotaViolations, 1, 'one callback over a quota is one violation');
  assert.is((await send(c, 'REPLY 3')).length, 3, 'the next callback has its whole budget again');
});

test('a log flood: lines over the limit are dropped and summarised in one line a second', async () => {
  const { c, lines } = await start({ quotas: { logLinesPerSecond: 100 } });
  await send(c, 'LOG 500');
  assert.is(lines.filter((l) => l.includes('xxxxxxxx')).length, 100, 'only the first 100 lines were written');
  assert.is(c.status().quotaHits.logLines, 400);
  const summary = await waitFor(() => lines.find((l) => l.includes('suppressed')), { what: 'the summary line' });
  assert.match(summary, /kv: 400 log lines \(400\.0 KiB\) suppressed in the last 1 s/);
  assert.is(lines.filter((l) => l.includes('suppressed')).length, 1, 'one summary, not one line per dropped line');
});

test('timers: at most `timers` of them, none shorter than timerMinPeriodMs; the hits reach the history once', async () => {
  const { c } = await start({ quotas: { timers: 10, timerMinPeriodMs: 50 } });
  const records: QuotaRecord[] = [];
  c.on({ onQuota: (r) => records.push(r) });
  await send(c, 'TIMERS 100 1');
  const s = c.status();
  assert.is(s.timers, 10, 'the 11th id and beyond were not set');
  assert.is(s.quotaHits.timers, 90);
  assert.is(s.quotaHits.timerPeriod, 10, 'each 1 ms repeat was raised to 50 ms, and counted');
  for (const [id, due] of dueTimes(c)) assert.ok(due > 0 && due <= 50, `timer ${id} due in ${due} ms, not 1 ms`);
  await send(c, 'TIMERS 100 1');
  await waitFor(() => records.length >= 2, { what: 'the quota records at the end of the window' });
  assert.equal(
    records.map((r) => [r.resource, r.hits, r.total, r.version]).sort(),
    [
      ['timerPeriod', 20, 20, '9.9.9-quota-hog'],
      ['timers', 180, 180, '9.9.9-quota-hog'],
    ],
    'one record per resource for both floods',
  );
});

test('status output over outputBytes is cut with a marker and counted', async () => {
  const { c } = await start({ quotas: { outputBytes: 1000 } });
  await send(c, 'OUTPUT 5000');
  const text = c.show();
  assert.match(text, /\[output truncated: \d+ bytes over the 1000-byte limit\]/);
  assert.ok(text.length < 1200, `output is ${text.length} characters`);
  assert.is(c.status().quotaHits.output, 1);
});

test('a swap rolled back by its transaction puts the timer table back exactly', async () => {
  const { c } = await start();
  await send(c, 'TIMERS 3 10000');
  const prepared = await prepare('quota-timer-trap');
  // The clock reads bracket both readings of the table, so `elapsed` bounds the time between
  // them however long the runner is preempted in between (a 2-core CI box under load).
  const t0 = performance.now();
  const before = dueTimes(c);
  const report = await c.upgrade(prepared);
  const after = dueTimes(c);
  const elapsed = performance.now() - t0;
  assert.is(report.result, 'rolled_back');
  assert.is(c.status().timers, 3, "the failed RESTART's 51 timers are gone");
  assert.equal([...after.keys()], [1000, 1001, 1002], 'timer 1000, cancelled by the failed RESTART, is back');
  for (const [id, due] of after) {
    const was = before.get(id)!;
    assert.ok(due <= was && due >= was - elapsed - 1, `timer ${id}: due in ${due} ms, was ${was} ms (${elapsed} ms passed)`);
  }
});

test('probation rolls back a version whose RESTART set 100,000 timers, and the timers of before come back', async () => {
  const swaps: SwapReport[] = [];
  let v1: PreparedModule | null = null;
  const box: { c?: Component } = {};
  const { c } = await start({
    probation: { windowMs: 60_000, maxFaults: 3 },
    quotas: { quotaFaults: 0 },
    rollback: (verdict) => void box.c!.rollBackNow(v1!, verdict),
  });
  box.c = c;
  v1 = c.module;
  c.on({ onSwap: (r) => swaps.push(r) });
  await send(c, 'TIMERS 3 10000');
  const before = dueTimes(c);
  const storm = await c.upgrade(await prepare('quota-timer-storm'));
  assert.is(storm.result, 'ok');
  const rollback = await waitFor(() => swaps.find((r) => r.reason === 'rollback'), { what: 'the automatic rollback' });
  assert.is(rollback.result, 'ok');
  assert.match(rollback.automatic ?? '', /callbacks over an import quota/);
  const s = c.status();
  assert.is(s.version, '9.9.9-quota-hog');
  assert.is(s.timers, 3, "the storm's timers are gone");
  assert.ok(s.quotaHits.timers! > 99_000, `timers refused: ${s.quotaHits.timers}`);
  const after = dueTimes(c);
  assert.equal([...after.keys()], [1000, 1001, 1002]);
  for (const [id, due] of after) assert.ok(due <= before.get(id)! && due > 5000, `timer ${id} kept its due time (${due} ms)`);
});

test('an operator rollback later drops the timers the undone version set and keeps the older ones', async () => {
  const { c, v1 } = await start();
  await send(c, 'TIMERS 3 10000');
  assert.is((await c.upgrade(await prepare('quota-timer-storm'))).result, 'ok');
  assert.is(c.status().timers, 256, 'the storm filled the table up to the default limit');
  assert.is((await c.upgrade(v1, 'rollback')).result, 'ok');
  assert.is(c.status().timers, 3);
  assert.equal([...dueTimes(c).keys()], [1000, 1001, 1002]);
});

test('the configuration passes the quotas it sets (the component fills in the rest) and names a bad quota field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotswap-quotas-'));
  const file = join(dir, 'config.json');
  const component = { name: 'kv', version: '1.0.0', limits: { timers: 8 } };
  writeFileSync(file, JSON.stringify({ components: [component] }));
  assert.equal(loadConfig(file).components[0]!.limits.quotas, { timers: 8 });
  writeFileSync(file, JSON.stringify({ components: [{ ...component, limits: { sendsPerCallback: -1 } }] }));
  try {
    loadConfig(file);
    assert.unreachable('a negative quota was accepted');
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.match((e as Error).message, /sendsPerCallback/);
  }
});

test.run();
