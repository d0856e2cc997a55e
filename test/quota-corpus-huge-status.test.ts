// A 128 MiB `status` (test/hostile/src/attack-huge-status.ts), asked for with `hotswap show`,
// against a real engine process with `npm start`'s defaults: the control API answers
// within 100 ms at p99, the engine stays under 1 GiB, the attack module is rolled back, every key
// kv 1.0.0 wrote reads back, and the engine is idle afterwards (support/attack-run.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { useKvEngine } from './support/attack-engine.js';
import { runAttack, writeKeys } from './support/attack-run.js';

const kv = useKvEngine(test);

/** What `show` may return at most: far below the 128 MiB the module writes. */
const SHOW_MAX_CHARS = 1024 * 1024;

test('a 128 MiB status: truncated, the control API keeps answering, the module is rolled back', async () => {
  const keys = await writeKeys(kv.client, 'status-', 200);
  await runAttack(
    kv.engine,
    'kv',
    {
      module: 'attack-huge-status',
      // Every `show` over the output quota is one violation: asked for often enough, it is rolled back.
      rollback: 'engine',
      repeat: 150,
      grows: ['quotaHits.output'],
      trigger: async ({ engine, component, notes }, round) => {
        const res = await fetch(`http://${engine.control}/v1/components/${component}/show`, { signal: AbortSignal.timeout(10_000) });
        const text = await res.text();
        if (round === 0) notes.push(`show answered ${res.status} with ${text.length} characters`);
        assert.ok(text.length <= SHOW_MAX_CHARS, `hotswap show's text is truncated (${text.length} characters)`);
      },
    },
    keys,
  );
  const show = await kv.engine.hotswap('show', 'kv');
  assert.is(show.code, 0, show.stderr);
  assert.match(show.stdout, /Module version = 1\.0\.0/);
});

test.run();
