/**
 * Network namespaces as the host sees them: listing, force-removing one (killing what still
 * runs inside), and sweeping the leftovers of lab processes that died without cleaning up.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pidRunning, sleepSync } from './processes.js';
import { TOOL_PATHS } from './tools.js';

export function listNamespaces(): string[] {
  try {
    return fs.readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/** Kills whatever still runs in a namespace, then deletes it. Never throws. */
export function removeNamespaceSync(full: string): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    let pids: number[] = [];
    try {
      pids = execFileSync(TOOL_PATHS.ip, ['netns', 'pids', full], { stdio: 'pipe', timeout: 5000 })
        .toString()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number)
        .filter((p) => p !== process.pid);
    } catch {
      break; // the namespace is gone
    }
    const running = pids.filter(pidRunning);
    if (running.length === 0) break;
    for (const pid of running) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    sleepSync(50);
  }
  try {
    execFileSync(TOOL_PATHS.ip, ['netns', 'del', full], { stdio: 'pipe', timeout: 5000 });
  } catch {
    // already gone
  }
}

/**
 * Removes namespaces left behind by labs whose process died without cleanup (e.g. SIGKILL), and
 * their temp dirs. Only touches names of the form hs<pid>[_n]-… whose pid no longer runs.
 * Returns what it removed.
 */
export function sweepStaleLabs(): string[] {
  const removed: string[] = [];
  for (const ns of listNamespaces()) {
    const m = /^hs(\d+)(?:_\d+)?-/.exec(ns);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidRunning(pid)) continue;
    removeNamespaceSync(ns);
    removed.push(ns);
  }
  for (const entry of fs.readdirSync(os.tmpdir())) {
    const m = /^netns-lab-hs(\d+)(?:_\d+)?-/.exec(entry);
    if (!m || Number(m[1]) === process.pid || pidRunning(Number(m[1]))) continue;
    fs.rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
    removed.push(path.join(os.tmpdir(), entry));
  }
  return removed;
}
