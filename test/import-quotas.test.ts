// ImportQuotas on a virtual clock: per-callback budgets start whole at beginCallback, per-second
// budgets at the end of the window, whose timer is armed only by activity; the first hit of a
// callback is its one violation; log lines over the limit are summarised; output is cut.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_QUOTAS, ImportQuotas, type QuotaLimits, type Suppressed } from '../host/component/quotas.js';
import { VirtualClock } from './support/virtual-clock.js';

function quotas(limits: Partial<QuotaLimits>) {
  const clock = new VirtualClock();
  const violations: string[] = [];
  const windows: Suppressed[] = [];
  const q = new ImportQuotas({
    limits: { ...DEFAULT_QUOTAS, ...limits },
    scheduler: clock,
    violated: (r) => violations.push(r),
    windowEnded: (s) => windows.push(s),
  });
  return { clock, q, violations, windows };
}

test('sends per callback: refused past the limit, one violation per callback, whole again next callback', () => {
  const { q, violations } = quotas({ sendsPerCallback: 2, sendBytesPerCallback: 100 });
  q.beginCallback();
  assert.ok(q.send(10));
  assert.ok(q.send(10));
  assert.not.ok(q.send(10));
  assert.not.ok(q.send(10));
  assert.equal(violations, ['sends'], 'two hits, one violation');
  q.beginCallback();
  assert.not.ok(q.send(101), 'bytes per callback');
  assert.ok(q.send(100));
  assert.equal(q.hits.toJSON(), { sends: 2, sendBytes: 1 });
  assert.equal(violations, ['sends', 'sendBytes']);
});

test('sends per second: the window opens with the first call and resets a second later; idle arms nothing', () => {
  const { clock, q } = quotas({ sendsPerSecond: 3 });
  assert.is(clock.pending, 0, 'no timer while nothing happened');
  for (let i = 0; i < 3; i++) {
    q.beginCallback();
    assert.ok(q.send(1));
  }
  q.beginCallback();
  assert.not.ok(q.send(1), 'the 4th send within the second');
  assert.is(clock.pending, 1);
  clock.advance(1000);
  assert.is(clock.pending, 0, 'not re-armed while quiet');
  q.beginCallback();
  assert.ok(q.send(1), 'a new window');
});

test('per callback and per second together: each send takes from the smaller budget, and the refusal names the limit crossed', () => {
  const { clock, q, violations } = quotas({ sendsPerCallback: 3, sendsPerSecond: 5, sendBytesPerCallback: 100, sendBytesPerSecond: 150 });
  q.beginCallback();
  assert.equal([q.send(50), q.send(50), q.send(1)], [true, true, false], 'bytes per callback');
  q.beginCallback();
  assert.equal([q.send(40), q.send(20), q.send(10)], [true, false, true], 'bytes per second: 150 used, not 160');
  q.beginCallback();
  assert.equal([q.send(0), q.send(0)], [true, false], 'the 6th send within the second');
  clock.advance(1000);
  q.beginCallback();
  assert.equal([q.send(0), q.send(0), q.send(0), q.send(0)], [true, true, true, false], 'a new window: the per-callback limit again');
  assert.equal(q.hits.toJSON(), { sends: 2, sendBytes: 2 });
  assert.equal(violations, ['sendBytes', 'sendBytes', 'sends', 'sends']);
});

test('log lines over the limit are dropped and reported at the end of the window', () => {
  const { clock, q, windows } = quotas({ logLinesPerSecond: 2, logBytesPerSecond: 1000 });
  const admitted = [100, 100, 100, 2000].map((n) => q.log(n));
  assert.equal(admitted, [true, true, false, false]);
  clock.advance(1000);
  assert.equal(windows, [{ lines: 2, bytes: 2100 }]);
  assert.ok(q.log(900), 'a new window');
  assert.not.ok(q.log(200), 'bytes per second');
  assert.equal(q.hits.toJSON(), { logLines: 2, logBytes: 1 });
});

test('output: kept up to outputBytes per call of status, the rest cut and counted', () => {
  const { q } = quotas({ outputBytes: 10 });
  q.beginOutput();
  assert.is(q.output(6), 6);
  assert.is(q.output(6), 4);
  assert.is(q.output(6), 0);
  assert.is(q.outputCut, 8);
  q.beginOutput();
  assert.is(q.output(10), 10);
  assert.is(q.outputCut, 0);
  assert.is(q.hits.get('output'), 2);
});

test('stop() cancels the window timer', () => {
  const { clock, q } = quotas({});
  q.log(1);
  assert.is(clock.pending, 1);
  q.stop();
  assert.is(clock.pending, 0);
});

test.run();
