/**
 * The `capabilities` section of a component's configuration: which host capabilities the
 * component's modules may use. Nothing is granted unless it is named here (docs/RIP.md).
 *
 *   "capabilities": {
 *     "net":      { "interfaces": ["eth0", "eth1"], "port": 520, "group": "224.0.0.9" },
 *     "routes":   { "protocol": "rip", "metric": 20 },
 *     "settings": { "update": 30, "timeout": 180, "garbage": 120 }
 *   }
 */
export interface NetCapabilityConfig {
  /** Interfaces that get sockets (they speak the protocol). Omitted: every IPv4 non-loopback interface. */
  interfaces?: string[];
  /** UDP port bound on every active interface (RIP: 520). */
  port: number;
  /** Multicast group joined on every active interface (RIPv2: 224.0.0.9). */
  group: string;
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

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/;
const PROTOCOL = /^[A-Za-z0-9_-]{1,32}$/;

type Fail = (message: string) => never;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and validates `components[i].capabilities`; every error names the field. */
export function parseCapabilities(raw: unknown, where: string, fail: Fail): CapabilitiesConfig {
  if (raw === undefined) return {};
  if (!isObject(raw)) return fail(`${where} must be an object`);
  const known = ['net', 'routes', 'settings'];
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) fail(`${where}.${key}: unknown capability (known: ${known.join(', ')})`);
  }
  const out: CapabilitiesConfig = {};
  if (raw.net !== undefined) {
    const net = isObject(raw.net) ? raw.net : fail(`${where}.net must be an object`);
    const port = Number(net.port ?? 520);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`${where}.net.port must be 1..65535`);
    const group = String(net.group ?? '224.0.0.9');
    const g = IPV4.exec(group);
    if (!g || Number(g[1]) < 224 || Number(g[1]) > 239) fail(`${where}.net.group "${group}" must be an IPv4 multicast address`);
    const cfg: NetCapabilityConfig = { port, group };
    if (net.interfaces !== undefined) {
      if (!Array.isArray(net.interfaces) || net.interfaces.length === 0) fail(`${where}.net.interfaces must be a non-empty array of interface names`);
      cfg.interfaces = (net.interfaces as unknown[]).map((n, j) =>
        typeof n === 'string' && IFNAME.test(n) ? n : fail(`${where}.net.interfaces[${j}] "${String(n)}" is not an interface name`),
      );
    }
    out.net = cfg;
  }
  if (raw.routes !== undefined) {
    const routes = isObject(raw.routes) ? raw.routes : fail(`${where}.routes must be an object`);
    const protocol = String(routes.protocol ?? 'rip');
    if (!PROTOCOL.test(protocol)) fail(`${where}.routes.protocol "${protocol}" must be a protocol name or number`);
    const metric = Number(routes.metric ?? 20);
    if (!Number.isInteger(metric) || metric < 0 || metric > 0xffffffff) fail(`${where}.routes.metric must be a u32`);
    out.routes = { protocol, metric };
  }
  if (raw.settings !== undefined) {
    const settings = isObject(raw.settings) ? raw.settings : fail(`${where}.settings must be an object`);
    const flat: Record<string, string> = {};
    for (const [key, value] of Object.entries(settings)) {
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') flat[key] = String(value);
      else if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) flat[key] = value.join(',');
      else fail(`${where}.settings.${key} must be a string, number, boolean or a list of them`);
    }
    out.settings = flat;
  }
  return out;
}
