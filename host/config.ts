// The engine's configuration: its types, and loadConfig, which reads a file, validates all of it
// against the schema (host/config/schema.ts) and applies the command line and environment.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SignalName } from './abi/abi.js';
import { type CapabilitiesConfig, parseCapabilities } from './capabilities/config.js';
import { DEFAULT_PROBATION, type DispatchLimits, type ProbationConfig } from './component/options.js';
import { DEFAULT_QUOTAS, type QuotaLimits } from './component/quotas.js';
import type { SnapshotPolicy } from './component/swap.js';
import { type CheckedComponent, type CheckedConfig, type DeployAllowList, ENGINE_CONFIG_SCHEMA } from './config/schema.js';
import type { Durability } from './durability/levels.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevelName } from './log.js';
import { DEFAULT_FUEL, type FuelBudgets } from './modules/fuel-budgets.js';
import { defaultConfigPath } from './paths.js';
import { NAME_PATTERN } from './repository/repository.js';
import { SchemaCheck } from './schema.js';

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
    /** Most events waiting in the component's queue (absent: the dispatcher's default). */
    queueEvents?: number;
    /** Import quotas the file set; the component fills in the rest from DEFAULT_QUOTAS (docs/SAFETY.md). */
    quotas?: Partial<QuotaLimits>;
  };
  /** Health check after an upgrade (absent: DEFAULT_PROBATION); see docs/SAFETY.md. */
  probation?: ProbationConfig;
  snapshot: SnapshotPolicy;
  /** What survives a crash (docs/DURABILITY.md); absent: `fsync`. Applies when the engine keeps journals. */
  durability?: Durability;
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
  /** Log lines as text for a terminal (the default) or JSON lines. */
  logFormat?: LogFormat;
  control: ControlConfig;
  /** How the dispatcher slices its work: the keys the file set (the rest from DEFAULT_DISPATCH). */
  dispatch?: Partial<DispatchLimits>;
  /** What components created over the control API may be granted (absent: settings only). */
  deploy?: { capabilities: DeployAllowList };
  components: ComponentConfig[];
  /** The fleet this engine joins as `node` (absent: none); docs/FLEET.md. */
  fleet?: FleetConfig;
}

export interface FleetConfig {
  /** NATS servers, nats://host:port or host:port. */
  servers: string[];
  node: string;
  /** The JetStream domain of the fleet's buckets (a leaf site reaching its hub's JetStream). */
  domain?: string;
  heartbeatMs?: number;
  pollMs?: number;
}

export type { DeployAllowList };

/** A configuration mistake; the message names where (file, flag or variable) and every field. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(source: string, problems: string | string[]) {
    const list = typeof problems === 'string' ? [problems] : problems;
    // One line per problem, each starting with the file: grep-able, and readable when there are many.
    super(list.map((p) => `${source}: ${p}`).join('\n'));
    this.name = 'ConfigError';
    this.problems = list;
  }
}

/** Parses "host:port" from a flag or environment variable. */
export function parseAddress(text: string, what: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ConfigError(what, `expected HOST:PORT with a port from 0 to 65535 (got "${text}")`);
  return { host: m[1]!, port };
}

/** Overrides given on the command line or in the environment (flags win over environment). */
export interface ConfigOverrides {
  listen?: string;
  control?: string;
  dataDir?: string;
  logLevel?: string;
  logFormat?: string;
  /** NATS servers, comma-separated (flag --fleet, env HOTSWAP_FLEET), and this engine's node name. */
  fleet?: string;
  node?: string;
}

/** Loads a configuration file, validates every field, then applies overrides. Errors name the field. */
export function loadConfig(file: string = defaultConfigPath, overrides: ConfigOverrides = {}): EngineConfig {
  const path = resolve(file);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(path, `cannot read JSON: ${(e as Error).message}`);
  }
  const config = fromChecked(path, checkFile(path, raw));
  applyOverrides(config, overrides);
  return config;
}

/** The schema's verdict on the whole file, plus the one rule a schema cannot say (unique names). */
function checkFile(path: string, raw: unknown): CheckedConfig {
  const checked = new SchemaCheck<CheckedConfig>(ENGINE_CONFIG_SCHEMA).check(raw);
  if (!checked.ok) throw new ConfigError(path, checked.problems);
  const seen = new Map<string, number>();
  checked.value.components.forEach((c, i) => {
    const first = seen.get(c.name);
    if (first !== undefined) throw new ConfigError(path, `components[${i}].name "${c.name}" is already used by components[${first}]`);
    seen.set(c.name, i);
  });
  return checked.value;
}

