// TimerTable.snapshot/restore/revertTo on a virtual clock: a transaction's exact restore, and the
// rule for rolling an upgrade back later (the undone version's timers go, the older ones stay
// with their current due time or come back on their grid; a one-shot that passed stays gone).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TimerTable } from '../host/component/timers.js';
import { virtualTimerTable } from './support/virtual-clock.js';

const table = virtualTimerTable;

const byId = (timers: TimerTable) => timers.list().sort((a, b) => a.id - b.id);

test('restore puts back exactly the ids, due times and repeats of the snapshot', () => {
  const { clock, timers, fired } = table();
  timers.set(1, 100, 0);
  timers.set(2, 300, 300);
  clock.advance(50);
  const snap = timers.snapshot();
  timers.cancel(1);
  timers.set(2, 5, 5);
  for (let id = 10; id < 20; id++) timers.set(id, 1, 1);
  timers.restore(snap);
  assert.equal(timers.list(), [
    { id: 1, dueInMs: 50, repeatMs: 0 },
    { id: 2, dueInMs: 250, repeatMs: 300 },
  ]);
  assert.is(clock.pending, 2, 'the handles of the cancelled timers are gone too');
  clock.advance(650);
  assert.equal(fired, [
    [1, 100],
    [2, 300],
    [2, 600],
  ]);
});

test('revertTo: timers set since are dropped, ones still set keep their due time and get their repeat back', () => {
  const { clock, timers } = table();
  timers.set(1, 1000, 1000);
  timers.set(2, 5000, 0);
  const snap = timers.snapshot();
  clock.advance(200);
  timers.set(1, 10, 10); // the new version re-armed it faster
  timers.set(3, 10, 10); // and set one of its own
  timers.revertTo(snap);
  assert.equal(byId(timers), [
    { id: 1, dueInMs: 10, repeatMs: 1000 },
    { id: 2, dueInMs: 4800, repeatMs: 0 },
  ]);
});

test('revertTo much later: a cancelled repeating timer comes back on its grid, a one-shot that passed does not', () => {
  const { clock, timers, fired } = table();
  timers.set(1, 100, 100);
  timers.set(2, 250, 0);
  timers.set(3, 90_000, 0);
  const snap = timers.snapshot();
  timers.cancel(1);
  timers.cancel(2);
  timers.cancel(3);
  clock.advance(60_050);
  timers.revertTo(snap);
  assert.equal(byId(timers), [
    { id: 1, dueInMs: 50, repeatMs: 100 },
    { id: 3, dueInMs: 29_950, repeatMs: 0 },
  ]);
  clock.advance(50);
  assert.equal(fired, [[1, 60_100]]);
});

test.run();
