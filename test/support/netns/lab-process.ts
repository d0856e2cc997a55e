/**
 * A long-lived process started inside a namespace (`ip netns exec`), in its own process group,
 * with its output in a log file or piped; and the small view of the lab that the daemon, ping,
 * capture and engine helpers need.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExecOptions, ExecResult } from './processes.js';
import { signalGroup } from './processes.js';
import { TOOL_PATHS } from './tools.js';

export interface SpawnOptions {
  /** Name for the log file and messages; defaults to the command's basename. */
  label?: string;
  /**
   * Pipe stdout/stderr to the caller (child.stdout/stderr readable) instead of writing them to
   * `<lab dir>/<label>.log`. Piped streams keep Node alive.
   */
  pipe?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** A long-lived process in a namespace; `lab.cleanup()` kills it. */
export interface LabProcess {
  readonly ns: string;
  readonly label: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Path of the file collecting stdout+stderr (undefined when piped). */
  readonly logFile: string | undefined;
  /** Resolves with the exit code (or signal name) when the process has ended. */
  readonly exited: Promise<number | string>;
  running(): boolean;
  /** SIGTERM, then SIGKILL after graceMs (default 3 s). Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** Current content of the log file ("" when piped). */
  log(): string;
}

/** What the helpers around the lab (daemons, ping, capture, engine) use of it. */
export interface LabHandle {
  /** Full namespace name of a host. */
  ns(host: string): string;
  spawn(host: string, cmd: string, args?: string[], opts?: SpawnOptions): LabProcess;
  execFull(host: string, cmd: string, args?: string[], opts?: ExecOptions): Promise<ExecResult>;
  exec(host: string, cmd: string, args?: string[], opts?: ExecOptions): Promise<string>;
  /** A fresh directory for one daemon or engine instance, and its number within the lab. */
  instanceDir(kind: string, host: string): { dir: string; n: number };
  /** A progress message (silent unless the lab was given a log function). */
  note(msg: string): void;
}

/**
 * Starts `cmd` in namespace `ns`. `ip netns exec` execs the command, so the pid is the command's
 * own. The process gets its own process group (detached) so that a Ctrl-C in the terminal
 * reaches only us, and it is stopped in order during cleanup. Its handle is unref'd unless
 * piped: a test that forgets cleanup still exits, and the exit handler then kills the process.
 */
export function spawnInNamespace(
  ns: string,
  cmd: string,
  args: string[],
  opts: SpawnOptions & { label: string; logDir: string; onStopped: (proc: LabProcess) => void },
): LabProcess {
  let logFile: string | undefined;
  let stdio: Array<'ignore' | 'pipe' | number>;
  if (opts.pipe) {
    stdio = ['ignore', 'pipe', 'pipe'];
  } else {
    logFile = path.join(opts.logDir, `${opts.label}.log`);
    const fd = fs.openSync(logFile, 'a');
    stdio = ['ignore', fd, fd];
  }
  const child = spawn(TOOL_PATHS.ip, ['netns', 'exec', ns, cmd, ...args], {
    stdio,
    detached: true,
    env: opts.env ?? process.env,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  if (!opts.pipe) fs.closeSync(stdio[1] as number); // the child holds its own copy
  if (child.pid === undefined) throw new Error(`could not spawn ${cmd} in ${ns}`);
  const pid = child.pid;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', (err) => resolve(`error: ${err.message}`));
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  if (!opts.pipe) child.unref();
  const proc: LabProcess = {
    ns,
    label: opts.label,
    pid,
    child,
    logFile,
    exited,
    running: () => !done,
    stop: async (graceMs = 3000) => {
      if (!done) {
        signalGroup(pid, 'SIGTERM');
        const t = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
      }
      opts.onStopped(proc);
    },
    log: () => (logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
  };
  return proc;
}
