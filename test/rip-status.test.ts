// The router's status block (paper, Table 1) and its persistent data across swaps, on any
// machine: an in-process engine with only the `settings` capability (no sockets, no routes, so
// no root needed). The `next due` value comes from a host-owned timer and must carry on across
// an upgrade; 0.0.3 migrates the route records up and back down.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../host/config.js';
import { Engine } from '../host/engine.js';
import { Logger } from '../host/log.js';

const dueIn = (text: string): number => {
  const m = /Sending updates every 30 seconds with \+\/-50%, next due in (\d+) seconds/.exec(text);
  if (!m) throw new Error(`no "next due" line in:\n${text}`);
  return Number(m[1]);
};

test('status block, next-due carried across upgrades, layout migration up and down', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rip-status-'));
  const file = join(dir, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      dataDir: join(dir, 'data'),
      logLevel: 'error',
      components: [{ name: 'rip', module: 'rip', version: '0.0.1', capabilities: { settings: { filterIn: '10.99.0.0/16' } } }],
    }),
  );
  const engine = await Engine.start(loadConfig(file), { logger: new Logger('engine', 'error') });
  try {
    const rip = engine.component('rip');
    const t0 = performance.now();
    const s1 = rip.show();
    assert.match(s1, 'Routing Protocol is "rip"');
    assert.match(s1, 'Module version = 0.0.1');
    assert.match(s1, 'Timeout after 180 seconds, garbage collect after 120 seconds');
    assert.match(s1, 'Outgoing update filter list for all interface is not set');
    assert.match(s1, 'Incoming update filter list for all interface is not set', '0.0.1 has no incoming filter');
    assert.match(s1, 'Default redistribution metric is 1');
    const due1 = dueIn(s1);
    assert.ok(due1 >= 14 && due1 <= 45, `first update due in 15..45 s (30 s +/-50%), got ${due1}`);

    const r2 = await engine.upgrade('rip', { version: '0.0.2' });
    assert.is(r2.result, 'ok', r2.cause);
    const s2 = rip.show();
    assert.match(s2, 'Module version = 0.0.2');
    assert.match(s2, 'Incoming update filter list for all interface is deny 10.99.0.0/16');
    const due2 = dueIn(s2);
    // The status rounds the host timer's dueIn to whole seconds. Carried on across the swap, it
    // can only have gone down by the time measured around both readings (plus one for rounding);
    // a timer set afresh by 0.0.2 would be a new random 15..45 s, most likely outside that window.
    const elapsedS = Math.ceil((performance.now() - t0) / 1000);
    assert.ok(
      due2 <= due1 && due2 >= due1 - elapsedS - 1,
      `next due carried on across the swap: ${due1} s, then ${due2} s (at most ${elapsedS} s later)`,
    );

    const r3 = await engine.upgrade('rip', { version: '0.0.3' });
    assert.is(r3.result, 'ok', r3.cause);
    assert.equal(r3.layout, { from: 1, to: 2 });
    assert.match(rip.show(), 'Data layout = 2');
    const back = await engine.upgrade('rip', { version: '0.0.2' });
    assert.is(back.result, 'ok', back.cause);
    assert.equal(back.layout, { from: 2, to: 1 });
    const s4 = rip.show();
    assert.match(s4, 'Data layout = 1');
    const due4 = dueIn(s4);
    const elapsed4S = Math.ceil((performance.now() - t0) / 1000);
    assert.ok(due4 <= due2 && due4 >= due1 - elapsed4S - 1, `next due still carried on after two more swaps: ${due2} s, then ${due4} s`);
  } finally {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
