import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventQueue } from '../host/component/event-queue.js';

test('EventQueue is FIFO across ring-buffer growth and wrap-around', () => {
  const q = new EventQueue<number>();
  const out: number[] = [];
  let next = 0;
  // Interleave pushes and shifts so head wraps around while the buffer grows past 64.
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 7; i++) q.push(next++);
    for (let i = 0; i < 3; i++) out.push(q.shift()!);
  }
  while (q.length > 0) out.push(q.shift()!);
  assert.equal(
    out,
    Array.from({ length: next }, (_, i) => i),
  );
  assert.is(q.shift(), undefined);
});

test('EventQueue.unshift puts an item before everything queued', () => {
  const q = new EventQueue<string>();
  q.push('a');
  q.push('b');
  q.unshift('first');
  assert.is(q.peek(), 'first');
  assert.equal([q.shift(), q.shift(), q.shift()], ['first', 'a', 'b']);
});

test.run();
