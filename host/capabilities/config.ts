// The `capabilities` section of a component's configuration: its types, its schema, and its
// normalised form.
import { SchemaCheck } from '../schema.js';

/**
 * The `capabilities` section of a component's configuration: which host capabilities the
 * component's modules may use. Nothing is granted unless it is named here (docs/RIP.md).
 *
 *   "capabilities": {
 *     "net":      { "interfaces": ["eth0", "eth1"], "port": 520, "group": "224.0.0.9" },
 *     "routes":   { "protocol": "rip", "metric": 20 },
 *     "settings": { "update": 30, "timeout": 180, "garbage": 120,
 *                   "interfaces": { "eth1": { "send": "broadcast", "auth": "md5", "keyChain": "k" } } }
 *   }
 */
export interface NetCapabilityConfig {
  /** Interfaces that get sockets (they speak the protocol). Omitted: every IPv4 non-loopback interface. */
  interfaces?: string[];
  /** UDP port bound on every active interface (RIP: 520). */
  port: number;
  /** Multicast group joined on every active interface (RIPv2: 224.0.0.9). */
  group: string;
  /** How datagrams leave each interface (host/capabilities/pacing.ts); `interfaces` overrides it per interface. */
  pacing: NetPacingConfig & { interfaces?: Record<string, Partial<NetPacingConfig>> };
  /** SO_RCVBUF of the receive socket, in bytes (the kernel caps it at net.core.rmem_max). */
  receiveBuffer: number;
}

/** One interface's output pacing: `burst` datagrams at once, then one every `gapMs`; at most `queue` waiting. */
export interface NetPacingConfig {
  burst: number;
  gapMs: number;
  queue: number;
}

/** The pacing of interface `name`: the section's values with that interface's overrides. */
export function pacingOf(net: NetCapabilityConfig, name: string): NetPacingConfig {
  const { interfaces, ...all } = net.pacing;
  return { ...all, ...interfaces?.[name] };
}

export interface RoutesCapabilityConfig {
  /** `proto` of the kernel routes installed (a name from /etc/iproute2/rt_protos or a number). */
  protocol: string;
  /** Kernel route priority (`metric`): fixed, so a replace never leaves a second route behind. */
  metric: number;
}

export interface CapabilitiesConfig {
  net?: NetCapabilityConfig;
  routes?: RoutesCapabilityConfig;
  /** Flat key → text map the module reads with hs.settings_get (numbers and lists as text). */
  settings?: Record<string, string>;
}

/** An IPv4 multicast address: 224.0.0.0 to 239.255.255.255. */
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const MULTICAST = `^(22[4-9]|23[0-9])(\\.${OCTET}){3}$`;

/** How deep settings may nest: `keyChains.<chain>.<id>.secret` is four levels. */
const SETTINGS_DEPTH = 4;

/** A setting: text, a number, a flag, a list of those, or (to `depth` levels) an object of settings. */
function settingSchema(depth: number): Record<string, unknown> {
  const scalar = { type: ['string', 'number', 'boolean', 'array'], items: { type: ['string', 'number'] } };
  if (depth <= 1) return { ...scalar, hint: 'be a string, number, boolean or a list of strings and numbers' };
  return {
    type: [...scalar.type, 'object'],
    items: scalar.items,
    additionalProperties: settingSchema(depth - 1),
    hint: `be a string, number, boolean, a list of strings and numbers, or an object of those (${depth} levels at most)`,
  };
}

/**
 * Pacing defaults: 16 datagrams at once, then one per 5 ms (200/s per interface), so a full
 * update of 10,000 routes (400 datagrams) takes about 2 s, well inside a 30 s update interval,
 * and a neighbour whose receive buffer holds 30 datagrams may stall 150 ms without losing one
 * (docs/RIP.md, "Scale"). The queue holds 10 such updates.
 */
