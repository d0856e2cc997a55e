// Crash survival of the RIP router: between FRR and BIRD, converged, the engine is killed with a
// real SIGKILL and started again on the same data directory (crash recovery, docs/DURABILITY.md).
// Asserted: its table is back in `show` long before the neighbours' timeout (180 s), the
// neighbours never lose the routes through it (no flap, no metric 16), a ping across it loses
// nothing (the kernel routes stay while the engine is down), and a clean stop after the
// recovery still withdraws every kernel route it installed before the crash. Needs root, netns,
// FRR and BIRD; otherwise skipped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { restartEngineIn } from './support/netns/engine.js';
import { netnsAvailable } from './support/netns/index.js';
import { converge, withRipLine } from './support/netns/rip-line.js';
import { watchRoutes } from './support/netns/route-watch.js';
import { skipBecause } from './support/skip.js';
import { waitFor } from './support/wait-for.js';

const avail = netnsAvailable();
/** The RFC's timers for every router here: the restart must fit well inside the 180 s timeout. */
const TIMERS = { update: 5, timeout: 180, garbage: 120 };
/** The bound this test states: pings lost across the kill and the restart. */
const MAX_PINGS_LOST = 0;

/** The learned routes of `hotswap show rip` (network, next hop, metric, interface), sorted. */
function learned(shown: string): string[] {
  return shown
    .split('\n')
    .filter((l) => l.startsWith('R '))
    .map((l) => {
      const [, network, hop, metric, , , , iface] = l.split(/\s+/);
      return `${network} via ${hop} metric ${metric} on ${iface}`;
    })
    .sort();
}

if (!avail.ok) {
  skipBecause(test, 'rip after SIGKILL', `${avail.reason} (it needs root, network namespaces, frr and bird2)`);
} else {
  test('SIGKILL and restart: the table is back, no neighbour loses a route through us, no ping lost', async () => {
    await withRipLine(
      {
        frr: { timers: TIMERS },
        bird: { timers: { ...TIMERS, update: 1 } },
        settings: { timeout: TIMERS.timeout, garbage: TIMERS.garbage },
      },
      async (line) => {
        const { lab, frrStub, birdStub, ripStub } = line;
        console.log(`  converged: ${await converge(line)}`);
        const before = learned(await line.engine.cli('show', 'rip'));
        assert.ok(before.length >= 2, `routes learned from both neighbours: ${before.join('; ')}`);

        const ping = lab.startPing('frr', birdStub.addr, { intervalMs: 50, source: frrStub.addr, maxDurationMs: 120_000 });
        const routes = watchRoutes(lab, [
          ['frr', birdStub.subnet],
          ['frr', ripStub.subnet],
          ['bird', frrStub.subnet],
          ['bird', ripStub.subnet],
          ['rip', frrStub.subnet],
          ['rip', birdStub.subnet],
        ]);
        const { missing } = routes;
        let engine = line.engine;
        try {
          await waitFor(() => ping.replies.length >= 20, { what: '20 ping replies before the kill', timeoutMs: 10_000 });
          const killedAt = Date.now();
          process.kill(engine.proc.pid, 'SIGKILL');
          await engine.proc.exited;
          engine = await restartEngineIn(lab, 'rip', engine);
          line.engine = engine; // withRipLine prints this one's log on failure
          const readyMs = Date.now() - killedAt;
          const shows: string[] = [];
          const after = await waitFor(
            async () => {
              const asked = Date.now() - killedAt;
              const now = learned(await engine.cli('show', 'rip'));
              shows.push(`asked at ${asked} ms: ${now.length} routes${before.every((r) => now.includes(r)) ? '' : ` (${now.join('; ')})`}`);
              return before.every((r) => now.includes(r)) && now;
            },
            { what: `the table back in show: ${before.join('; ')}`, timeoutMs: 60_000, intervalMs: 100 },
          );
          const backMs = Date.now() - killedAt;
          console.log(`  killed, restarted: ready ${readyMs} ms after the SIGKILL, table back in show after ${backMs} ms`);
          console.log(`  show after the restart: ${shows.join('; ')}`);
          assert.ok(backMs < TIMERS.timeout * 1000, `back before the neighbours' timeout (${backMs} ms)`);
          assert.equal(after.length, before.length, 'no route more or less');
          assert.match(engine.proc.log(), /recovered \d+ events from the journal/);
          // Traffic and updates across the recovered router for a while: 40 more replies, and
          // both neighbours' updates heard by the new process.
          const seen = ping.replies.length;
          await waitFor(() => ping.replies.length >= seen + 40, { what: '40 more ping replies after the restart', timeoutMs: 20_000 });
        } finally {
          await routes.stop();
        }
        const pinged = await ping.stop();
        console.log(`  across the kill and the restart: ${pinged.sent} pings, ${pinged.lost} lost; routes lost: ${missing.length}`);
        assert.ok(pinged.lost <= MAX_PINGS_LOST, `at most ${MAX_PINGS_LOST} pings lost (lost seqs ${pinged.lostSeqs.join(',')})`);
        assert.equal(missing, [], 'no route through our router lost anywhere');

        // The recovered engine knows the kernel routes its predecessor installed: a clean stop
        // withdraws them all, and the neighbours drop our routes at once (the poison).
        await engine.stop();
        const left = await waitFor(
          async () => {
            const ours = (await lab.routes('rip')).filter((r) => r.protocol === 'rip');
            return ours.length === 0 ? 'none' : null;
          },
          { what: 'our kernel routes withdrawn by the clean stop', timeoutMs: 5000, intervalMs: 100 },
        );
        assert.is(left, 'none');
        await lab.waitForRoute('frr', ripStub.subnet, 5000, { absent: true });
      },
    );
  });
}

test.run();
