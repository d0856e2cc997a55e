// A reply target keeps valid bytes after the call (host/abi/reply-arena.ts): a UDP send or a TCP
// write may complete after the module's memory changed. Replies kept as the Buffers the targets
// got, across many arena slabs and while the module rewrites its values, still hold what was
// answered; each is a plain Buffer of its own; a reply too long for a slab is one too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HostResult } from '../host/abi/abi.js';
import { ReplyArena } from '../host/abi/reply-arena.js';
import { Component } from '../host/component/component.js';
import type { ComponentEvent, ReplyTarget } from '../host/component/events.js';
import { bundled } from './hostile/corpus.js';
import { prepareForTest, testPolicy } from './support/prepare.js';
import { waitFor } from './support/wait-for.js';

const kv1 = await prepareForTest(bundled('kv', '1.0.0'), 'kv', '1.0.0');

/** Keeps the Buffers themselves, read only at the end. */
class Kept implements ReplyTarget {
  readonly buffers: Buffer[] = [];
  reply(bytes: Buffer): number {
    this.buffers.push(bytes);
    return HostResult.ok;
  }
}

const message = (line: string, replyTo: ReplyTarget): ComponentEvent => ({
  kind: 'message',
  channel: 0,
  peer: '10.0.0.1:4000',
  payload: Buffer.from(line),
  replyTo,
});

test('replies kept by their target stay as answered while the module rewrites its memory', async () => {
  const c = new Component({ name: 'kept', policy: testPolicy(), queueEvents: 100_000 });
  await c.load(kv1);
  const kept = new Kept();
  const expected: string[] = [];
  const long = (i: number): string => `${i}-`.padEnd(6000, 'x'); // longer than half a slab
  for (let i = 0; i < 6000; i++) {
    // The same key, rewritten each time: a reply that were a view of memory would change.
    const value = i % 500 === 7 ? long(i) : `v${i}`;
    c.enqueue(message(`SET k ${value}`, kept));
    expected.push('OK');
    c.enqueue(message('GET k', kept));
    expected.push(`VALUE ${value}`);
  }
  await waitFor(() => kept.buffers.length === expected.length, { what: 'every reply' });
  assert.equal(
    kept.buffers.map((b) => b.toString()),
    expected,
  );
  for (const b of kept.buffers) assert.is(Object.getPrototypeOf(b), Buffer.prototype);
  assertNoOverlap(kept.buffers);
  c.stop();
});

/** No two of `buffers` share a byte of memory. */
function assertNoOverlap(buffers: readonly Uint8Array[]): void {
  const byMemory = new Map<ArrayBufferLike, [number, number][]>();
  for (const b of buffers) {
    if (b.length === 0) continue;
    const ranges = byMemory.get(b.buffer) ?? [];
    ranges.push([b.byteOffset, b.byteOffset + b.length]);
    byMemory.set(b.buffer, ranges);
  }
  for (const ranges of byMemory.values()) {
    ranges.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i]![0] >= ranges[i - 1]![1], 'two copies share bytes');
  }
}

test('copies from the arena never share bytes, across slabs, and a long one is a Buffer of its own', () => {
  const arena = new ReplyArena();
  const src = new Uint8Array(16_384).map((_, i) => i & 0xff);
  const copies: { ptr: number; len: number; out: Buffer }[] = [];
  for (let i = 0; i < 3000; i++) {
    const ptr = (i * 13) % 8000;
    const len = i % 50 === 0 ? 5000 : i % 40; // empty, short, over the loop's length, over half a slab
    copies.push({ ptr, len, out: arena.copy(src, ptr, len) });
  }
  assertNoOverlap(copies.map((c) => c.out));
  src.fill(0); // the source changes: no copy may see it
  const expect = new Uint8Array(16_384).map((_, i) => i & 0xff);
  for (const { ptr, len, out } of copies) {
    assert.ok(Buffer.isBuffer(out));
    assert.is(out.length, len);
    assert.ok(out.equals(expect.subarray(ptr, ptr + len)), `copy of [${ptr}, ${ptr + len})`);
  }
});

test.run();
