// Wild arguments to every import, against a real engine process: pointers outside the memory,
// negative and huge lengths, absurd timer delays, to every `hs.*` import and to env.abort and
// env.trace, one case per request (test/hostile/src/attack-wild-pointers.ts). Each import must
// fail cleanly, by a trap (a fault, after which the same module serves again) or an error code;
// the engine never crashes. Probation is widened here so that every case meets the attack
// module; `hotswap rollback` ends it. Then the keys, the timers and idleness are checked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { useKvEngine } from './support/attack-engine.js';
import { type AttackCase, componentStatus, counters, runAttack, writeKeys } from './support/attack-run.js';
import { waitFor } from './support/wait-for.js';

// Probation widened so that every case meets the attack module.
const kv = useKvEngine(test, { probation: { windowMs: 600_000, maxFaults: 1000 } });

/** Timer events per second the wild timers may cause: two repeating ones at a 10 ms period, with room. */
const MAX_WILD_TIMER_RATE = 300;

/**
 * Cases where an import that returns a code (hs.reply, hs.send) is handed a range outside the
 * memory: a trap or a negative code. Imports that return nothing (log, random_fill, output) may
 * also drop the call unread, as a quota does; what every case must do is leave the engine alive.
 */
const OUT_OF_RANGE = new Set([4, 5, 6, 7, 8, 9, 10, 11]);

test('wild pointers, lengths and numbers to every import: each fails cleanly, the engine lives on', async () => {
  const keys = await writeKeys(kv.client, 'wild-', 200);
  const outcomes: string[] = [];
  const wild: AttackCase = {
    module: 'attack-wild-pointers',
    rollback: 'operator',
    grows: ['faults'],
    trigger: async ({ engine, component, client, version, notes }) => {
      const count = Number(await client.request('ATTACK count'));
      assert.is(count, 32, 'the module has every case');
      for (let n = 0; n < count; n++) {
        const faults = (await componentStatus(engine, component)).faults as number;
        const seen = client.lines.length;
        client.send(`ATTACK ${n}`);
        const outcome = await waitFor(
          async () => {
            const r = client.lines.slice(seen).find((l) => l.startsWith(`RESULT ${n} `));
            if (r) return `code ${r.split(' ')[2]}`;
            return ((await componentStatus(engine, component)).faults as number) > faults ? 'trap' : null;
          },
          { what: `case ${n} to reply or trap`, intervalMs: 20 },
        );
        outcomes.push(`${n}:${outcome}`);
        if (OUT_OF_RANGE.has(n)) {
          assert.ok(outcome === 'trap' || Number(outcome.slice(5)) < 0, `case ${n} read outside the memory: ${outcome}`);
        }
        assert.is(engine.process.exitCode, null, `the engine survived case ${n}`);
        assert.is(await client.request('VERSION'), version, `the module serves again after case ${n}`);
      }
      notes.push(`outcomes ${outcomes.join(' ')}`);
      // The wild timers left (NaN, infinite, 1e308 and 5e-324 ms) fire no faster than a sane one:
      // a due time past what the platform's timers hold must not turn into "every millisecond".
      const before = counters(await componentStatus(engine, component), ['handled.timer']);
      const t = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the window the rate is measured over
      const rate = (counters(await componentStatus(engine, component), ['handled.timer']) - before) / ((performance.now() - t) / 1000);
      notes.push(`wild timers fired ${rate.toFixed(0)}/s`);
      assert.ok(rate < MAX_WILD_TIMER_RATE, `wild timers fire ${rate.toFixed(0)} times/s, under ${MAX_WILD_TIMER_RATE}`);
    },
  };
  await runAttack(kv.engine, 'kv', wild, keys);
  assert.is(outcomes.length, 32);
});

test.run();
