// The shortest slice (docs/SAFETY.md, "Shorter slices while a neighbour waits for its sync"):
// while a component with no events left holds outputs for its journal's sync, every other
// component's slice is `syncWaitSliceMs`; a component that still has events does not count.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HostResult } from '../host/abi/abi.js';
import { Component, DEFAULT_DISPATCH, DispatchScheduler } from '../host/component/component.js';
import { DurableComponent } from '../host/durability/durable-component.js';
import { Logger } from '../host/log.js';
import { bundled } from './hostile/corpus.js';
import { prepareForTest, testPolicy } from './support/prepare.js';
import { RecordingQueue } from './support/recording-queue.js';
import { waitFor } from './support/wait-for.js';

const { sharedSliceMs, syncWaitSliceMs } = DEFAULT_DISPATCH;

/**
 * A budget is read by the queue a little after the scheduler granted it, so a pause in between
 * (a collection) can only make it look shorter: a shortened window is checked slice by slice,
 * a window that must not be shortened by its median.
 */
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test('the scheduler: a waiter without events shortens the others; one with events, or none held, does not', async () => {
  assert.ok(syncWaitSliceMs < sharedSliceMs);
  const scheduler = new DispatchScheduler(DEFAULT_DISPATCH);
  const order: string[] = [];
  const backlog = new RecordingQueue('backlog', 1_000_000, order);
  scheduler.ready(backlog);
  const waiter = new RecordingQueue('waiter', 1, order);
  scheduler.ready(waiter);
  await waitFor(() => waiter.slices === 0 && backlog.budgets.length >= 2, { what: 'the waiter to have its one slice' });

  scheduler.outputsHeld(waiter, true);
  let from = backlog.budgets.length;
  await waitFor(() => backlog.budgets.length >= from + 5, { what: 'five backlog slices while the waiter holds outputs' });
  for (const b of backlog.budgets.slice(from))
    assert.ok(b <= syncWaitSliceMs, `a slice of ${b.toFixed(3)} ms while a neighbour waits for its sync`);

  scheduler.outputsHeld(waiter, false);
  from = backlog.budgets.length;
  await waitFor(() => backlog.budgets.length >= from + 5, { what: 'five backlog slices once the outputs left' });
  const released = median(backlog.budgets.slice(from));
  assert.ok(released > syncWaitSliceMs, `slices of ${released.toFixed(3)} ms (median) after the release`);

  // A second busy component whose outputs are held (a flooder's always are) does not count.
  const busy = new RecordingQueue('busy', 1_000_000, order);
  scheduler.ready(busy);
  scheduler.outputsHeld(busy, true);
  from = backlog.budgets.length;
  const busyFrom = busy.budgets.length;
  await waitFor(() => backlog.budgets.length >= from + 5, { what: 'five backlog slices beside a busy holder' });
  await waitFor(() => busy.budgets.length >= busyFrom + 5, { what: 'five slices of the busy holder' });
  const beside = median(backlog.budgets.slice(from));
  const own = median(busy.budgets.slice(busyFrom));
  assert.ok(beside > syncWaitSliceMs, `slices of ${beside.toFixed(3)} ms (median) beside a busy holder`);
  assert.ok(own > syncWaitSliceMs, `the busy holder's own slices of ${own.toFixed(3)} ms (median)`);
  backlog.slices = 1;
  busy.slices = 1;
  await waitFor(() => backlog.slices === 0 && busy.slices === 0, { what: 'both to finish' });
});

test('wired to a real fsync journal: the slices between a reply and its release are the shortest', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-wait-'));
  const journal = new DurableComponent({ dir, component: 'light', mode: 'fsync', log: new Logger('light', 'error') });
  const scheduler = new DispatchScheduler(DEFAULT_DISPATCH);
  const light = new Component({ name: 'light', policy: testPolicy(), scheduler, journal });
  await light.load(await prepareForTest(bundled('kv', '1.0.0'), 'kv', '1.0.0'));
  const backlog = new RecordingQueue('backlog', 1_000_000, []);
  scheduler.ready(backlog);
  await waitFor(() => backlog.budgets.length >= 3, { what: 'the backlog to run' });
  try {
    for (let round = 0; round < 3; round++) {
      let handledAt = -1;
      let releasedAt = -1;
      light.enqueue({
        kind: 'message',
        channel: 0,
        peer: 'test',
        payload: Buffer.from(`SET k${round} v`),
        replyTo: {
          reply: () => {
            handledAt = backlog.budgets.length;
            light.outputGate.pass(() => {
              releasedAt = backlog.budgets.length;
            });
            return HostResult.ok;
          },
        },
      });
      await waitFor(() => releasedAt >= 0, { what: `the reply of round ${round} to be released` });
      // The backlog's slice carried in the same turn as light's runs before any sync can return.
      assert.ok(
        releasedAt > handledAt,
        `round ${round}: no backlog slice between the reply (${handledAt}) and its release (${releasedAt})`,
      );
      for (const b of backlog.budgets.slice(handledAt, releasedAt))
        assert.ok(b <= syncWaitSliceMs, `round ${round}: a backlog slice of ${b.toFixed(3)} ms while light waited for its sync`);
      const after = backlog.budgets.length;
      await waitFor(() => backlog.budgets.length >= after + 5, { what: 'the backlog to run on' });
      const later = median(backlog.budgets.slice(after, after + 5));
      assert.ok(later > syncWaitSliceMs, `round ${round}: backlog slices of ${later.toFixed(3)} ms (median) after the release`);
    }
  } finally {
    backlog.slices = 1;
    light.stop();
    await journal.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
