// The JSON schema of the engine's configuration file: every field, its type, its allowed values
// and its default. loadConfig (host/config.ts) validates a file against it in one pass.
import { MEMORY_BASE, SIGNALS } from '../abi/abi.js';
import { CAPABILITIES_SCHEMA } from '../capabilities/config.js';
import type { QuotaLimits } from '../component/quotas.js';
import type { SnapshotPolicy } from '../component/swap.js';
import { DEFAULT_DURABILITY, DURABILITY_LEVELS, type Durability } from '../durability/levels.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevelName } from '../log.js';
import { DEFAULT_MEMORY_BYTES, DEFAULT_MODULE_BYTES } from '../modules/check.js';
import { DEFAULT_FUEL, type FuelBudgets, MAX_FUEL } from '../modules/fuel-budgets.js';
import { NAME_PATTERN, VERSION_MAX_LENGTH, VERSION_PATTERN, VERSION_RULE } from '../repository/repository.js';

export const SNAPSHOT_POLICIES = ['incremental', 'always', 'migrations', 'never'] as const satisfies readonly SnapshotPolicy[];

/** Defaults that are not plain values in the schema (defined with ModulePolicy, which a test harness also builds). */
export { DEFAULT_MEMORY_BYTES, DEFAULT_MODULE_BYTES };

const name = { type: 'string', pattern: NAME_PATTERN.source, hint: `match ${NAME_PATTERN}` } as const;
const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;

const LISTEN = {
  type: 'object',
  additionalProperties: false,
  required: ['proto', 'port'],
  properties: {
    proto: { enum: ['udp', 'tcp'] },
    host: { type: 'string', minLength: 1, default: '127.0.0.1' },
    port,
  },
} as const;

/** `limits.fuel`: false runs modules unmetered; an object sets budgets over DEFAULT_FUEL. */
const FUEL_HINT = 'be false (unmetered) or an object of budgets per callback kind';
const FUEL = {
  type: ['boolean', 'object'],
  hint: FUEL_HINT,
  if: { type: 'boolean' },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keywords, not a thenable
  then: { const: false, hint: FUEL_HINT },
  else: {
    additionalProperties: false,
    properties: Object.fromEntries(Object.keys(DEFAULT_FUEL).map((kind) => [kind, { type: 'integer', minimum: 1, maximum: MAX_FUEL }])),
  },
} as const;

/** One component: an entry of `components`, and the body of `POST /v1/components`. */
export const COMPONENT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'version'],
  properties: {
    name,
    module: name,
    version: { type: 'string', maxLength: VERSION_MAX_LENGTH, pattern: VERSION_PATTERN.source, hint: `be ${VERSION_RULE}` },
    listen: { type: 'array', items: LISTEN, default: [] },
    signals: { type: 'array', uniqueItems: true, items: { enum: Object.keys(SIGNALS) }, default: [] },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        memoryBytes: {
          type: 'integer',
          exclusiveMinimum: MEMORY_BASE,
          hint: `be a number of bytes greater than the modules' memoryBase (${MEMORY_BASE})`,
          default: DEFAULT_MEMORY_BYTES,
        },
        moduleBytes: { type: 'integer', minimum: 1, default: DEFAULT_MODULE_BYTES },
        fuel: FUEL,
        // Import quotas: defaults in DEFAULT_QUOTAS (host/component/quotas.ts), filled in by loadConfig.
        queueEvents: { type: 'integer', minimum: 1 },
        timers: { type: 'integer', minimum: 0 },
        timerMinPeriodMs: { type: 'number', minimum: 0 },
        logLinesPerSecond: { type: 'integer', minimum: 0 },
        logBytesPerSecond: { type: 'integer', minimum: 0 },
        outputBytes: { type: 'integer', minimum: 0 },
        sendsPerCallback: { type: 'integer', minimum: 0 },
        sendBytesPerCallback: { type: 'integer', minimum: 0 },
        sendsPerSecond: { type: 'integer', minimum: 0 },
        sendBytesPerSecond: { type: 'integer', minimum: 0 },
        quotaFaults: { type: 'integer', minimum: 0 },
      },
    },
    // Defaults: DEFAULT_PROBATION, filled in by loadConfig (the component layer owns them).
    probation: {
      type: 'object',
      additionalProperties: false,
      properties: {
        windowMs: { type: 'number', minimum: 0 },
        maxFaults: { type: 'integer', minimum: 0 },
      },
    },
    snapshot: { enum: SNAPSHOT_POLICIES, default: 'incremental' },
    // Crash survival (docs/DURABILITY.md): the journal and what an acknowledged output survives.
    durability: { enum: DURABILITY_LEVELS, default: DEFAULT_DURABILITY },
    wasi: { type: 'boolean', default: false },
    capabilities: CAPABILITIES_SCHEMA,
  },
} as const;

