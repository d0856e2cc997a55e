/**
 * Measures two ways of installing kernel routes from Node, for docs/MEASUREMENTS.md ("Installing
 * kernel routes"): spawning `ip route replace …` once per route, against writing the same lines
 * to one long-lived `ip -force -batch -` child (the way host/capabilities/kernel-routes.ts does
 * it). 200 routes each, in a network namespace created for the run and deleted afterwards (a
 * veth pair with both ends inside it is the stub network). Rounds alternate; medians reported.
 * Needs root and iproute2. Run: `sudo npx tsx scripts/measure/ip-batch.ts`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';

const NS = `hsmeasure-${process.pid}`;
const ROUTES = 200;
const ROUNDS = 5;

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const lines = Array.from(
  { length: ROUTES },
  (_, i) => `route replace 10.${100 + (i >> 8)}.${i & 255}.0/24 via 10.99.0.2 dev hs-a proto rip metric 20`,
);

function countRoutes(): number {
  return ip('-n', NS, 'route', 'show', 'proto', 'rip').trim().split('\n').filter(Boolean).length;
}

async function spawnPerRoute(): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (const line of lines) {
    const child = spawn('ip', ['-n', NS, ...line.split(' ')], { stdio: 'ignore' });
    const [code] = await once(child, 'exit');
    if (code !== 0) throw new Error(`ip ${line} exited with ${code}`);
  }
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function longLivedBatch(): Promise<number> {
  // Started before the clock, as the capability starts it once and keeps it.
  const child = spawn('ip', ['-n', NS, '-force', '-batch', '-'], { stdio: ['pipe', 'ignore', 'inherit'] });
  await once(child, 'spawn');
  const t0 = process.hrtime.bigint();
  for (const line of lines) child.stdin.write(`${line}\n`);
  child.stdin.end(); // the only way to know ip has applied every line: it exits after the last
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`ip -batch exited with ${code}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function main(): Promise<void> {
  ip('netns', 'add', NS);
  try {
    ip('-n', NS, 'link', 'add', 'hs-a', 'type', 'veth', 'peer', 'name', 'hs-b');
    for (const dev of ['lo', 'hs-a', 'hs-b']) ip('-n', NS, 'link', 'set', dev, 'up');
    ip('-n', NS, 'addr', 'add', '10.99.0.1/24', 'dev', 'hs-a');
    ip('-n', NS, 'addr', 'add', '10.99.0.2/24', 'dev', 'hs-b');
    const results: Record<string, number[]> = { 'spawn ip per route': [], 'one ip -batch child': [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, run] of [
        ['spawn ip per route', spawnPerRoute],
        ['one ip -batch child', longLivedBatch],
      ] as const) {
        ip('-n', NS, 'route', 'flush', 'proto', 'rip');
        const ms = await run();
        const n = countRoutes();
        if (n !== ROUTES) throw new Error(`${name}: ${n} routes installed, expected ${ROUTES}`);
        results[name]!.push(ms);
      }
    }
    for (const [name, ms] of Object.entries(results)) {
      const sorted = [...ms].sort((a, b) => a - b);
      console.log(
        `${name.padEnd(22)} ${ROUTES} routes: median ${sorted[ROUNDS >> 1]!.toFixed(1)} ms ` +
          `(min ${sorted[0]!.toFixed(1)}, max ${sorted[ROUNDS - 1]!.toFixed(1)})`,
      );
    }
  } finally {
    ip('netns', 'del', NS);
  }
}

await main();
