/**
 * Smoke test for the namespace lab in test/support/netns/ (a script, not a uvu test):
 *
 *   node --import tsx test/support/netns-smoke.ts
 *
 * Topology:  stub 10.10.1.0/24 — [frr] —(10.0.1.0/24)— [bird] — stub 10.20.1.0/24
 *
 * Proves that FRR ripd and BIRD learn each other's stub prefix into the kernel
 * table, that traffic flows stub to stub, that a Node socket inside a
 * namespace receives both daemons' multicast updates, and prints the RIPv2
 * packets both daemons send. Exits 0 on success, 1 on failure, 2 when the
 * machine cannot run the lab. Always cleans up.
 */
import { Lab, netnsAvailable, parseRipPacket, sweepStaleLabs, type UdpDatagram } from './netns/index.js';

const avail = netnsAvailable();
if (!avail.ok) {
  console.error(`netns lab unavailable: ${avail.reason}`);
  process.exit(2);
}
const stale = sweepStaleLabs();
if (stale.length) console.log(`removed stale namespaces: ${stale.join(', ')}`);

const t = (start: number): string => `${((Date.now() - start) / 1000).toFixed(2)} s`;
const failures: string[] = [];
function check(cond: boolean, what: string): void {
  console.log(`${cond ? 'PASS' : 'FAIL'}  ${what}`);
  if (!cond) failures.push(what);
}

function describeRip(d: UdpDatagram): string {
  const p = parseRipPacket(d.data);
  const head = `${d.from}:${d.port} cmd=${p.command} v${p.version} mbz=${p.mbz}${p.auth ? ` AUTH type ${p.auth.type}` : ''}`;
  const entries = p.entries.map((e) => `    afi=${e.afi} tag=${e.routeTag} ${e.prefix}/${e.mask} nh=${e.nextHop} metric=${e.metric}`);
  return [head, `    hex ${d.data.toString('hex')}`, ...entries].join('\n');
}

