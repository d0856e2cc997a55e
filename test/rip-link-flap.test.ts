// A link of our RIP router goes down for longer than the route timeout and comes back: the
// routes through it become unreachable at once (withdrawn from our kernel, advertised with
// metric 16 so BIRD drops them), the router is upgraded while the link is down, and once the
// link is back the routes are relearned. Traffic on the other link loses nothing meanwhile.
// Needs root, netns, FRR and BIRD; otherwise skipped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { netnsAvailable, sleep } from './support/netns/index.js';
import { converge, withRipLine } from './support/netns/rip-line.js';
import { skipBecause } from './support/skip.js';
import { waitFor } from './support/wait-for.js';

const avail = netnsAvailable();
/** Our timeout: longer than FRR's update interval (5–6 s), short enough for the test. */
const TIMEOUT_S = 8;

if (!avail.ok) {
  skipBecause(test, 'rip link flap', `${avail.reason} (it needs root, network namespaces, frr and bird2)`);
} else {
  test('a link down longer than the timeout: routes through it go unreachable and come back; an upgrade mid-flap loses nothing else', async () => {
    await withRipLine({ settings: { timeout: TIMEOUT_S, garbage: 4 } }, async (line) => {
      const { lab, left, right, frrStub, birdStub, ripStub, engine } = line;
      console.log(`  converged: ${await converge(line)}`);

      // Traffic that does not cross the failing link: BIRD's stub ↔ our stub.
      const ping = lab.startPing('bird', ripStub.addr, { intervalMs: 50, source: birdStub.addr, maxDurationMs: 120_000 });
      const missing: string[] = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          if (!(await lab.route('bird', ripStub.subnet))) missing.push(`BIRD lost ${ripStub.subnet}`);
          if (!(await lab.route('rip', birdStub.subnet))) missing.push(`we lost ${birdStub.subnet}`);
          await sleep(100);
        }
      })();

      const downAt = Date.now();
      await lab.setLink('frr', left.a.ifname, false);
      const gone = await Promise.all([
        lab.waitForRoute('rip', frrStub.subnet, 5000, { absent: true }),
        lab.waitForRoute('bird', frrStub.subnet, 5000, { absent: true }),
      ]);
      assert.not.ok(gone[0].route, `our kernel withdrew ${frrStub.subnet}`);
      assert.not.ok(gone[1].route, `BIRD dropped ${frrStub.subnet} after our metric 16`);
      console.log(`  link down: withdrawn from our kernel after ${gone[0].elapsedMs} ms, BIRD dropped it after ${gone[1].elapsedMs} ms`);
      assert.ok(gone[0].elapsedMs < TIMEOUT_S * 1000, 'handled on the link event, not by the route timeout');
      const unreachable = await engine.cli('show', 'rip');
      assert.match(unreachable, new RegExp(`${left.b.ifname}\\s+\\S+\\s+rip, multicast, down`), `eth0 shown as down:\n${unreachable}`);

      const up = await engine.cli('upgrade', 'rip', '0.0.2');
      assert.match(up, 'rip: 0.0.1 -> 0.0.2 ok');
      const afterSwap = await engine.cli('show', 'rip');
      assert.match(afterSwap, new RegExp(`${left.b.ifname}\\s+\\S+\\s+rip, multicast, down`), 'still down after the swap');
      assert.not.ok(await lab.route('rip', frrStub.subnet), 'the swap did not bring the route back');

      // Down for longer than the timeout, then back.
      const held = TIMEOUT_S * 1000 + 1000 - (Date.now() - downAt);
      if (held > 0) await sleep(held);
      await lab.setLink('frr', left.a.ifname, true);
      const back = await Promise.all([
        lab.waitForRoute('rip', frrStub.subnet, 20_000, { via: left.a.addr, protocol: 'rip' }),
        lab.waitForRoute('bird', frrStub.subnet, 20_000, { via: right.a.addr }),
        lab.waitForRoute('frr', ripStub.subnet, 20_000, { via: left.b.addr }),
      ]);
      for (const r of back) assert.ok(r.route, 'relearned after the link came back');
      console.log(`  link up after ${Date.now() - downAt} ms down: relearned in ${back.map((r) => r.elapsedMs).join(', ')} ms`);
      await waitFor(() => ping.replies.length > 20, { what: 'ping replies', timeoutMs: 5000 });
      const pinged = await ping.stop();
      watching = false;
      await watcher;
      console.log(`  on the other link meanwhile: ${pinged.sent} pings, ${pinged.lost} lost; ${missing.length} route losses`);
      assert.is(pinged.lost, 0, `no ping lost on the other link (lost seqs ${pinged.lostSeqs.join(',')})`);
      assert.equal(missing, [], 'no route through the other link was lost');
    });
  });
}

test.run();
