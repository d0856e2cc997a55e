/**
 * Child processes of the benchmark: cases and peers that print one JSON object as their last
 * stdout line, and the long-running kv servers of bench/lib/serve-kv.ts. Every wait is bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
/** tsx, with binaryen loaded past it (scripts/loader/plain-binaryen.mjs says why). */
const LOADER = join(BENCH_DIR, '..', 'scripts', 'loader', 'register.mjs');

/** Node with the tsx loader (the benchmarks run from the TypeScript sources), plus extra flags. */
export function nodeArgs(script: string, args: readonly string[], flags: readonly string[] = []): string[] {
  return ['--import', LOADER, ...flags, join(BENCH_DIR, script), ...args];
}

/** The last stdout line that parses as a JSON object, or null. */
export function lastJsonLine(stdout: string): Record<string, unknown> | null {
  const lines = stdout.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith('{')) continue;
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      // a log line that happens to start with "{": keep looking
    }
  }
  return null;
}

/**
 * Runs `script` (relative to bench/) to completion and returns its JSON result. Its stderr
 * (progress) is passed through. Rejects on a non-zero exit, a missing result or the time limit.
 */
export function runJson(
  script: string,
  args: readonly string[],
  timeoutMs: number,
  flags: readonly string[] = [],
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs(script, args, flags), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not finish within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const result = lastJsonLine(out);
      if (code !== 0) reject(new Error(`${script} exited with ${code}: ${out.trim().slice(-500)}`));
      else if (!result) reject(new Error(`${script} printed no JSON result: ${out.trim().slice(-500)}`));
      else resolve(result);
    });
  });
}

/** A kv server process (bench/lib/serve-kv.ts) driven through its stdin command protocol. */
export class ServerProcess {
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #results: ((value: Record<string, unknown>) => void)[] = [];

  private constructor(child: ChildProcess, port: number) {
    this.#child = child;
    this.port = port;
  }

  static start(impl: 'engine' | 'dgram', timeoutMs = 60_000, extra: readonly string[] = []): Promise<ServerProcess> {
    const child = spawn(process.execPath, nodeArgs('lib/serve-kv.ts', ['--impl', impl, ...extra]), { stdio: ['pipe', 'pipe', 'inherit'] });
    return new Promise((resolve, reject) => {
      let server: ServerProcess | null = null;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`serve-kv --impl ${impl} did not start within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (!server) reject(new Error(`serve-kv --impl ${impl} exited early (${code})`));
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (!server && line.startsWith('listening ')) {
          clearTimeout(timer);
          server = new ServerProcess(child, Number(line.slice(10)));
          resolve(server);
        } else if (server && line.startsWith('result ')) {
          server.#results.shift()?.(JSON.parse(line.slice(7)) as Record<string, unknown>);
        }
      });
    });
  }

  /** Sends one command and waits for its result line (bounded). */
  command(line: string, timeoutMs = 120_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to "${line}" within ${timeoutMs / 1000} s`)), timeoutMs);
      this.#results.push((v) => {
        clearTimeout(timer);
        resolve(v);
      });
      this.#child.stdin!.write(`${line}\n`);
    });
  }

  /** Asks the server to quit; kills it when it does not exit within 10 s. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#child.exitCode !== null) return resolve();
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
      this.#child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#child.stdin!.write('quit\n');
    });
  }
}

/**
 * One closed-loop run of bench/peers/udp-load.ts against `port` (32 in flight over 1,024 keys,
 * bounded by `seconds`): the setting every UDP throughput comparison in this bench shares.
 * A larger `window` keeps more requests in flight (to saturate the server, not its latency).
 */
export function udpLoad(port: number, mix: string, seconds: number, window = 32): Promise<Record<string, unknown>> {
  return runJson(
    'peers/udp-load.ts',
    [
      '--port',
      String(port),
      '--mix',
      mix,
      '--seconds',
      String(seconds),
      '--count',
      '50000000',
      '--window',
      String(window),
      '--keys',
      '1024',
    ],
    (seconds + 90) * 1000,
  );
}
