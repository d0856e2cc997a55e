/**
 * Our engine as a real process inside a lab namespace: `ip netns exec NS node bin/hotswap.js
 * start --config FILE`, with the CLI run in the same namespace (the control API is on its
 * loopback). Needs `npm run build` first (bin/hotswap.js runs build/host and build/modules).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabHandle, LabProcess } from './lab-process.js';
import { sleep } from './processes.js';

const BIN = fileURLToPath(new URL('../../../bin/hotswap.js', import.meta.url));

export interface EngineProcessOptions {
  /** The engine configuration (written to a file in the lab dir). */
  config: Record<string, unknown>;
  /** Wait this long for the "ready:" log line (default 15 s). */
  startTimeoutMs?: number;
  label?: string;
}

export interface EngineInstance {
  readonly ns: string;
  readonly proc: LabProcess;
  readonly configFile: string;
  /** Runs `node bin/hotswap.js <args>` inside the namespace. */
  cli(...args: string[]): Promise<string>;
  /** SIGTERM (the engine's clean shutdown), SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts the engine and resolves once it logged "ready:". */
export async function startEngineIn(lab: LabHandle, host: string, opts: EngineProcessOptions): Promise<EngineInstance> {
  const { dir } = lab.instanceDir('engine', host);
  const configFile = path.join(dir, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify({ dataDir: path.join(dir, 'data'), ...opts.config }, null, 2));
  return launch(lab, host, configFile, opts.label ?? `${host}-engine`, opts.startTimeoutMs ?? 15_000);
}

/**
 * Starts the engine again with an engine's configuration file, so on its data directory (after
 * a SIGKILL: crash recovery); resolves once it logged "ready:".
 */
export function restartEngineIn(lab: LabHandle, host: string, previous: EngineInstance, startTimeoutMs = 60_000): Promise<EngineInstance> {
  return launch(lab, host, previous.configFile, `${previous.proc.label}-again`, startTimeoutMs);
}

async function launch(lab: LabHandle, host: string, configFile: string, label: string, timeoutMs: number): Promise<EngineInstance> {
  const proc = lab.spawn(host, process.execPath, [BIN, 'start', '--config', configFile], { label });
  const deadline = Date.now() + timeoutMs;
  while (!/\bready: /.test(proc.log())) {
    if (!proc.running()) throw new Error(`engine in ${proc.ns} exited before it was ready:\n${proc.log()}`);
    if (Date.now() > deadline) throw new Error(`engine in ${proc.ns} not ready after ${timeoutMs} ms:\n${proc.log()}`);
    await sleep(25);
  }
  return {
    ns: proc.ns,
    proc,
    configFile,
    cli: (...args: string[]) => lab.exec(host, process.execPath, [BIN, ...args], { timeoutMs: 20_000 }),
    stop: (graceMs = 5000) => proc.stop(graceMs),
  };
}
