// TimerTable on a virtual clock: due times, repeats that do not drift when callbacks run late,
// cancel, dueIn, list and clear, all checked exactly and without waiting in real time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TimerTable } from '../host/component/timers.js';
import { VirtualClock, virtualTimerTable } from './support/virtual-clock.js';

const table = virtualTimerTable;

test('a one-shot timer fires once at its due time and is then gone', () => {
  const { clock, timers, fired } = table();
  timers.set(1, 250, 0);
  assert.is(timers.dueIn(1), 250);
  clock.advance(249);
  assert.equal(fired, [], 'not before it is due');
  assert.is(timers.dueIn(1), 1);
  clock.advance(1);
  assert.equal(fired, [[1, 250]]);
  assert.is(timers.dueIn(1), -1, 'a fired one-shot timer is no longer set');
  assert.is(timers.size, 0);
  clock.advance(10_000);
  assert.is(fired.length, 1, 'it fires only once');
});

test('a repeating timer fires on its grid, even when every callback runs late', () => {
  const { clock, timers, fired } = table();
  timers.set(7, 100, 100);
  clock.advance(1050, { lateMs: 30 });
  // Run 30 ms late each time, but the due times stay at 100, 200, ... (no drift).
  assert.equal(
    fired.map(([, at]) => at),
    [130, 230, 330, 430, 530, 630, 730, 830, 930, 1030],
  );
  assert.is(timers.dueIn(7), 50, 'next due at 1100, 50 ms from now');
  assert.equal(timers.list(), [{ id: 7, dueInMs: 50, repeatMs: 100 }]);
});

test('cancel stops a timer; cancelling an unknown id says so', () => {
  const { clock, timers, fired } = table();
  timers.set(1, 100, 100);
  clock.advance(150);
  assert.is(timers.cancel(1), true);
  assert.is(timers.cancel(1), false);
  assert.is(timers.cancel(42), false);
  clock.advance(1000);
  assert.equal(fired, [[1, 100]]);
  assert.is(clock.pending, 0, 'nothing left scheduled');
});

test('setting an id again replaces the timer', () => {
  const { clock, timers, fired } = table();
  timers.set(3, 100, 0);
  timers.set(3, 500, 0);
  assert.is(timers.size, 1);
  assert.is(clock.pending, 1, 'the first schedule was cleared');
  clock.advance(499);
  assert.equal(fired, []);
  clock.advance(1);
  assert.equal(fired, [[3, 500]]);
});

test('invalid delays and repeats are clamped: negative and NaN delays fire now, NaN repeats do not repeat', () => {
  const { clock, timers, fired } = table();
  timers.set(1, -5, 0);
  timers.set(2, Number.NaN, Number.NaN);
  timers.set(3, 10, 0.25); // sub-millisecond repeat is raised to 1 ms
  assert.equal(
    timers.list().map((t) => [t.id, t.dueInMs, t.repeatMs]),
    [
      [1, 0, 0],
      [2, 0, 0],
      [3, 10, 1],
    ],
  );
  clock.advance(0);
  assert.equal(fired, [
    [1, 0],
    [2, 0],
  ]);
  clock.advance(12);
  assert.equal(
    fired.filter(([id]) => id === 3).map(([, at]) => at),
    [10, 11, 12],
  );
});

test('dueIn of an overdue timer is 0; list reports every timer; clear removes all', () => {
  const clock = new VirtualClock();
  let blocked = true;
  const fired: number[] = [];
  // A callback that does not advance the table: the timer stays set while it is overdue.
  const timers = new TimerTable(
    (id) => fired.push(id),
    () => clock.now() + (blocked ? 0 : 50),
    clock,
  );
  timers.set(1, 100, 0);
  timers.set(2, 300, 1000);
  blocked = false; // the table's clock now runs 50 ms ahead of the scheduler
  assert.equal(timers.list(), [
    { id: 1, dueInMs: 50, repeatMs: 0 },
    { id: 2, dueInMs: 250, repeatMs: 1000 },
  ]);
  clock.advance(60);
  assert.is(timers.dueIn(1), 0, 'overdue by 10 ms, reported as 0');
  timers.clear();
  assert.is(timers.size, 0);
  assert.is(timers.dueIn(2), -1);
  assert.is(clock.pending, 0, 'clear cancels the scheduled wake-ups');
  clock.advance(10_000);
  assert.equal(fired, []);
});

test("the default scheduler is Node's and its timers do not keep the process alive", () => {
  const timers = new TimerTable(() => {});
  timers.set(1, 60_000, 0);
  assert.ok(timers.dueIn(1) > 59_000 && timers.dueIn(1) <= 60_000);
  timers.clear();
});

test('a wait longer than Node can hold (2^31 - 1 ms) is cut, re-armed, and fires once at its due time', () => {
  const { clock, timers, fired } = table();
  const longest = 2 ** 31 - 1;
  timers.set(3, 3 * longest, 0);
  timers.set(4, 1e308, 0); // Node's own setTimeout would fire this one after 1 ms
  clock.advance(longest);
  assert.equal(fired, [], 'the end of a cut wait is not the due time');
  assert.is(timers.dueIn(3), 2 * longest);
  clock.advance(2 * longest);
  assert.equal(fired, [[3, 3 * longest]], 'fires at its due time, once');
  assert.ok(timers.dueIn(4) > 0, 'a timer due in 1e308 ms is still waiting');
});

test.run();
