// Keyed MD5 between BIRD (`authentication cryptographic`, `algorithm keyed md5`) and our router
// on their link, with a key rollover during upgrades: our key chain sends with key 1 until a
// moment a few seconds after the start and with key 2 from then on (BIRD accepts both), and
// the router is upgraded 0.0.1 → 0.0.2 just before that moment and → 0.0.3 after it. No route
// and no ping across our router is lost. Needs root, netns, FRR and BIRD; otherwise skipped.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { netnsAvailable, sleep } from './support/netns/index.js';
import { converge, withRipLine } from './support/netns/rip-line.js';
import { skipBecause } from './support/skip.js';
import { waitFor } from './support/wait-for.js';

const avail = netnsAvailable();
/**
 * Seconds after the engine's configuration is written at which our chain switches to key 2: the
 * line must have started and converged before it (a start took 25 s at load average 18).
 */
const ROLLOVER_AFTER_S = 40;

if (!avail.ok) {
  skipBecause(test, 'rip md5 with BIRD and a key rollover', `${avail.reason} (it needs root, network namespaces, frr and bird2)`);
} else {
  test('keyed MD5 with BIRD: routes both ways; a key rollover between two upgrades loses no route and no ping', async () => {
    const rollover = Math.floor(Date.now() / 1000) + ROLLOVER_AFTER_S;
    await withRipLine(
      {
        bird: {
          extraInterfaceConfig: [
            'authentication cryptographic;',
            'password "bird-key-1" { id 1; algorithm keyed md5; };',
            'password "bird-key-2" { id 2; algorithm keyed md5; };',
          ],
        },
        settings: {
          interfaces: { eth1: { auth: 'md5', keyChain: 'bird' } },
          keyChains: { bird: { '1': { secret: 'bird-key-1', sendUntil: rollover }, '2': { secret: 'bird-key-2', sendFrom: rollover } } },
        },
      },
      async (line) => {
        const { lab, engine, frrStub, birdStub, ripStub } = line;
        console.log(`  converged: ${await converge(line)}`);
        const first = await engine.cli('show', 'rip');
        assert.match(first, /eth1\s+10\.0\.2\.0\/24\s+rip, multicast, md5 \(key chain bird, sending key 1\)\n/);

        const ping = lab.startPing('frr', birdStub.addr, { intervalMs: 50, source: frrStub.addr, maxDurationMs: 120_000 });
        const missing: string[] = [];
        let watching = true;
        const watcher = (async () => {
          while (watching) {
            for (const [host, prefix] of [
              ['bird', ripStub.subnet],
              ['bird', frrStub.subnet],
              ['rip', birdStub.subnet],
              ['frr', birdStub.subnet],
            ] as const) {
              if (!(await lab.route(host, prefix))) missing.push(`${host} lost ${prefix}`);
            }
            await sleep(100);
          }
        })();
        // Upgrade shortly before the rollover, then after it.
        const beforeRollover = rollover * 1000 - 3000 - Date.now();
        if (beforeRollover > 0) await sleep(beforeRollover);
        const up2 = await engine.cli('upgrade', 'rip', '0.0.2');
        assert.match(up2, 'rip: 0.0.1 -> 0.0.2 ok');
        const rolled = await waitFor(
          async () => {
            const s = await engine.cli('show', 'rip');
            return /sending key 2/.test(s) && s;
          },
          { what: 'our router to send with key 2', timeoutMs: 10_000 },
        );
        assert.match(rolled, 'Module version = 0.0.2');
        const up3 = await engine.cli('upgrade', 'rip', '0.0.3');
        assert.match(up3, 'rip: 0.0.2 -> 0.0.3 ok');
        // An observation window, not a threshold: several BIRD updates (1 s) and one of FRR's (5 s)
        // with key 2 only, while the watcher and the ping look for any loss.
        await sleep(6000);
        const pinged = await ping.stop();
        watching = false;
        await watcher;
        console.log(`  across the rollover and two upgrades: ${pinged.sent} pings, ${pinged.lost} lost; ${missing.length} route losses`);
        assert.is(pinged.lost, 0, `no ping lost (lost seqs ${pinged.lostSeqs.join(',')})`);
        assert.equal(missing, [], 'no route lost');
        const birdLog = readFileSync(join(line.bird.dir, 'bird.log'), 'utf8');
        assert.not.match(birdLog, /Authentication failed/, 'BIRD accepted every datagram of ours, with either key');
      },
    );
  });
}

test.run();
