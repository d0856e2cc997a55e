// FRR with `passive-interface` and `neighbor` (no multicast from FRR; it sends its updates by
// unicast to us), our router sending by unicast to FRR on that link (send mode `unicast`):
// routes are learned both ways, and a ping crossing our router loses nothing across an upgrade.
// Needs root, netns, FRR and BIRD; otherwise skipped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { netnsAvailable } from './support/netns/index.js';
import { converge, upgradeUnderPing, withRipLine } from './support/netns/rip-line.js';
import { skipBecause } from './support/skip.js';

const avail = netnsAvailable();

if (!avail.ok) {
  skipBecause(test, 'rip with FRR passive-interface + neighbor', `${avail.reason} (it needs root, network namespaces, frr and bird2)`);
} else {
  test('FRR passive-interface + neighbor, our router in unicast mode: routes both ways, no ping lost across an upgrade', async () => {
    await withRipLine(
      {
        frr: { passiveInterfaces: ['eth0'], neighbors: ['10.0.1.2'] },
        settings: { interfaces: { eth0: { send: 'unicast', neighbors: ['10.0.1.1'] } } },
      },
      async (line) => {
        const { engine } = line;
        console.log(`  converged: ${await converge(line)}`);
        const shown = await engine.cli('show', 'rip');
        assert.match(shown, /eth0\s+10\.0\.1\.0\/24\s+rip, unicast \+ neighbors 10\.0\.1\.1\n/);
        const result = await upgradeUnderPing(line, ['0.0.2']);
        assert.match(result.upgrades[0]!, 'rip: 0.0.1 -> 0.0.2 ok');
        console.log(`  across the upgrade: ${result.sent} pings, ${result.lost} lost`);
        assert.is(result.lost, 0, `no ping lost (lost seqs ${result.lostSeqs.join(',')})`);
        await converge(line, 2000);
      },
    );
  });
}

test.run();