export const ENGINE_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['components'],
  properties: {
    dataDir: { type: 'string', minLength: 1, default: '.hotswap' },
    logLevel: { enum: LOG_LEVELS, default: 'info' },
    logFormat: { enum: LOG_FORMATS, default: 'text' },
    control: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: { type: 'string', minLength: 1, default: '127.0.0.1' },
        port: { ...port, default: 7070 },
        token: { type: 'string' },
        uploadLimitBytes: { type: 'integer', minimum: 1 },
        trustedKey: { type: 'string', minLength: 1 },
      },
    },
    // How the dispatcher slices its work between the event loop's turns (host/component/options.ts).
    dispatch: {
      type: 'object',
      additionalProperties: false,
      properties: {
        sliceEvents: { type: 'integer', minimum: 1 },
        sliceMs: { type: 'number', exclusiveMinimum: 0 },
        sharedSliceMs: { type: 'number', exclusiveMinimum: 0 },
        syncWaitSliceMs: { type: 'number', exclusiveMinimum: 0 },
      },
    },
    // What a component created over the control API (POST /v1/components) may be granted.
    deploy: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        capabilities: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            net: {
              type: ['boolean', 'array'],
              items: { type: 'string', minLength: 1 },
              default: false,
              hint: 'be true, false or a list of interface names',
            },
            routes: { type: 'boolean', default: false },
            settings: { type: 'boolean', default: true },
          },
        },
      },
    },
    components: { type: 'array', items: COMPONENT_SCHEMA },
    // Joining a fleet over NATS JetStream (host/fleet/, docs/FLEET.md).
    fleet: {
      type: 'object',
      additionalProperties: false,
      required: ['servers', 'node'],
      properties: {
        servers: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
        node: name,
        domain: { type: 'string', minLength: 1 },
        heartbeatMs: { type: 'integer', minimum: 50 },
        pollMs: { type: 'integer', minimum: 50 },
      },
    },
  },
} as const;

/** A configuration file as it is once the schema accepted it and filled in its defaults. */
export interface CheckedConfig {
  dataDir: string;
  logLevel: LogLevelName;
  logFormat: LogFormat;
  control: { host: string; port: number; token?: string; uploadLimitBytes?: number; trustedKey?: string };
  dispatch?: { sliceEvents?: number; sliceMs?: number; sharedSliceMs?: number; syncWaitSliceMs?: number };
  deploy: { capabilities: DeployAllowList };
  fleet?: { servers: string[]; node: string; domain?: string; heartbeatMs?: number; pollMs?: number };
  components: CheckedComponent[];
}

/**
 * The capabilities a component created over the control API may be granted: `net` on any
 * interface (true) or only on the ones listed, `routes`, `settings`. Nothing else is ever granted
 * that way; a configured component is the operator's own and is not limited by this.
 */
export interface DeployAllowList {
  net: boolean | string[];
  routes: boolean;
  settings: boolean;
}

/** One component as the schema accepted it, defaults filled in. */
export type CheckedComponent = {
  name: string;
  module?: string;
  version: string;
  listen: { proto: 'udp' | 'tcp'; host: string; port: number }[];
  signals: (keyof typeof SIGNALS)[];
  limits: { memoryBytes: number; moduleBytes: number; fuel?: false | Partial<FuelBudgets>; queueEvents?: number } & Partial<QuotaLimits>;
  probation?: { windowMs?: number; maxFaults?: number };
  snapshot: SnapshotPolicy;
  durability: Durability;
  wasi: boolean;
  /** Normalised (settings flattened to text) by parseCapabilities. */
  capabilities?: unknown;
};
