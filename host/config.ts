import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MEMORY_BASE, SIGNALS, type SignalName } from './abi/abi.js';
import { parseCapabilities, type CapabilitiesConfig } from './capabilities/config.js';
import { DEFAULT_PROBATION, type ProbationConfig } from './component/options.js';
import type { SnapshotPolicy } from './component/swap.js';
import type { LogLevelName } from './log.js';
import { DEFAULT_FUEL, MAX_FUEL, type FuelBudgets } from './modules/fuel-budgets.js';
import { defaultConfigPath } from './paths.js';

// Defined in the component layer (the Probation that reads it lives there); re-exported here.
export { DEFAULT_PROBATION, type ProbationConfig };

export interface ListenConfig {
  proto: 'udp' | 'tcp';
  host: string;
  port: number;
}

export interface ComponentConfig {
  name: string;
  /** Module name in the repository (defaults to the component's name). */
  module: string;
  version: string;
  listen: ListenConfig[];
  signals: SignalName[];
  limits: {
    /** The host memory's maximum, in bytes. */
    memoryBytes: number;
    /** Largest module accepted, in bytes. */
    moduleBytes: number;
    /** Fuel budgets per callback kind (absent: DEFAULT_FUEL); null runs modules unmetered. */
    fuel?: FuelBudgets | null;
  };
  /** Health check after an upgrade (absent: DEFAULT_PROBATION); see docs/SAFETY.md. */
  probation?: ProbationConfig;
  snapshot: SnapshotPolicy;
  wasi: boolean;
  /** Host capabilities granted to the component's modules (none unless named). */
  capabilities?: CapabilitiesConfig;
}

export interface ControlConfig {
  host: string;
  port: number;
  /** Bearer token for mutating requests (env HOTSWAP_TOKEN); else generated into the data dir. */
  token?: string;
  /** Largest request body accepted, in bytes (413 above it). */
  uploadLimitBytes?: number;
  /** Trusted Ed25519 public key (PEM file path, PEM text or base64 of the 32 raw bytes): when
   * set, uploads need a valid signature (env HOTSWAP_TRUSTED_KEY). */
  trustedKey?: string;
}

export interface EngineConfig {
  dataDir: string;
  logLevel: LogLevelName;
  control: ControlConfig;
  components: ComponentConfig[];
}

export class ConfigError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'ConfigError';
  }
}

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/** Parses "host:port" from a flag or environment variable. */
export function parseAddress(text: string, what: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new Error(`${what}: expected HOST:PORT, got "${text}"`);
  return { host: m[1]!, port };
}

/** Overrides given on the command line or in the environment (flags win over environment). */
export interface ConfigOverrides {
  listen?: string;
  control?: string;
  dataDir?: string;
  logLevel?: string;
}