const lab = new Lab({ log: (m) => console.log(`  [lab] ${m}`) });
const t0 = Date.now();
try {
  await lab.host('frr');
  await lab.host('bird');
  const core = await lab.link('frr', 'bird', '10.0.1.0/24');
  const frrStub = await lab.stub('frr', '10.10.1.0/24');
  const birdStub = await lab.stub('bird', '10.20.1.0/24');
  console.log(`topology ready in ${t(t0)}`);

  // Watch the wire and listen with Node sockets, set up as the engine will be.
  const capFrrSide = lab.startCapture('frr', core.a.ifname, { maxDurationMs: 60_000 });
  const capBirdSide = lab.startCapture('bird', core.b.ifname, { maxDurationMs: 60_000 });
  // Listener inside the BIRD namespace hears FRR's multicast and vice versa.
  // Started before the daemons: they must coexist on port 520 via SO_REUSEADDR.
  const hearFrr = lab.startRipListener('bird', [core.b.addr], { maxDurationMs: 60_000 });
  const hearBird = lab.startRipListener('frr', [core.a.addr], { maxDurationMs: 60_000 });
  await Promise.all([hearFrr.ready, hearBird.ready]);

  const tStart = Date.now();
  const frr = await lab.startFrrRip('frr', {
    networks: [core.subnet],
    redistributeConnected: true,
    timers: { update: 5, timeout: 15, garbage: 10 },
  });
  const bird = await lab.startBirdRip('bird', {
    interfaces: [core.b.ifname],
    directInterfaces: [birdStub.ifname, core.b.ifname],
  });
  console.log(`daemons started in ${t(tStart)}`);

  const tWait = Date.now();
  const [inFrr, inBird] = await Promise.all([
    lab.waitForRoute('frr', birdStub.subnet, 20_000, { via: core.b.addr }),
    lab.waitForRoute('bird', frrStub.subnet, 20_000, { via: core.a.addr }),
  ]);
  const base = tWait - tStart; // startup time of the daemons themselves
  console.log(
    `CONVERGENCE (ms from launching zebra): FRR learned ${birdStub.subnet} at ${base + inFrr.elapsedMs} ` +
      `(proto ${inFrr.route?.protocol}, metric ${inFrr.route?.metric}); ` +
      `BIRD learned ${frrStub.subnet} at ${base + inBird.elapsedMs} (proto ${inBird.route?.protocol}, metric ${inBird.route?.metric}); ` +
      `daemons were up after ${base}`,
  );
  check(inFrr.route?.protocol === 'rip', `FRR installed ${birdStub.subnet} via ${core.b.addr} as proto rip`);
  check(inBird.route?.protocol === 'bird', `BIRD installed ${frrStub.subnet} via ${core.a.addr} as proto bird`);

  // Stub to stub across both routers.
  const ping = await lab.ping('frr', birdStub.addr, { count: 20, intervalMs: 50, source: frrStub.addr });
  console.log(
    `ping ${frrStub.addr} -> ${birdStub.addr}: sent ${ping.sent} received ${ping.received} lost ${ping.lost} ` +
      `rtt ${ping.rtt?.min}/${ping.rtt?.avg}/${ping.rtt?.max} ms`,
  );
  check(ping.sent === 20 && ping.lost === 0, '20 pings stub to stub, none lost');

  // Background ping across a link flap: the streaming variant must see the loss.
  const stream = lab.startPing('bird', frrStub.addr, { intervalMs: 20, source: birdStub.addr });
  await new Promise((r) => setTimeout(r, 500));
  await lab.setLink('frr', core.a.ifname, false);
  await new Promise((r) => setTimeout(r, 300));
  await lab.setLink('frr', core.a.ifname, true);
  await new Promise((r) => setTimeout(r, 700));
  const streamed = await stream.stop();
  console.log(
    `streamed ping over a 300 ms link flap: sent ${streamed.sent} received ${streamed.received} lost ${streamed.lost} ` +
      `outages ${JSON.stringify(streamed.outages.map((o) => [o.fromSeq, o.toSeq]))} max ${streamed.maxOutageMs} ms`,
  );
  check(streamed.sent > 50 && streamed.lost > 0 && streamed.received > 0, 'streaming ping counts sent/lost across a link flap');
  // The link flap flushed the routes through eth0; both must come back.
  const back = await Promise.all([
    lab.waitForRoute('frr', birdStub.subnet, 20_000, { via: core.b.addr }),
    lab.waitForRoute('bird', frrStub.subnet, 20_000, { via: core.a.addr }),
  ]);
  console.log(
    `after the flap: FRR has ${birdStub.subnet} after ${back[0].elapsedMs} ms, BIRD has ${frrStub.subnet} after ${back[1].elapsedMs} ms`,
  );

  // Wait until each listener has a full response from the other daemon.
  const deadline = Date.now() + 15_000;
  const isResp = (d: UdpDatagram, from: string): boolean => d.from === from && d.data[0] === 2;
  while (
    Date.now() < deadline &&
    !(hearFrr.received.some((d) => isResp(d, core.a.addr)) && hearBird.received.some((d) => isResp(d, core.b.addr)))
  ) {
    await new Promise((r) => setTimeout(r, 200));
  }
  // Watch FRR's periodic updates for a while: their spacing (jitter) matters for neighbour timeouts.
  const watchUntil = Date.now() + Number(process.env.NETNS_SMOKE_WATCH_MS ?? 0);
  while (Date.now() < watchUntil) await new Promise((r) => setTimeout(r, 200));
  const fromFrr = (await hearFrr.stop()).filter((d) => d.from === core.a.addr);
  const fromBird = (await hearBird.stop()).filter((d) => d.from === core.b.addr);
  check(
    fromFrr.some((d) => d.data[0] === 2),
    `Node socket in netns received FRR responses (${fromFrr.length} datagrams)`,
  );
  check(
    fromBird.some((d) => d.data[0] === 2),
    `Node socket in netns received BIRD responses (${fromBird.length} datagrams)`,
  );
  const gaps = (ds: UdpDatagram[]): number[] => {
    const m = ds.filter((d) => d.data[0] === 2).map((d) => d.at);
    return m.slice(1).map((at, i) => at - m[i]!);
  };
  console.log(`FRR response spacing (ms): ${gaps(fromFrr).join(', ')}`);
  console.log(`BIRD response spacing (ms): ${gaps(fromBird).join(', ')}`);
  const firstFrr = fromFrr.find((d) => d.data[0] === 2);
  const firstBird = fromBird.find((d) => d.data[0] === 2);
  const firstFrrReq = fromFrr.find((d) => d.data[0] === 1);
  const firstBirdReq = fromBird.find((d) => d.data[0] === 1);
  if (firstFrr) console.log(`FRR response:\n${describeRip(firstFrr)}`);
  if (firstFrrReq) console.log(`FRR request:\n${describeRip(firstFrrReq)}`);
  if (firstBird) console.log(`BIRD response:\n${describeRip(firstBird)}`);
  if (firstBirdReq) console.log(`BIRD request:\n${describeRip(firstBirdReq)}`);

  const dumpFrrSide = await capFrrSide.stop();
  const dumpBirdSide = await capBirdSide.stop();
  const ipHeaders = (dump: string, src: string): string[] =>
    dump
      .split('\n')
      .map((l, i, all) =>
        l.includes(' IP (tos') && (all[i + 1] ?? '').includes(`${src}.520 >`) ? `${l.trim()} | ${(all[i + 1] ?? '').trim()}` : '',
      )
      .filter(Boolean);
  console.log(`IP header of an FRR packet:  ${ipHeaders(dumpBirdSide, core.a.addr)[0] ?? '(none captured)'}`);
  console.log(`IP header of a BIRD packet:  ${ipHeaders(dumpFrrSide, core.b.addr)[0] ?? '(none captured)'}`);

  console.log(`ripd view:\n${await frr.vtysh('show ip rip')}`);
  console.log(`bird view:\n${await bird.birdc('show', 'route')}`);
} catch (err) {
  failures.push(String(err instanceof Error ? err.stack : err));
  console.error(err);
} finally {
  const prefix = lab.prefix;
  await lab.cleanup();
  const { readdirSync } = await import('node:fs');
  let left: string[] = [];
  try {
    left = readdirSync('/run/netns').filter((n) => n.startsWith(`${prefix}-`));
  } catch {
    /* no /run/netns at all: nothing left */
  }
  check(left.length === 0, `cleanup removed all ${prefix}-* namespaces`);
}
console.log(`total ${t(t0)}; ${failures.length === 0 ? 'ALL OK' : `${failures.length} failure(s)`}`);
process.exit(failures.length === 0 ? 0 : 1);
