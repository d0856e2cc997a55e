/**
 * The options of bench/peers/udp-load.ts and their command-line parsing (its header lists the
 * flags), apart from the load loop so that each file keeps one job.
 */

export type Mix = 'get' | 'set' | 'mixed';

export interface LoadOptions {
  host: string;
  port: number;
  count: number;
  seconds: number;
  window: number;
  mix: Mix;
  keys: number;
  timeoutMs: number;
  prefill: boolean;
  /** Requests per second for the measured phase; 0 = as fast as the window allows. */
  rate: number;
  /** Where to write the per-reply trace of the measured phase (see the header). */
  trace: string | null;
}

/** The flags of the header of udp-load.ts; throws on a missing port or a bad value. */
export function parseArgs(argv: string[]): LoadOptions {
  const get = (name: string, dflt?: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const num = (name: string, dflt: number): number => {
    const v = Number(get(name, String(dflt)));
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
    return v;
  };
  const port = Number(get('--port', process.env.KV_PORT));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error('--port P is required');
  const mix = get('--mix', 'get') as Mix;
  if (!['get', 'set', 'mixed'].includes(mix)) throw new Error('--mix must be get|set|mixed');
  const window = Math.floor(num('--window', 32));
  return {
    host: get('--host', '127.0.0.1')!,
    port,
    count: Math.floor(num('--count', 100_000)),
    seconds: num('--seconds', 10),
    window,
    mix,
    keys: Math.floor(num('--keys', Math.max(1024, window))),
    timeoutMs: Math.min(10_000, num('--timeout-ms', 1000)), // caps histogram memory at 40 MB
    prefill: !argv.includes('--no-prefill'),
    rate: argv.includes('--rate') ? num('--rate', 1) : 0,
    trace: get('--trace') ?? null,
  };
}
