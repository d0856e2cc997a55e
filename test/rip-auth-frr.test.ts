// Keyed-MD5 authentication (RFC 2082) between FRR (`ip rip authentication mode md5` with a key
// chain) and our router on their link: routes are learned both ways, a datagram without
// authentication is dropped and counted, one of FRR's own datagrams replayed after a later one
// was accepted is dropped for its sequence number and counted, and a ping crossing our router
// loses nothing across an upgrade. Needs root, netns, FRR and BIRD; otherwise skipped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { netnsAvailable } from './support/netns/index.js';
import {
  authFailures,
  converge,
  lastSequence,
  outOfSequence,
  sendRawRip,
  upgradeUnderPing,
  withRipLine,
} from './support/netns/rip-line.js';
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

        // A replay: one of FRR's authenticated responses as it was on the wire (a listener in our
        // namespace hears the group too), sent again from FRR's address once we accepted a later
        // number. Its digest is right; only its sequence number gives it away.
        const listener = lab.startRipListener('rip', [left.b.addr], { maxDurationMs: 60_000 });
        await listener.ready;
        const isAuthResponse = (b: Buffer): boolean => b.length > 24 && b[0] === 2 && b.readUInt16BE(4) === 0xffff;
        const captured = await waitFor(() => listener.received.find((d) => d.from === left.a.addr && isAuthResponse(d.data)), {
          what: 'an authenticated response from FRR',
          timeoutMs: 15_000,
        }).finally(() => listener.stop());
        const oldSeq = captured.data.readUInt32BE(12);
        const later = await waitFor(
          async () => {
            const s = await engine.cli('show', 'rip');
            return (lastSequence(s, left.a.addr, 1) ?? 0) > oldSeq && s;
          },
          { what: `a sequence number above ${oldSeq} accepted from FRR`, timeoutMs: 20_000 },
        );
        const dropsBefore = outOfSequence(later);
        await sendRawRip(lab, 'frr', left.a.addr, 520, left.b.addr, captured.data.toString('hex'));
        const replayed = await waitFor(
          async () => {
            const s = await engine.cli('show', 'rip');
            return outOfSequence(s) > dropsBefore && s;
          },
          { what: 'the replayed datagram to be counted out of sequence', timeoutMs: 5000 },
        );
        console.log(
          `  replayed FRR datagram (sequence ${oldSeq}, ${lastSequence(later, left.a.addr, 1)} accepted since): ` +
            `out-of-sequence counter ${dropsBefore} → ${outOfSequence(replayed)}`,
        );
        assert.is(authFailures(replayed), authFailures(after), 'its digest was right: not an authentication failure');

        const result = await upgradeUnderPing(line, ['0.0.2']);
        console.log(`  across the upgrade: ${result.sent} pings, ${result.lost} lost`);
        assert.is(result.lost, 0, `no ping lost (lost seqs ${result.lostSeqs.join(',')})`);
        await converge(line, 2000);
      },
    );
  });
}

test.run();
