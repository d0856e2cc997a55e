// kv 3.0.0's in-place bulk migration (PMap.reshapeInPlace) over records of every shape its
// arena walk meets: values from 1 to 200 bytes (so some records outgrow their block when they gain
// 16 bytes of metadata and move, and long ones take the memory.copy path), deleted keys
// (tombstones, free blocks in the arena), overwritten keys (blocks reused from the free lists,
// out of address order) and the old tables' blocks. Up and down, twice: every record reads back
// exactly; writes made in layout 2 survive the way down.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Component } from '../host/component/component.js';
import { ModuleFactory } from '../host/component/module-factory.js';
import type { PreparedModule } from '../host/modules/prepared.js';
import { bundled } from './hostile/corpus.js';
import { KV_TEST_POLICY, requestThrough } from './support/request.js';

const factory = new ModuleFactory();
const KEYS = 20_000;
const component = new Component({ name: 'kv', policy: KV_TEST_POLICY });
const modules = new Map<string, PreparedModule>();
const request = (line: string): Promise<string> => requestThrough(component, line);

/** Value i: 1 to 200 bytes, its content naming i, so a shifted or truncated value shows. */
const recordValue = (i: number, round = 0): string => `${round}:${i}:`.padEnd(1 + ((i * 37) % 200), String.fromCharCode(97 + (i % 26)));
/** What the store must hold: key → value, or undefined for a deleted key. */
const expected = new Map<number, string>();

async function all(lines: string[]): Promise<string[]> {
  const out: string[] = [];
  for (let start = 0; start < lines.length; start += 5_000)
    out.push(...(await Promise.all(lines.slice(start, start + 5_000).map((l) => request(l)))));
  return out;
}

async function everyRecordReadsBack(step: string): Promise<void> {
  const keys = Array.from({ length: KEYS }, (_, i) => i);
  const replies = await all(keys.map((i) => `GET key${i}`));
  const wrong = keys.filter((i) => replies[i] !== (expected.has(i) ? `VALUE ${expected.get(i)}` : 'NOT_FOUND'));
  assert.is(wrong.length, 0, `${step}: ${wrong.length} records wrong, first key${wrong[0]}: ${replies[wrong[0] ?? 0]}`);
  assert.is(await request('COUNT'), String(expected.size), `${step}: count`);
}

test.before(async () => {
  for (const v of ['2.0.0', '3.0.0']) modules.set(v, await factory.prepare(bundled('kv', v), { name: 'kv', version: v }, KV_TEST_POLICY));
  await component.load(modules.get('2.0.0')!);
  const sets: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    expected.set(i, recordValue(i));
    sets.push(`SET key${i} ${recordValue(i)}`);
  }
  assert.ok((await all(sets)).every((r) => r === 'OK'));
  // Holes and reuse: every 10th key deleted, every 7th rewritten (its block from a free list).
  const changes: string[] = [];
  for (let i = 0; i < KEYS; i += 10) {
    expected.delete(i);
    changes.push(`DEL key${i}`);
  }
  for (let i = 3; i < KEYS; i += 7) {
    expected.set(i, recordValue(i, 1));
    changes.push(`SET key${i} ${recordValue(i, 1)}`);
  }
  await all(changes);
  await everyRecordReadsBack('before');
});
test.after(() => component.stop());

test('up and down twice: every record reads back exactly, with its metadata in layout 2', async () => {
  for (const round of [1, 2]) {
    const up = await component.upgrade(modules.get('3.0.0')!);
    assert.is(up.result, 'ok', up.cause);
    assert.ok(up.phasesUs.migrate !== undefined, 'migrate ran');
    await everyRecordReadsBack(`after migrate up, round ${round}`);
    assert.match(await request('META key1'), /^META 1 \d{13}$/);
    assert.match(await request(`META key${KEYS - 1}`), /^META 1 \d{13}$/);
    assert.is(await request('META key20'), 'NOT_FOUND', 'a deleted key stays deleted');
    const down = await component.upgrade(modules.get('2.0.0')!);
    assert.is(down.result, 'ok', down.cause);
    assert.ok(down.phasesUs.migrate_down !== undefined, 'migrate_down ran');
    await everyRecordReadsBack(`after migrate down, round ${round}`);
  }
});

test('writes in layout 2 survive the way down: revisions, new keys, deletions', async () => {
  assert.is((await component.upgrade(modules.get('3.0.0')!)).result, 'ok');
  expected.set(5, recordValue(5, 2));
  assert.is(await request(`SET key5 ${recordValue(5, 2)}`), 'OK');
  assert.match(await request('META key5'), /^META 2 /, 'SET bumps the migrated revision');
  expected.set(KEYS, 'new-after-migration');
  assert.is(await request(`SET key${KEYS} new-after-migration`), 'OK');
  expected.delete(6);
  assert.is(await request('DEL key6'), 'DELETED');
  assert.is((await component.upgrade(modules.get('2.0.0')!)).result, 'ok');
  await everyRecordReadsBack('after layout-2 writes and migrate down');
  assert.is(await request(`GET key${KEYS}`), 'VALUE new-after-migration');
});

test.run();
