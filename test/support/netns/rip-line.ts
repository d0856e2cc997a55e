/**
 * The RIP tests' topology, built once here so each variant's test file only says what differs:
 *
 *   stub 10.10.1.0/24 [frr] eth0 —10.0.1.0/24— eth0 [rip] eth1 —10.0.2.0/24— eth0 [bird] stub 10.20.1.0/24
 *                                                 stub 10.30.1.0/24 (only our router has it)
 *
 * FRR ripd and BIRD 2 with fast timers, and our engine running `rip` with the given settings.
 */
import type { BirdRipInstance, BirdRipOptions } from './bird.js';
import type { EngineInstance } from './engine.js';
import type { FrrRipInstance, FrrRipOptions } from './frr.js';
import { Lab } from './lab.js';
import { sweepStaleLabs } from './namespaces.js';
import type { WaitForRouteResult } from './routes.js';
import type { LinkInfo, StubInfo } from './topology.js';

/** Our router's timers in the tests (seconds): FRR's floor is 5/15/10, ours can be faster. */
export const FAST_SETTINGS = { update: 1, timeout: 15, garbage: 10, triggeredMin: 0.2, triggeredMax: 0.5 };

export interface RipLineOptions {
  /** Differences from FRR's default here: network 10.0.1.0/24, redistribute connected. */
  frr?: Partial<FrrRipOptions>;
  /** Differences from BIRD's default here: RIP on its link, direct routes from its stub. */
  bird?: Partial<BirdRipOptions>;
  /** Settings of our router, over FAST_SETTINGS. */
  settings?: Record<string, unknown>;
  /** The component's `limits` (quotas), e.g. more sends per callback for a large table. */
  limits?: Record<string, unknown>;
  /** Module version to start (default 0.0.1). */
  version?: string;
  /** Runs after the daemons started and before our engine starts (e.g. to take a link down). */
  beforeEngine?: (line: RipLineTopology) => Promise<void>;
}

export interface RipLineTopology {
  lab: Lab;
  left: LinkInfo;
  right: LinkInfo;
  frrStub: StubInfo;
  birdStub: StubInfo;
  ripStub: StubInfo;
  frr: FrrRipInstance;
  bird: BirdRipInstance;
}

export interface RipLine extends RipLineTopology {
  engine: EngineInstance;
}

/**
 * One rip-* test on a line of its own: sweeps the labs a killed run left behind, starts the line,
 * runs `body`, prints the engine's log when it fails, and always tears the lab down.
 */
export async function withRipLine(opts: RipLineOptions, body: (line: RipLine) => Promise<void>): Promise<void> {
  sweepStaleLabs();
  let line: RipLine | undefined;
  try {
    line = await startRipLine(opts);
    await body(line);
  } catch (e) {
    console.log(`  failed: ${(e as Error).message}`);
    if (line) console.log(`  engine log:\n${line.engine.proc.log()}`);
    throw e;
  } finally {
    await line?.lab.cleanup();
  }
}

/** Builds the line and starts everything; on failure, cleans up and rethrows. */
export async function startRipLine(opts: RipLineOptions = {}): Promise<RipLine> {
  const lab = new Lab();
  try {
    await Promise.all(['frr', 'rip', 'bird'].map((h) => lab.host(h)));
    const left = await lab.link('frr', 'rip', '10.0.1.0/24');
    const right = await lab.link('rip', 'bird', '10.0.2.0/24');
    const frrStub = await lab.stub('frr', '10.10.1.0/24');
    const birdStub = await lab.stub('bird', '10.20.1.0/24');
    const ripStub = await lab.stub('rip', '10.30.1.0/24');
    const [frr, bird] = await Promise.all([
      lab.startFrrRip('frr', { networks: [left.subnet], redistributeConnected: true, ...opts.frr }),
      lab.startBirdRip('bird', { interfaces: [right.b.ifname], directInterfaces: [birdStub.ifname], ...opts.bird }),
    ]);
    const topology: RipLineTopology = { lab, left, right, frrStub, birdStub, ripStub, frr, bird };
    await opts.beforeEngine?.(topology);
    const engine = await lab.startEngine('rip', {
      // Module preparation runs in a worker; on a machine shared with other test runs it was
      // seen to take over 15 s (the lab's default), so the start gets more room here.
      startTimeoutMs: 60_000,
      config: {
        logLevel: 'info',
        control: { host: '127.0.0.1', port: 7070 },
        components: [
          {
            name: 'rip',
            module: 'rip',
            version: opts.version ?? '0.0.1',
            ...(opts.limits ? { limits: opts.limits } : {}),
            capabilities: {
              net: { interfaces: [left.b.ifname, right.a.ifname] },
              routes: { protocol: 'rip' },
              settings: { ...FAST_SETTINGS, ...opts.settings },
            },
          },
        ],
      },
    });
    return { ...topology, engine };
  } catch (e) {
    await lab.cleanup();
    throw e;
  }
}

