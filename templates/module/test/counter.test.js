// Runs the module in this process with wasm-hotswap/testing: no engine, no sockets, virtual time.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TestComponent } from 'wasm-hotswap/testing';

const wasm = fileURLToPath(new URL('../build/__NAME__.wasm', import.meta.url));
if (!existsSync(wasm)) throw new Error('build/__NAME__.wasm is missing: run `npm run build` first');
const name = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).name;

test('counts the messages it gets', async () => {
  const c = await TestComponent.start(wasm, { name });
  try {
    assert.deepEqual(await c.send('hello'), ['1']);
    assert.deepEqual(await c.send('hello'), ['2']);
    assert.deepEqual(await c.send('GET'), ['2']);
    assert.match(c.show(), /count 2/);
    assert.equal(c.faults.length, 0);
  } finally {
    await c.close();
  }
});

test('keeps the count across an upgrade to the same build', async () => {
  const c = await TestComponent.start(wasm, { name });
  try {
    await c.send('one');
    const report = await c.upgrade(wasm);
    assert.equal(report.result, 'ok', report.cause ?? '');
    assert.deepEqual(await c.send('GET'), ['1']);
  } finally {
    await c.close();
  }
});
