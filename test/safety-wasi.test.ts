// The WASI sandbox: wasi-echo is built with @assemblyscript/wasi-shim, so its
// console output, clock and randomness go through WASI. One @wasmer/wasi object per component
// survives the swap 1.0.0 → 1.1.0: stdout and stderr keep arriving in the log under the
// component's name, and the persistent counter carries on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MEMORY_BASE } from '../host/abi/abi.js';
import { Component } from '../host/component/component.js';
import { ModuleFactory } from '../host/component/module-factory.js';
import { Logger } from '../host/log.js';
import type { ModulePolicy } from '../host/modules/check.js';
import { ModuleRejected } from '../host/modules/errors.js';
import { bundled, TEST_FUEL } from './hostile/corpus.js';
import { requestThrough } from './support/request.js';

const factory = new ModuleFactory(); // prepares modules outside an engine

const policy: ModulePolicy = {
  memoryBase: MEMORY_BASE,
  maxPages: (MEMORY_BASE >> 16) + 64,
  maxModuleBytes: 1 << 20,
  allowWasi: true,
  fuel: TEST_FUEL,
};
const lines: string[] = [];
const component = new Component({ name: 'echo', policy, logger: new Logger('echo', 'info', { write: (l) => void lines.push(l) }) });
const request = (line: string): Promise<string> => requestThrough(component, line);
const seen = (pattern: RegExp): void =>
  assert.ok(
    lines.some((l) => pattern.test(l)),
    `${pattern} in the log:\n${lines.join('\n')}`,
  );

test.after(() => component.stop());

test('a WASI module is rejected where WASI is not enabled', async () => {
  try {
    await factory.prepare(bundled('wasi-echo', '1.0.0'), { name: 'wasi-echo', version: '1.0.0' }, { ...policy, allowWasi: false });
    assert.unreachable('should have been rejected');
  } catch (e) {
    assert.instance(e, ModuleRejected);
    assert.match((e as Error).message, /wasi-echo@1\.0\.0 rejected: import wasi_snapshot_preview1\.fd_write: WASI is not enabled/);
  }
});

test('stdout and stderr land in the log under the component name, across a swap', async () => {
  const v1 = await factory.prepare(bundled('wasi-echo', '1.0.0'), { name: 'wasi-echo', version: '1.0.0' }, policy);
  const v2 = await factory.prepare(bundled('wasi-echo', '1.1.0'), { name: 'wasi-echo', version: '1.1.0' }, policy);
  assert.ok(v1.usesWasi);
  await component.load(v1);
  seen(/info +\[echo\] stdout: wasi-echo 1\.0\.0 initialised/);
  assert.is(await request('hello'), 'ECHO 1 hello');
  seen(/\[echo\] stdout: 1\.0\.0 echoing message 1$/);
  assert.is(await request('ERR disk on fire'), 'LOGGED');
  seen(/warn +\[echo\] stderr: disk on fire$/);
  assert.match(await request('WHEN'), /^NOW \d{13} RANDOM ok$/, 'WASI clock and random_get work');

  const pending = request('queued before the swap'); // FIFO: 1.0.0 still answers it
  const report = await component.upgrade(v2);
  assert.is(report.result, 'ok', report.cause);
  assert.is(await pending, 'ECHO 4 queued before the swap');
  seen(/\[echo\] stdout: wasi-echo 1\.1\.0 restarted after 4 messages/);
  assert.is(await request('again'), 'ECHO 5 again');
  seen(/\[echo\] stdout: 1\.1\.0 echoing message 5$/);
});

test.run();