/** The routes every test of the line expects, in both directions and across our router. */
export function expectedRoutes(line: RipLineTopology): { what: string; wait: (timeoutMs: number) => Promise<WaitForRouteResult> }[] {
  const { lab, left, right, frrStub, birdStub, ripStub } = line;
  return [
    { what: 'FRR has our 10.30.1.0/24', wait: (t) => lab.waitForRoute('frr', ripStub.subnet, t, { via: left.b.addr }) },
    { what: 'BIRD has our 10.30.1.0/24', wait: (t) => lab.waitForRoute('bird', ripStub.subnet, t, { via: right.a.addr }) },
    { what: "we have FRR's 10.10.1.0/24", wait: (t) => lab.waitForRoute('rip', frrStub.subnet, t, { via: left.a.addr, protocol: 'rip' }) },
    {
      what: "we have BIRD's 10.20.1.0/24",
      wait: (t) => lab.waitForRoute('rip', birdStub.subnet, t, { via: right.b.addr, protocol: 'rip' }),
    },
    { what: "FRR has BIRD's 10.20.1.0/24 through us", wait: (t) => lab.waitForRoute('frr', birdStub.subnet, t, { via: left.b.addr }) },
    { what: "BIRD has FRR's 10.10.1.0/24 through us", wait: (t) => lab.waitForRoute('bird', frrStub.subnet, t, { via: right.a.addr }) },
  ];
}

/** Waits for every expected route; returns a line for the log, or throws naming the first one missing. */
export async function converge(line: RipLineTopology, timeoutMs = 20_000): Promise<string> {
  const expected = expectedRoutes(line);
  const results = await Promise.all(expected.map((e) => e.wait(timeoutMs)));
  const missing = results.flatMap((r, i) => (r.route ? [] : [expected[i]!.what]));
  if (missing.length > 0) throw new Error(`not converged after ${timeoutMs} ms: missing ${missing.join('; ')}`);
  return results.map((r, i) => `${expected[i]!.what} after ${r.elapsedMs} ms`).join('; ');
}

export interface UpgradePingResult {
  sent: number;
  lost: number;
  lostSeqs: number[];
  /** The CLI's output of each upgrade, in order. */
  upgrades: string[];
}

/**
 * Upgrades our router through `versions` with the real CLI while a 20/s ping runs from `from`'s
 * stub to `to`'s stub across it; 20 more replies must arrive before each upgrade and after the
 * last one, so traffic crossed every version.
 */
export async function upgradeUnderPing(
  line: RipLine,
  versions: string[],
  path: { from: 'frr' | 'bird'; to: StubInfo; source: StubInfo } = { from: 'frr', to: line.birdStub, source: line.frrStub },
): Promise<UpgradePingResult> {
  const ping = line.lab.startPing(path.from, path.to.addr, { intervalMs: 50, source: path.source.addr, maxDurationMs: 120_000 });
  const moreReplies = async (n: number, what: string): Promise<void> => {
    const seen = ping.replies.length;
    const deadline = Date.now() + 10_000;
    while (ping.replies.length < seen + n) {
      if (Date.now() > deadline) throw new Error(`no ${n} more ping replies ${what} (${ping.replies.length - seen} came)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const upgrades: string[] = [];
  try {
    for (const v of versions) {
      await moreReplies(20, `before the upgrade to ${v}`);
      upgrades.push(await line.engine.cli('upgrade', 'rip', v));
    }
    await moreReplies(20, 'after the last upgrade');
  } catch (e) {
    await ping.stop();
    throw e;
  }
  const result = await ping.stop();
  return { sent: result.sent, lost: result.lost, lostSeqs: result.lostSeqs, upgrades };
}

/** The authentication-failure counter of `hotswap show rip`. */
export function authFailures(shown: string): number {
  const m = /(\d+) failed authentication/.exec(shown);
  if (!m) throw new Error(`no authentication counter in:\n${shown}`);
  return Number(m[1]);
}

/** The counter of datagrams dropped for a sequence number that went down, in `hotswap show rip`. */
export function outOfSequence(shown: string): number {
  const m = /(\d+) out of sequence/.exec(shown);
  if (!m) throw new Error(`no sequence-number counter in:\n${shown}`);
  return Number(m[1]);
}

/** The sequence number `show` says was accepted last from `neighbor` with key `keyId`, or null. */
export function lastSequence(shown: string, neighbor: string, keyId: number): number | null {
  const m = new RegExp(`${neighbor.replace(/\./g, '\\.')} key ${keyId} = (\\d+);`).exec(shown);
  return m ? Number(m[1]) : null;
}

/** Sends one raw datagram (hex, spaces allowed) from `fromAddr:fromPort` inside a lab host. */
export async function sendRawRip(lab: Lab, host: string, fromAddr: string, fromPort: number, to: string, hex: string): Promise<void> {
  await lab.exec(host, process.execPath, [
    '-e',
    `const s = require('node:dgram').createSocket({ type: 'udp4', reuseAddr: true });
     s.bind(${fromPort}, '${fromAddr}', () => s.send(Buffer.from('${hex.replace(/ /g, '')}', 'hex'), 520, '${to}', () => s.close()));`,
  ]);
}
