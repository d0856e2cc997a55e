// HMAC-SHA-256 authentication (RFC 4822) between BIRD (`authentication cryptographic`,
// `algorithm hmac sha256`) and our router on their link: routes are learned both ways, BIRD
// accepts every datagram of ours, and a ping crossing our router loses nothing across an
// upgrade. Needs root, netns, FRR and BIRD; otherwise skipped.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { netnsAvailable } from './support/netns/index.js';
import { converge, upgradeUnderPing, withRipLine } from './support/netns/rip-line.js';
import { skipBecause } from './support/skip.js';

const avail = netnsAvailable();

if (!avail.ok) {
  skipBecause(test, 'rip hmac-sha256 with BIRD', `${avail.reason} (it needs root, network namespaces, frr and bird2)`);
} else {
  test('HMAC-SHA-256 with BIRD: routes both ways, no ping lost across an upgrade', async () => {
    await withRipLine(
      {
        bird: {
          extraInterfaceConfig: [
            'authentication cryptographic;',
            // Longer than SHA-256's 64-byte block, so the key is hashed first (RFC 2104).
            `password "${'k'.repeat(70)}" { id 7; algorithm hmac sha256; };`,
          ],
        },
        settings: {
          interfaces: { eth1: { auth: 'sha256', keyChain: 'bird' } },
          keyChains: { bird: { '7': { secret: 'k'.repeat(70) } } },
        },
      },
      async (line) => {
        console.log(`  converged: ${await converge(line)}`);
        const shown = await line.engine.cli('show', 'rip');
        assert.match(shown, /eth1\s+10\.0\.2\.0\/24\s+rip, multicast, sha256 \(key chain bird, sending key 7\)\n/);
        const result = await upgradeUnderPing(line, ['0.0.2']);
        console.log(`  across the upgrade: ${result.sent} pings, ${result.lost} lost`);
        assert.is(result.lost, 0, `no ping lost (lost seqs ${result.lostSeqs.join(',')})`);
        const birdLog = readFileSync(join(line.bird.dir, 'bird.log'), 'utf8');
        assert.not.match(birdLog, /Authentication failed/, 'BIRD accepted every datagram of ours');
      },
    );
  });
}

test.run();
