/**
 * Process plumbing for the namespace lab: running a command with a bound, signalling a process
 * group, telling whether a pid still runs, and bounded waits.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';

/** Default bound for a single command run through `run`. */
const DEFAULT_EXEC_TIMEOUT_MS = 15_000;

export interface ExecOptions {
  /** Kill the command after this long (default 15 s). */
  timeoutMs?: number;
  /** Written to the command's stdin. */
  input?: string;
  /** Resolve even on a non-zero exit (default false: reject with stderr). */
  allowFailure?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export function errText(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { stderr?: unknown; message?: unknown };
    const stderr = e.stderr ? String(e.stderr).trim() : '';
    return stderr || String(e.message ?? err);
  }
  return String(err);
}

export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Synchronous sleep for exit handlers, where the event loop no longer runs. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM means it exists but belongs to someone else: still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Zombies count as dead: they hold no sockets and cannot be killed further. */
export function pidRunning(pid: number): boolean {
  if (!pidAlive(pid)) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function signalGroup(pid: number, sig: NodeJS.Signals): void {
  // Negative pid: the whole process group (the lab spawns detached, so pgid = pid).
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** Runs a command (not in a namespace); rejects on non-zero exit unless allowFailure. */
export function run(cmd: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        if (err && !opts.allowFailure) {
          const killed = (err as { killed?: boolean }).killed ? ' (timed out)' : '';
          reject(new Error(`${cmd} ${args.join(' ')} failed${killed}: ${oneLine(String(stderr) || err.message)}`));
          return;
        }
        resolve({ stdout: String(stdout), stderr: String(stderr), code });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Waits until `file` exists, failing early when `running()` says the process that makes it ended. */
export async function waitForFile(
  file: string,
  timeoutMs: number,
  proc: { label: string; running(): boolean },
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (!proc.running()) throw new Error(`${proc.label} exited before creating ${file}: ${describe()}`);
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${timeoutMs} ms: ${describe()}`);
    await sleep(25);
  }
}