const PACING_OVERRIDES = {
  burst: { type: 'integer', minimum: 1, maximum: 65536 },
  gapMs: { type: 'number', minimum: 0, maximum: 1000 },
  queue: { type: 'integer', minimum: 1, maximum: 1 << 20 },
} as const;
const PACING_FIELDS = {
  burst: { ...PACING_OVERRIDES.burst, default: 16 },
  gapMs: { ...PACING_OVERRIDES.gapMs, default: 5 },
  queue: { ...PACING_OVERRIDES.queue, default: 4096 },
} as const;

/**
 * The JSON schema of the section (defaults included); the engine's configuration schema embeds
 * it, so one validation reports every mistake in the file with its field (host/schema.ts).
 */
export const CAPABILITIES_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    net: {
      type: 'object',
      additionalProperties: false,
      properties: {
        interfaces: {
          type: 'array',
          minItems: 1,
          items: { type: 'string', pattern: '^[A-Za-z0-9_.:@-]{1,15}$', hint: 'be an interface name (1 to 15 of A-Z a-z 0-9 _ . : @ -)' },
        },
        port: { type: 'integer', minimum: 1, maximum: 65535, default: 520 },
        group: {
          type: 'string',
          pattern: MULTICAST,
          hint: 'be an IPv4 multicast address (224.0.0.0 to 239.255.255.255)',
          default: '224.0.0.9',
        },
        pacing: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            ...PACING_FIELDS,
            interfaces: {
              type: 'object',
              additionalProperties: { type: 'object', additionalProperties: false, properties: PACING_OVERRIDES },
            },
          },
        },
        receiveBuffer: { type: 'integer', minimum: 4096, maximum: 1 << 30, default: 1 << 20 },
      },
    },
    routes: {
      type: 'object',
      additionalProperties: false,
      properties: {
        protocol: {
          type: 'string',
          pattern: '^[A-Za-z0-9_-]{1,32}$',
          hint: 'be a protocol name or number (as in /etc/iproute2/rt_protos)',
          default: 'rip',
        },
        metric: { type: 'integer', minimum: 0, maximum: 0xffffffff, default: 20 },
      },
    },
    settings: { type: 'object', additionalProperties: settingSchema(SETTINGS_DEPTH) },
  },
} as const;

/** The section as it is once the schema accepted it and filled in its defaults. */
type Setting = string | number | boolean | (string | number)[] | { [key: string]: Setting };

interface CheckedCapabilities {
  net?: NetCapabilityConfig;
  routes?: RoutesCapabilityConfig;
  settings?: Record<string, Setting>;
}

type Fail = (message: string) => never;

const check = new SchemaCheck<CheckedCapabilities>(CAPABILITIES_SCHEMA);

/**
 * Validates `components[i].capabilities` against CAPABILITIES_SCHEMA (every error names the
 * field, under `where`) and flattens settings to the text the module reads.
 */
export function parseCapabilities(raw: unknown, where: string, fail: Fail): CapabilitiesConfig {
  if (raw === undefined) return {};
  const checked = check.check(raw, where);
  if (!checked.ok) return fail(checked.problems.join('; '));
  const { net, routes, settings } = checked.value;
  const out: CapabilitiesConfig = {};
  if (net) out.net = net;
  if (routes) out.routes = routes;
  if (settings) out.settings = flattenSettings(settings);
  return out;
}

/**
 * Settings as the module reads them (hs.settings_get): lists joined by commas, nested objects as
 * dotted keys, and each object's own key listing its members, so a module can walk them:
 * `{"keyChains": {"k": {"1": {"secret": "s"}}}}` → `keyChains` = "k", `keyChains.k` = "1",
 * `keyChains.k.1` = "secret", `keyChains.k.1.secret` = "s".
 */
export function flattenSettings(settings: Record<string, Setting>, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  for (const [key, value] of Object.entries(settings)) {
    const at = `${prefix}${key}`;
    if (Array.isArray(value)) out[at] = value.join(',');
    else if (typeof value === 'object') {
      out[at] = Object.keys(value).join(',');
      flattenSettings(value, `${at}.`, out);
    } else out[at] = String(value);
  }
  return out;
}
