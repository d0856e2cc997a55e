// The attack corpus of test/quota-corpus*.test.ts passes every check a module meets before a
// swap (the same preparation the engine runs: static checks, instrumentation, warm-up), keeps
// kv's data layout, and reports the version the end-to-end tests expect.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostile } from './hostile/corpus.js';
import { repoRoot } from './support/engine-process.js';
import { prepareForTest } from './support/prepare.js';

const ATTACKS = [
  'attack-bus-amplify',
  'attack-self-send',
  'attack-timer-storm',
  'attack-log-flood',
  'attack-huge-status',
  'attack-reply-flood',
  'attack-wild-pointers',
];

test('every attack module in the corpus is listed here (a new one gets checked too)', () => {
  const sources = readdirSync(join(repoRoot, 'test', 'hostile', 'src'))
    .filter((f) => f.startsWith('attack-') && f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
  assert.equal(sources, [...ATTACKS].sort());
});

for (const name of ATTACKS) {
  test(`${name} passes the engine's checks and keeps kv's data layout`, async () => {
    const m = await prepareForTest(hostile(name), 'kv', `6.6.6-${name}`);
    assert.is(m.version, `6.6.6-${name}`);
    assert.is(m.abiVersion, 1);
    assert.is(m.layoutVersion, 1, 'the layout of kv 1.0.0, so its keys stay readable');
  });
}

test.run();
