/** A lab host's kernel routing table: reading it, finding one route, and waiting for one to come or go. */
import { normalizePrefix } from './addresses.js';
import type { LabHandle } from './lab-process.js';
import { run, sleep } from './processes.js';
import { TOOL_PATHS } from './tools.js';

/** One entry of `ip -j route show`. Only fields we rely on are typed. */
export interface KernelRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
  prefsrc?: string;
  flags: string[];
  [key: string]: unknown;
}

export interface WaitForRouteOptions {
  /** Only accept a route via this gateway. */
  via?: string;
  /** Only accept a route with this protocol ("rip", "bird", "kernel", …). */
  protocol?: string;
  /** Wait for the route to be ABSENT instead (e.g. after a withdrawal). */
  absent?: boolean;
  /** Poll period (default 100 ms). */
  pollMs?: number;
}

export interface WaitForRouteResult {
  route: KernelRoute | undefined;
  /** Milliseconds from the call until the condition held. */
  elapsedMs: number;
}

/** The main IPv4 routing table of a host, parsed from `ip -j route show`. */
export async function routesOf(lab: LabHandle, host: string): Promise<KernelRoute[]> {
  const out = await run(TOOL_PATHS.ip, ['-n', lab.ns(host), '-j', 'route', 'show']);
  const parsed = JSON.parse(out.stdout || '[]') as KernelRoute[];
  return parsed.map((r) => ({ ...r, flags: r.flags ?? [] }));
}

/** The route for exactly `prefix` (or undefined). */
export async function routeOf(
  lab: LabHandle,
  host: string,
  prefix: string,
  opts: Pick<WaitForRouteOptions, 'via' | 'protocol'> = {},
): Promise<KernelRoute | undefined> {
  const want = normalizePrefix(prefix);
  return (await routesOf(lab, host)).find(
    (r) =>
      normalizePrefix(r.dst) === want &&
      (opts.via === undefined || r.gateway === opts.via) &&
      (opts.protocol === undefined || r.protocol === opts.protocol),
  );
}

/**
 * Polls the kernel table until `prefix` is present (or absent, with `absent: true`). Rejects
 * after timeoutMs with the table in the message.
 */
export async function waitForRouteOf(
  lab: LabHandle,
  host: string,
  prefix: string,
  timeoutMs: number,
  opts: WaitForRouteOptions = {},
): Promise<WaitForRouteResult> {
  const start = Date.now();
  const deadline = start + timeoutMs;
  for (;;) {
    const r = await routeOf(lab, host, prefix, opts);
    if (opts.absent ? r === undefined : r !== undefined) return { route: r, elapsedMs: Date.now() - start };
    if (Date.now() >= deadline) {
      const last = await routesOf(lab, host).catch((): KernelRoute[] => []);
      throw new Error(
        `${lab.ns(host)}: route ${prefix} ${opts.absent ? 'still present' : 'not seen'} after ${timeoutMs} ms; table: ` +
          last.map((x) => `${x.dst}${x.gateway ? ` via ${x.gateway}` : ''} dev ${x.dev} proto ${x.protocol}`).join('; '),
      );
    }
    await sleep(opts.pollMs ?? 100);
  }
}