function fromChecked(path: string, checked: CheckedConfig): EngineConfig {
  const fail = (message: string): never => {
    throw new ConfigError(path, message);
  };
  return {
    dataDir: resolve(checked.dataDir),
    logLevel: checked.logLevel,
    logFormat: checked.logFormat,
    control: { ...checked.control },
    ...(checked.dispatch ? { dispatch: { ...checked.dispatch } } : {}),
    deploy: checked.deploy,
    ...(checked.fleet ? { fleet: { ...checked.fleet, servers: [...checked.fleet.servers] } } : {}),
    components: checked.components.map((c, i) => componentFromChecked(c, `components[${i}]`, fail)),
  };
}

/**
 * One component as the schema accepted it → its ComponentConfig. Shared by the configuration
 * file and the control API's POST /v1/components, so both mean the same thing by every field.
 */
export function componentFromChecked(c: CheckedComponent, where: string, fail: (message: string) => never): ComponentConfig {
  return {
    name: c.name,
    module: c.module ?? c.name,
    version: c.version,
    listen: c.listen,
    signals: c.signals,
    limits: {
      memoryBytes: c.limits.memoryBytes,
      moduleBytes: c.limits.moduleBytes,
      fuel: fuelOf(c.limits.fuel),
      ...(c.limits.queueEvents !== undefined ? { queueEvents: c.limits.queueEvents } : {}),
      ...quotasOf(c.limits),
    },
    probation: { ...DEFAULT_PROBATION, ...c.probation },
    snapshot: c.snapshot,
    durability: c.durability,
    wasi: c.wasi,
    capabilities: parseCapabilities(c.capabilities, `${where}.capabilities`, fail),
  };
}

/** `limits.fuel`: false runs unmetered (null); budgets given override DEFAULT_FUEL's. */
function fuelOf(fuel: false | Partial<FuelBudgets> | undefined): FuelBudgets | null {
  return fuel === false ? null : { ...DEFAULT_FUEL, ...fuel };
}

/** The quota keys `limits` sets, as `{ quotas }`, or nothing when it sets none. */
function quotasOf(limits: Partial<QuotaLimits>): { quotas?: Partial<QuotaLimits> } {
  const quotas: Partial<QuotaLimits> = {};
  for (const key of Object.keys(DEFAULT_QUOTAS) as (keyof QuotaLimits)[]) {
    const value = limits[key];
    if (value !== undefined) quotas[key] = value;
  }
  return Object.keys(quotas).length > 0 ? { quotas } : {};
}

function applyOverrides(config: EngineConfig, overrides: ConfigOverrides): void {
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
  if (level) config.logLevel = oneOf(LOG_LEVELS, level, '--log-level / HOTSWAP_LOG_LEVEL');
  const format = overrides.logFormat ?? process.env.HOTSWAP_LOG_FORMAT;
  if (format) config.logFormat = oneOf(LOG_FORMATS, format, '--log-format / HOTSWAP_LOG_FORMAT');
  applyFleet(config, overrides.fleet ?? process.env.HOTSWAP_FLEET, overrides.node ?? process.env.HOTSWAP_NODE);
}

/** --fleet / --node (or their variables) join the engine to a fleet, or move it to another. */
function applyFleet(config: EngineConfig, servers: string | undefined, node: string | undefined): void {
  if (!servers && !node) return;
  const list = servers
    ? servers
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : config.fleet?.servers;
  const name = node ?? config.fleet?.node;
  if (!list?.length) throw new ConfigError('--node / HOTSWAP_NODE', 'needs the fleet too: --fleet nats://HOST:PORT or HOTSWAP_FLEET');
  if (!name) throw new ConfigError('--fleet / HOTSWAP_FLEET', 'needs a node name too: --node NAME or HOTSWAP_NODE');
  if (!NAME_PATTERN.test(name)) throw new ConfigError('--node / HOTSWAP_NODE', `must match ${NAME_PATTERN} (got "${name}")`);
  config.fleet = { ...config.fleet, servers: list, node: name };
}

function oneOf<T extends string>(allowed: readonly T[], value: string, what: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(what, `must be one of ${allowed.join(', ')} (got "${value}")`);
}
