// Probation on an injected clock: the window starts at begin(), faults are counted only for the
// version on probation and only within the window, the verdict names counts and limits, and
// end() or the window's expiry stops the watch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Probation } from '../host/component/probation.js';
import { VirtualClock } from './support/virtual-clock.js';

const CONFIG = { windowMs: 10_000, maxFaults: 2 };

function probation(): { clock: VirtualClock; p: Probation } {
  const clock = new VirtualClock();
  return { clock, p: new Probation(CONFIG, () => clock.now()) };
}

test('nothing is on probation until begin()', () => {
  const { p } = probation();
  assert.is(p.version, null);
  assert.is(p.fault('1.0.0', 'trap'), null, 'a fault of a version not on probation is only a fault');
});

test('more than maxFaults faults within the window give the verdict, which names counts and limits', () => {
  const { clock, p } = probation();
  clock.advance(5_000);
  p.begin('2.0.0');
  assert.is(p.version, '2.0.0');
  clock.advance(1_000);
  assert.is(p.fault('2.0.0', 'first'), null);
  clock.advance(1_000);
  assert.is(p.fault('2.0.0', 'second'), null, 'maxFaults faults are tolerated');
  clock.advance(1_500);
  assert.is(
    p.fault('2.0.0', 'on_message of kv@2.0.0 ran out of fuel'),
    'probation: 3 faults within 3500 ms of the upgrade to 2.0.0 (limit 2 in 10000 ms); last: on_message of kv@2.0.0 ran out of fuel',
  );
  assert.is(p.version, null, 'the verdict ends the probation');
  assert.is(p.fault('2.0.0', 'again'), null);
});

test('faults of another version do not count', () => {
  const { p } = probation();
  p.begin('2.0.0');
  for (let i = 0; i < 5; i++) assert.is(p.fault('1.0.0', 'old version trap'), null);
  assert.is(p.fault('2.0.0', 'a'), null);
  assert.is(p.fault('2.0.0', 'b'), null);
  assert.type(p.fault('2.0.0', 'c'), 'string');
});

test('the window expires: afterwards faults only count as faults', () => {
  const { clock, p } = probation();
  p.begin('2.0.0');
  assert.is(p.fault('2.0.0', 'a'), null);
  assert.is(p.fault('2.0.0', 'b'), null);
  clock.advance(10_000);
  assert.is(p.version, '2.0.0', 'still on probation at exactly windowMs');
  clock.advance(1);
  assert.is(p.version, null, 'window over');
  assert.is(p.fault('2.0.0', 'c'), null, 'a third fault after the window gives no verdict');
});

test('begin() again restarts the window and the count; end() stops the watch', () => {
  const { clock, p } = probation();
  p.begin('2.0.0');
  assert.is(p.fault('2.0.0', 'a'), null);
  assert.is(p.fault('2.0.0', 'b'), null);
  clock.advance(9_000);
  p.begin('3.0.0');
  clock.advance(9_000);
  assert.is(p.version, '3.0.0', 'the new window started at the second begin()');
  assert.is(p.fault('3.0.0', 'a'), null);
  assert.is(p.fault('3.0.0', 'b'), null, 'the count started again');
  p.end();
  assert.is(p.version, null);
  assert.is(p.fault('3.0.0', 'c'), null);
});

test.run();
