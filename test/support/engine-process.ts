/**
 * Runs the real engine as a separate process (`node bin/hotswap.js start`) with a temporary
 * configuration, and talks to it the way a user does: UDP, TCP, the CLI and real signals.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const cli = join(repoRoot, 'bin', 'hotswap.js');
/** How much of the engine's output a RunningEngine keeps (the latest characters). */
const OUTPUT_KEPT = 8 * 1024 * 1024;

export interface ComponentSpec {
  name: string;
  module?: string;
  version: string;
  udp?: boolean;
  tcp?: boolean;
  signals?: string[];
  [extra: string]: unknown;
}

export interface RunningEngine {
  readonly process: ChildProcess;
  readonly dataDir: string;
  readonly control: string;
  /** Bound addresses by component name and protocol. */
  readonly ports: Map<string, { udp?: number; tcp?: number }>;
  /** What the engine printed so far (its latest 8 MiB, when it printed more). */
  output(): string;
  /** Runs the CLI against this engine; resolves with exit code and output (never rejects). */
  hotswap(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Waits until the engine's output matches. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(): Promise<number | null>;
}

/**
 * Starts an engine whose listeners all use port 0; the bound ports are read from its log. An
 * engine that is not ready within `startTimeoutMs` is killed, so it cannot outlive the test.
 */
export async function startEngine(
  components: ComponentSpec[],
  extraConfig: Record<string, unknown> = {},
  startTimeoutMs = 15000,
): Promise<RunningEngine> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hotswap-test-'));
  const config = {
    dataDir,
    logLevel: 'info',
    control: { host: '127.0.0.1', port: 0 },
    ...extraConfig,
    components: components.map(({ udp = true, tcp = true, signals = [], ...c }) => ({
      module: c.name,
      ...c,
      listen: [
        ...(udp ? [{ proto: 'udp', host: '127.0.0.1', port: 0 }] : []),
        ...(tcp ? [{ proto: 'tcp', host: '127.0.0.1', port: 0 }] : []),
      ],
      signals,
    })),
  };
  const configFile = join(dataDir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const child = spawn(process.execPath, [cli, 'start', '--config', configFile], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOTSWAP_CONTROL: '', HOTSWAP_LISTEN: '' },
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (b: Buffer): void => {
    out += b.toString();
    // A module that floods the log must not take the test process down with it: keep the tail.
    if (out.length > 2 * OUTPUT_KEPT) out = out.slice(-OUTPUT_KEPT);
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForOutput = (pattern: RegExp, timeoutMs = 15000): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = out.match(pattern);
        if (m) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`engine output did not match ${pattern} within ${timeoutMs} ms:\n${out}`));
      }, timeoutMs);
      waiters.add(check);
      void exited.then(() => {
        if (waiters.has(check)) {
          waiters.delete(check);
          clearTimeout(timer);
          reject(new Error(`engine exited before its output matched ${pattern}:\n${out}`));
        }
      });
      check();
    });

  let ready: RegExpMatchArray;
  try {
    ready = await waitForOutput(/control endpoint on http:\/\/([\d.]+:\d+)/, startTimeoutMs);
    await waitForOutput(/ready: /, startTimeoutMs);
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  const control = ready[1]!;
  const ports = new Map<string, { udp?: number; tcp?: number }>();
  for (const m of out.matchAll(/\[([a-z0-9_-]+)\] channel \d+: (udp|tcp) [\d.]+:(\d+)/g)) {
    const entry = ports.get(m[1]!) ?? {};
    entry[m[2] as 'udp' | 'tcp'] = Number(m[3]);
    ports.set(m[1]!, entry);
  }

  return {
    process: child,
    dataDir,
    control,
    ports,
    output: () => out,
    waitForOutput,
    hotswap: (...args) =>
      new Promise((resolve) => {
        execFile(process.execPath, [cli, ...args, '--control', control], { cwd: repoRoot }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
          resolve({ code, stdout, stderr });
        });
      }),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
