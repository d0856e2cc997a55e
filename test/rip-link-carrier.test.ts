// Our RIP router starts before its links have carrier (both neighbours' ends of the veth pairs
// are down), says so in `show`, and converges with FRR and BIRD once the links come up. Needs
// root, netns, FRR and BIRD; otherwise skipped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { netnsAvailable } from './support/netns/index.js';
import { converge, withRipLine } from './support/netns/rip-line.js';
import { skipBecause } from './support/skip.js';
import { waitFor } from './support/wait-for.js';

const avail = netnsAvailable();

if (!avail.ok) {
  skipBecause(test, 'rip starts before carrier', `${avail.reason} (it needs root, network namespaces, frr and bird2)`);
} else {
  test('rip starts before its links have carrier and converges once they come up', async () => {
    await withRipLine(
      {
        beforeEngine: async ({ lab, left, right }) => {
          await lab.setLink('frr', left.a.ifname, false);
          await lab.setLink('bird', right.b.ifname, false);
        },
      },
      async (line) => {
        const { lab, left, right, engine } = line;
        const before = await engine.cli('show', 'rip');
        assert.match(before, new RegExp(`${left.b.ifname}\\s+\\S+\\s+rip, multicast, down`), `eth0 shown as down:\n${before}`);
        assert.match(before, new RegExp(`${right.a.ifname}\\s+\\S+\\s+rip, multicast, down`), `eth1 shown as down:\n${before}`);
        assert.not.match(before, /R\s+10\.10\.1\.0\/24/, 'nothing learned while the links are down');

        const upAt = Date.now();
        await lab.setLink('frr', left.a.ifname, true);
        await lab.setLink('bird', right.b.ifname, true);
        const converged = await converge(line);
        console.log(`  after the links came up: ${converged}`);
        const shown = await waitFor(
          async () => {
            const s = await engine.cli('show', 'rip');
            return /rip, multicast\n/.test(s) && !/rip, multicast, down/.test(s) && s;
          },
          { what: 'show rip to list both links as up', timeoutMs: 5000 },
        );
        assert.match(shown, /R\s+10\.20\.1\.0\/24\s+10\.0\.2\.2/);
        console.log(`  converged ${Date.now() - upAt} ms after the links came up`);
        const ping = await lab.ping('frr', line.birdStub.addr, { count: 10, intervalMs: 50, source: line.frrStub.addr });
        assert.is(ping.lost, 0, `ping FRR stub → BIRD stub across our router: ${ping.raw}`);
      },
    );
  });
}

test.run();
