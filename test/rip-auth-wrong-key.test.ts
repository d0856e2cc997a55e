// Keyed MD5 with the wrong key on both links (FRR and BIRD use other secrets than ours): nothing
// either of them advertises is installed, neither learns our prefix, and `show` counts the
// dropped datagrams. Needs root, netns, FRR and BIRD; otherwise skipped.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { netnsAvailable, sleep } from './support/netns/index.js';
import { authFailures, withRipLine } from './support/netns/rip-line.js';
import { skipBecause } from './support/skip.js';
import { waitFor } from './support/wait-for.js';

const avail = netnsAvailable();

if (!avail.ok) {
  skipBecause(test, 'rip md5 with a wrong key', `${avail.reason} (it needs root, network namespaces, frr and bird2)`);
} else {
  test('keyed MD5 with a wrong key: nothing installed, the drop counter rises', async () => {
    await withRipLine(
      {
        frr: {
          extraConfig: [
            'key chain ripkeys',
            ' key 1',
            '  key-string not-our-secret',
            ' exit',
            'exit',
            'interface eth0',
            ' ip rip authentication mode md5',
            ' ip rip authentication key-chain ripkeys',
            'exit',
          ],
        },
        bird: { extraInterfaceConfig: ['authentication cryptographic;', 'password "not-our-secret" { id 1; algorithm keyed md5; };'] },
        settings: {
          interfaces: { eth0: { auth: 'md5', keyChain: 'k' }, eth1: { auth: 'md5', keyChain: 'k' } },
          keyChains: { k: { '1': { secret: 'our-secret' } } },
        },
      },
      async (line) => {
        const { lab, engine, frrStub, birdStub, ripStub } = line;
        // Both neighbours' updates arrive and are dropped: FRR's every 5 s, BIRD's every second.
        const shown = await waitFor(
          async () => {
            const s = await engine.cli('show', 'rip');
            return authFailures(s) >= 3 && s;
          },
          { what: 'three datagrams to fail authentication', timeoutMs: 15_000 },
        );
        console.log(`  authentication failures counted: ${authFailures(shown)}`);
        // An observation window, not a threshold: one FRR update interval more, for anything to slip through.
        await sleep(6000);
        const ours = await lab.routes('rip');
        assert.not.ok(
          ours.some((r) => r.protocol === 'rip'),
          `no route installed: ${JSON.stringify(ours.filter((r) => r.protocol === 'rip'))}`,
        );
        assert.not.ok(await lab.route('frr', ripStub.subnet), 'FRR did not learn our prefix');
        assert.not.ok(await lab.route('bird', ripStub.subnet), 'BIRD did not learn our prefix');
        const last = await engine.cli('show', 'rip');
        assert.not.match(last, new RegExp(`R\\s+(${frrStub.subnet}|${birdStub.subnet})`.replace(/\./g, '\\.')), 'nor our table');
        assert.ok(authFailures(last) > authFailures(shown), 'the counter keeps rising');
        // The other way round: BIRD rejects ours (the same log line rip-auth-bird checks is absent).
        assert.match(readFileSync(join(line.bird.dir, 'bird.log'), 'utf8'), /Authentication failed/);
      },
    );
  });
}

test.run();
