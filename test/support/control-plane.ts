/**
 * Helpers for the control-plane tests: an in-process ControlPlane (real SQLite file in a temp
 * data directory, real HTTP on 127.0.0.1, port 0), and module variants made from kv 1.0.0.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../host/config.js';
import { ControlPlane } from '../../host/control/plane.js';
import { Logger } from '../../host/log.js';
import { repoRoot } from './engine-process.js';

export const kv100 = readFileSync(join(repoRoot, 'build', 'modules', 'kv', '1.0.0.wasm'));

/**
 * kv 1.0.0 reporting another version: the version string is the only UTF-16 "1.0.0" in the
 * module's data, so a same-length version (like "1.0.7") makes a valid module that says so.
 */
export function kvAs(version: string): Buffer {
  if (version.length !== 5) throw new Error('kvAs needs a 5-character version');
  const from = Buffer.from('1.0.0', 'utf16le');
  const at = kv100.indexOf(from);
  if (at < 0 || kv100.indexOf(from, at + 1) >= 0) throw new Error('kv 1.0.0 no longer holds exactly one version string');
  const out = Buffer.from(kv100);
  Buffer.from(version, 'utf16le').copy(out, at);
  return out;
}

/** The same module with a custom section appended: other bytes (and sha256), same behaviour. */
export function withNote(bytes: Buffer, note: string): Buffer {
  const name = Buffer.from('note');
  const payload = Buffer.from(note);
  const size = 1 + name.length + payload.length;
  if (size > 127) throw new Error('note too long for a one-byte section size');
  return Buffer.concat([bytes, Buffer.from([0, size, name.length]), name, payload]);
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'hotswap-control-'));
}

/**
 * A config file with one component, kv, and no sockets: the control API is what is tested.
 * `more`: further top-level sections (a `deploy` allow-list, say).
 */
export function writeConfig(dataDir: string, control: Record<string, unknown> = {}, more: Record<string, unknown> = {}): string {
  const file = join(dataDir, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      dataDir,
      logLevel: 'error',
      control: { host: '127.0.0.1', port: 0, ...control },
      components: [{ name: 'kv', module: 'kv', version: '1.0.0', listen: [], signals: [] }],
      ...more,
    }),
  );
  return file;
}

export interface Plane {
  plane: ControlPlane;
  base: string;
  token: string;
  stop(): Promise<void>;
}

export async function startPlane(dataDir: string, control: Record<string, unknown> = {}): Promise<Plane> {
  const config = loadConfig(writeConfig(dataDir, control));
  const plane = await ControlPlane.start(config, { logger: new Logger('test', 'error') });
  const token = typeof control.token === 'string' ? control.token : readFileSync(join(dataDir, 'control.token'), 'utf8').trim();
  return { plane, base: `http://${plane.server.address}`, token, stop: () => plane.stop() };
}
