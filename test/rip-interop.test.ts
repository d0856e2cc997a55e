// The paper's demo for real, part 1: our RIPv2 router (assembly/examples/rip) runs in a real
// engine process between FRR ripd and BIRD 2, in network namespaces:
//
//   stub 10.10.1.0/24 [frr] eth0 —10.0.1.0/24— eth0 [rip] eth1 —10.0.2.0/24— eth0 [bird] stub 10.20.1.0/24
//                                                 stub 10.30.1.0/24 (only our router has it)
//
// Passes when both daemons install 10.30.1.0/24, our router installs both of theirs, FRR learns
// BIRD's prefix through us, ping crosses us, and upgrading 0.0.1 → 0.0.2 → 0.0.3 with the real
// CLI loses no neighbour route and no ping. Needs root, netns, FRR and BIRD; otherwise it is
// skipped and says why (HOTSWAP_TEST_HIDE_TOOLS=ripd,bird shows that path on a full machine).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type EngineInstance, Lab, netnsAvailable, sleep, sweepStaleLabs } from './support/netns/index.js';
import { skipBecause } from './support/skip.js';
import { waitFor } from './support/wait-for.js';

const avail = netnsAvailable();
const FAST = { update: 1, timeout: 15, garbage: 10, triggeredMin: 0.2, triggeredMax: 0.5 };