/** Loads and validates a configuration file, then applies overrides. Errors name the field. */
export function loadConfig(file: string = defaultConfigPath, overrides: ConfigOverrides = {}): EngineConfig {
  const path = resolve(file);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(path, `cannot read JSON: ${(e as Error).message}`);
  }
  const fail = (msg: string): never => {
    throw new ConfigError(path, msg);
  };
  const obj = (v: unknown, where: string): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(`${where} must be an object`);
  const root = obj(raw, 'the top level');
  const control = obj(root.control ?? {}, 'control');
  const comps = Array.isArray(root.components) ? root.components : fail('components must be an array');
  const seen = new Set<string>();
  const components = comps.map((c, i): ComponentConfig => {
    const where = `components[${i}]`;
    const o = obj(c, where);
    const name = String(o.name ?? '');
    if (!NAME.test(name)) fail(`${where}.name "${name}" must match ${NAME}`);
    if (seen.has(name)) fail(`${where}.name "${name}" is used twice`);
    seen.add(name);
    const listen = (Array.isArray(o.listen) ? o.listen : []).map((l, j): ListenConfig => {
      const lo = obj(l, `${where}.listen[${j}]`);
      if (lo.proto !== 'udp' && lo.proto !== 'tcp') fail(`${where}.listen[${j}].proto must be "udp" or "tcp"`);
      const port = Number(lo.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`${where}.listen[${j}].port must be 0..65535`);
      return { proto: lo.proto as 'udp' | 'tcp', host: String(lo.host ?? '127.0.0.1'), port };
    });
    const signals = (Array.isArray(o.signals) ? o.signals : []).map((s) => {
      if (!(String(s) in SIGNALS)) fail(`${where}.signals: "${s}" is not one of ${Object.keys(SIGNALS).join(', ')}`);
      return String(s) as SignalName;
    });
    const limits = obj(o.limits ?? {}, `${where}.limits`);
    const snapshot = String(o.snapshot ?? 'incremental');
    if (!['incremental', 'always', 'migrations', 'never'].includes(snapshot)) {
      fail(`${where}.snapshot must be incremental, always, migrations or never`);
    }
    const fuel = parseFuel(limits.fuel, `${where}.limits.fuel`, fail);
    const probation = obj(o.probation ?? {}, `${where}.probation`);
    const windowMs = Number(probation.windowMs ?? DEFAULT_PROBATION.windowMs);
    const maxFaults = Number(probation.maxFaults ?? DEFAULT_PROBATION.maxFaults);
    if (!(windowMs >= 0) || !Number.isInteger(maxFaults) || maxFaults < 0) {
      fail(`${where}.probation: windowMs must be >= 0 and maxFaults an integer >= 0`);
    }
    const memoryBytes = Number(limits.memoryBytes ?? 512 * 1024 * 1024);
    if (!(memoryBytes > MEMORY_BASE)) fail(`${where}.limits.memoryBytes must exceed the memoryBase (${MEMORY_BASE})`);
    return {
      name,
      module: String(o.module ?? name),
      version: String(o.version ?? fail(`${where}.version is required`)),
      listen,
      signals,
      limits: { memoryBytes, moduleBytes: Number(limits.moduleBytes ?? 4 * 1024 * 1024), fuel },
      probation: { windowMs, maxFaults },
      snapshot: snapshot as SnapshotPolicy,
      wasi: Boolean(o.wasi ?? false),
      capabilities: parseCapabilities(o.capabilities, `${where}.capabilities`, fail),
    };
  });

  const config: EngineConfig = {
    dataDir: resolve(String(root.dataDir ?? '.hotswap')),
    logLevel: (String(root.logLevel ?? 'info') as LogLevelName),
    control: {
      host: String(control.host ?? '127.0.0.1'),
      port: Number(control.port ?? 7070),
      ...(control.token !== undefined ? { token: String(control.token) } : {}),
      ...(control.uploadLimitBytes !== undefined ? { uploadLimitBytes: Number(control.uploadLimitBytes) } : {}),
      ...(control.trustedKey !== undefined ? { trustedKey: String(control.trustedKey) } : {}),
    },
    components,
  };
  if (config.control.uploadLimitBytes !== undefined && !(config.control.uploadLimitBytes > 0)) {
    fail('control.uploadLimitBytes must be a positive number of bytes');
  }
  const listen = overrides.listen ?? process.env.HOTSWAP_LISTEN;
  if (listen) {
    // The override moves every listener of the first component (the default config's `kv`).
    const at = parseAddress(listen, '--listen / HOTSWAP_LISTEN');
    for (const l of config.components[0]?.listen ?? []) Object.assign(l, at);
  }
  const ctl = overrides.control ?? process.env.HOTSWAP_CONTROL;
  if (ctl) Object.assign(config.control, parseAddress(ctl, '--control / HOTSWAP_CONTROL'));
  if (process.env.HOTSWAP_TOKEN) config.control.token = process.env.HOTSWAP_TOKEN;
  if (process.env.HOTSWAP_TRUSTED_KEY) config.control.trustedKey = process.env.HOTSWAP_TRUSTED_KEY;
  const dataDir = overrides.dataDir ?? process.env.HOTSWAP_DATA_DIR;
  if (dataDir) config.dataDir = resolve(dataDir);
  const level = overrides.logLevel ?? process.env.HOTSWAP_LOG_LEVEL;
  if (level) config.logLevel = level as LogLevelName;
  return config;
}

/** `limits.fuel`: false (unmetered), or budgets per callback kind over DEFAULT_FUEL. */
function parseFuel(raw: unknown, where: string, fail: (msg: string) => never): FuelBudgets | null {
  if (raw === false) return null;
  if (raw === undefined) return { ...DEFAULT_FUEL };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(`${where} must be false or an object`);
  const budgets = { ...DEFAULT_FUEL };
  for (const [kind, value] of Object.entries(raw)) {
    if (!(kind in DEFAULT_FUEL)) fail(`${where}.${kind}: unknown kind (one of ${Object.keys(DEFAULT_FUEL).join(', ')})`);
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > MAX_FUEL) fail(`${where}.${kind} must be an integer 1..${MAX_FUEL}`);
    budgets[kind as keyof FuelBudgets] = n;
  }
  return budgets;
}
