// Keyed-MD5 authentication (RFC 2082) between FRR (`ip rip authentication mode md5` with a key
// chain) and our router on their link: routes are learned both ways, a datagram without
// authentication is dropped and counted, and a ping crossing our router loses nothing across an
// upgrade. Needs root, netns, FRR and BIRD; otherwise skipped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { netnsAvailable } from './support/netns/index.js';
import { authFailures, converge, sendRawRip, upgradeUnderPing, withRipLine } from './support/netns/rip-line.js';
import { skipBecause } from './support/skip.js';
import { waitFor } from './support/wait-for.js';

const avail = netnsAvailable();

if (!avail.ok) {
  skipBecause(test, 'rip md5 with FRR', `${avail.reason} (it needs root, network namespaces, frr and bird2)`);
} else {
  test('keyed MD5 with FRR: routes both ways, an unauthenticated datagram dropped and counted, no ping lost across an upgrade', async () => {
    await withRipLine(
      {
        frr: {
          extraConfig: [
            'key chain ripkeys',
            ' key 1',
            '  key-string frr-secret',
            ' exit',
            'exit',
            'interface eth0',
            ' ip rip authentication mode md5',
            ' ip rip authentication key-chain ripkeys',
            'exit',
          ],
        },
        settings: {
          interfaces: { eth0: { auth: 'md5', keyChain: 'frr' } },
          keyChains: { frr: { '1': { secret: 'frr-secret' } } },
        },
      },
      async (line) => {
        const { lab, left, engine } = line;
        console.log(`  converged: ${await converge(line)}`);
        const shown = await engine.cli('show', 'rip');
        assert.match(shown, /eth0\s+10\.0\.1\.0\/24\s+rip, multicast, md5 \(key chain frr, sending key 1\)\n/);
        const before = authFailures(shown);

        // A plain RIPv2 response from FRR's address (port 520) advertising 10.77.0.0/16.
        await sendRawRip(lab, 'frr', left.a.addr, 520, left.b.addr, '0202 0000 0002 0000 0a4d0000 ffff0000 00000000 00000001');
        const after = await waitFor(
          async () => {
            const s = await engine.cli('show', 'rip');
            return authFailures(s) > before && s;
          },
          { what: 'the authentication failure counter to rise', timeoutMs: 5000 },
        );
        console.log(`  unauthenticated datagram: failure counter ${before} → ${authFailures(after)}`);
        assert.not.match(after, /10\.77\.0\.0\/16/, 'nothing from it entered the table');

        const result = await upgradeUnderPing(line, ['0.0.2']);
        console.log(`  across the upgrade: ${result.sent} pings, ${result.lost} lost`);
        assert.is(result.lost, 0, `no ping lost (lost seqs ${result.lostSeqs.join(',')})`);
        await converge(line, 2000);
      },
    );
  });
}

test.run();