if (!avail.ok) {
  skipBecause(test, 'rip interop with FRR and BIRD', `${avail.reason} (it needs root, network namespaces, frr and bird2)`);
} else {
  test('rip router interoperates with FRR and BIRD and upgrades 0.0.1 → 0.0.2 → 0.0.3 without losing a route or a ping', async () => {
    sweepStaleLabs();
    const lab = new Lab();
    let engine: EngineInstance | undefined;
    try {
      await Promise.all(['frr', 'rip', 'bird'].map((h) => lab.host(h)));
      const left = await lab.link('frr', 'rip', '10.0.1.0/24');
      const right = await lab.link('rip', 'bird', '10.0.2.0/24');
      const frrStub = await lab.stub('frr', '10.10.1.0/24');
      const birdStub = await lab.stub('bird', '10.20.1.0/24');
      const ripStub = await lab.stub('rip', '10.30.1.0/24');

      const [frr, bird] = await Promise.all([
        lab.startFrrRip('frr', { networks: [left.subnet], redistributeConnected: true }),
        lab.startBirdRip('bird', { interfaces: [right.b.ifname], directInterfaces: [birdStub.ifname] }),
      ]);
      engine = await lab.startEngine('rip', {
        config: {
          logLevel: 'info',
          control: { host: '127.0.0.1', port: 7070 },
          components: [
            {
              name: 'rip',
              module: 'rip',
              version: '0.0.1',
              capabilities: {
                net: { interfaces: [left.b.ifname, right.a.ifname] },
                routes: { protocol: 'rip' },
                settings: { ...FAST, filterIn: '10.99.0.0/16' },
              },
            },
          ],
        },
      });

      // Learning in every direction.
      const learned = await Promise.all([
        lab.waitForRoute('frr', ripStub.subnet, 20_000, { via: left.b.addr, protocol: 'rip' }),
        lab.waitForRoute('bird', ripStub.subnet, 20_000, { via: right.a.addr, protocol: 'bird' }),
        lab.waitForRoute('rip', frrStub.subnet, 20_000, { via: left.a.addr, protocol: 'rip' }),
        lab.waitForRoute('rip', birdStub.subnet, 20_000, { via: right.b.addr, protocol: 'rip' }),
        lab.waitForRoute('frr', birdStub.subnet, 20_000, { via: left.b.addr, protocol: 'rip' }),
        lab.waitForRoute('bird', frrStub.subnet, 20_000, { via: right.a.addr, protocol: 'bird' }),
      ]);
      const what = [
        'FRR has our 10.30.1.0/24',
        'BIRD has our 10.30.1.0/24',
        "we have FRR's 10.10.1.0/24",
        "we have BIRD's 10.20.1.0/24",
        "FRR has BIRD's 10.20.1.0/24 through us",
        "BIRD has FRR's 10.10.1.0/24 through us",
      ];
      for (const [i, r] of learned.entries()) assert.ok(r.route, `${what[i]} (route: ${JSON.stringify(r.route)})`);
      console.log(`  converged: ${learned.map((r, i) => `${what[i]} after ${r.elapsedMs} ms`).join('; ')}`);

      const first = await lab.ping('frr', birdStub.addr, { count: 10, intervalMs: 50, source: frrStub.addr });
      assert.is(first.lost, 0, `ping FRR stub → BIRD stub across our router: ${first.raw}`);

      // RFC 2453 §3.9.2 input checks, with real datagrams from FRR's namespace. Each one
      // advertises 10.77.0.0/16, which must never be installed.
      const rejectedBefore = rejectedCount(await engine.cli('show', 'rip'));
      const entry = '0002 0000 0a4d0000 ffff0000 00000000 00000001'; // AFI 2, 10.77.0.0/16, metric 1
      const hostile = [
        { from: 5555, hex: `0202 0000 ${entry}` }, // a response from a port other than 520
        { from: 520, hex: `0201 0000 ${entry}` }, // RIPv1
        { from: 520, hex: `0202 0001 ${entry}` }, // non-zero must-be-zero header field
        { from: 520, hex: `0202 0000 ffff 0002 ${'00'.repeat(16)} ${entry}` }, // an authentication entry, none configured
      ];
      await lab.exec('frr', process.execPath, [
        '-e',
        `
        const dgram = require('node:dgram');
        const packets = ${JSON.stringify(hostile)};
        (async () => {
          for (const p of packets) {
            const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
            await new Promise((r) => s.bind(p.from, '${left.a.addr}', r));
            await new Promise((r) => s.send(Buffer.from(p.hex.replace(/ /g, ''), 'hex'), 520, '${left.b.addr}', r));
            s.close();
          }
        })();`,
      ]);
      const afterHostile = await waitFor(
        async () => {
          const shown = await engine!.cli('show', 'rip');
          return rejectedCount(shown) >= rejectedBefore + hostile.length && shown;
        },
        { what: `the rejected counter to pass ${rejectedBefore} + ${hostile.length} (every malformed datagram rejected)` },
      );
      console.log(`  malformed datagrams: rejected counter ${rejectedBefore} → ${rejectedCount(afterHostile)}`);
      assert.not.match(afterHostile, /10\.77\.0\.0\/16/, 'nothing from a malformed datagram entered the table');
      assert.not.ok(
        (await lab.routes('rip')).some((r) => r.dst === '10.77.0.0/16'),
        'nor the kernel',
      );

      const shown1 = await engine.cli('show', 'rip');
      assert.match(shown1, 'Routing Protocol is "rip"');
      assert.match(shown1, 'Module version = 0.0.1');
      assert.match(shown1, /Sending updates every 1 seconds with \+\/-50%, next due in \d+ seconds/);
      assert.match(shown1, 'Timeout after 15 seconds, garbage collect after 10 seconds');
      assert.match(shown1, 'Incoming update filter list for all interface is not set');
      assert.match(shown1, 'Default redistribution metric is 1');
      assert.match(shown1, /R\s+10\.20\.1\.0\/24\s+10\.0\.2\.2/);

      // Watch the neighbours' tables and a 20/s ping while upgrading twice with the real CLI.
      const watched: [string, string][] = [
        ['frr', ripStub.subnet],
        ['frr', birdStub.subnet],
        ['bird', ripStub.subnet],
        ['bird', frrStub.subnet],
        ['rip', frrStub.subnet],
        ['rip', birdStub.subnet],
      ];
      const missing: string[] = [];
      let watching = true;
      const watcher = (async () => {
        for (let n = 0; watching && n < 1000; n++) {
          for (const [host, prefix] of watched) {
            if (!(await lab.route(host, prefix))) missing.push(`${host} lost ${prefix} at poll ${n}`);
          }
          await sleep(100);
        }
      })();
      const ping = lab.startPing('frr', birdStub.addr, { intervalMs: 50, source: frrStub.addr, maxDurationMs: 60_000 });
      // Traffic crosses us before each upgrade: 20 more echo replies (about 1 s at 20/s).
      const moreReplies = (n: number, what: string) => {
        const seen = ping.replies.length;
        return waitFor(() => ping.replies.length >= seen + n, { what: `${n} more ping replies ${what}`, timeoutMs: 10_000 });
      };
      await moreReplies(20, 'before the upgrade to 0.0.2');
      const up2 = await engine.cli('upgrade', 'rip', '0.0.2');
      assert.match(up2, 'rip: 0.0.1 -> 0.0.2 ok');
      const shown2 = await engine.cli('show', 'rip');
      assert.match(shown2, 'Module version = 0.0.2');
      assert.match(shown2, 'Incoming update filter list for all interface is deny 10.99.0.0/16');
      assert.match(shown2, /R\s+10\.10\.1\.0\/24\s+10\.0\.1\.1/, 'the routing table survived the swap');
      await moreReplies(20, 'before the upgrade to 0.0.3');
      const up3 = await engine.cli('upgrade', 'rip', '0.0.3');
      assert.match(up3, 'rip: 0.0.2 -> 0.0.3 ok');
      assert.match(up3, 'data layout: 1 -> 2');
      const shown3 = await engine.cli('show', 'rip');
      assert.match(shown3, 'Module version = 0.0.3');
      assert.match(shown3, /Iface\s+Uptime/);
      assert.match(shown3, /R\s+10\.20\.1\.0\/24\s+10\.0\.2\.2\s+2\s/, 'migrated records keep next hop and metric');
      // An observation window, not a threshold: longer than FRR's 5 s update interval, so the
      // neighbours have heard from 0.0.3 while the watcher and the ping look for any loss.
      await sleep(6000);
      const pinged = await ping.stop();
      watching = false;
      await watcher;
      console.log(`  during the upgrades: ${pinged.sent} pings sent, ${pinged.lost} lost; ${missing.length} route losses seen`);
      assert.ok(pinged.sent >= 150, `ping ran (${pinged.sent} sent)`);
      assert.is(pinged.lost, 0, `no ping lost across the upgrades (lost seqs ${pinged.lostSeqs.join(',')})`);
      assert.equal(missing, [], 'no neighbour lost a route');

      // Clean shutdown: poison and withdraw. FRR and BIRD drop our prefix well before their timeout.
      const stoppedAt = Date.now();
      await engine.stop();
      const gone = await Promise.all([
        lab.waitForRoute('frr', ripStub.subnet, 5000, { absent: true }),
        lab.waitForRoute('bird', ripStub.subnet, 5000, { absent: true }),
      ]);
      const leftover = (await lab.routes('rip')).filter((r) => r.protocol === 'rip');
      console.log(
        `  after a clean stop: FRR dropped our prefix after ${gone[0].elapsedMs} ms, BIRD after ${gone[1].elapsedMs} ms (stop took ${Date.now() - stoppedAt} ms)`,
      );
      assert.equal(leftover, [], 'our router withdrew its kernel routes');
      assert.not.ok(gone[0].route, 'FRR dropped our prefix after the poison');
      assert.not.ok(gone[1].route, 'BIRD dropped our prefix after the poison');
      void frr;
      void bird;
    } catch (e) {
      if (engine) console.log(`  engine log:\n${engine.proc.log()}`);
      throw e;
    } finally {
      await lab.cleanup();
    }
  });
}

test.run();

/** The `rejected` counter of `hotswap show rip`. */
function rejectedCount(shown: string): number {
  const m = /(\d+) rejected/.exec(shown);
  if (!m) throw new Error(`no rejected counter in:\n${shown}`);
  return Number(m[1]);
}
