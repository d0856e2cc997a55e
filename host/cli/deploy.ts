// `hotswap deploy` and `hotswap remove`: create a component on a running engine (a stored
// version, or a .wasm file sent along) and remove one, through POST and DELETE /v1/components.
import type { ComponentStatus } from '../component/component.js';
import { CliError, type ControlClient, UsageError } from './client.js';
import { readFile, uploadHeaders } from './upload.js';

export interface DeployValues {
  listen?: string[];
  module?: string;
  capabilities?: string;
  limits?: string;
  signal?: string[];
  sign?: string;
  signature?: string;
  version?: string;
}

const DEPLOY_USAGE =
  'hotswap deploy <name> <version | file.wasm> --listen udp://HOST:PORT [--listen tcp://HOST:PORT] ' +
  '[--module M] [--capabilities JSON] [--limits JSON] [--signal SIGHUP] [--version V]';

/** `udp://127.0.0.1:7600` → a listener of the component's configuration. */
export function parseListen(text: string): { proto: 'udp' | 'tcp'; host: string; port: number } {
  const m = /^(udp|tcp):\/\/(.+):(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen "${text}" must be udp://HOST:PORT or tcp://HOST:PORT`);
  return { proto: m[1] as 'udp' | 'tcp', host: m[2]!.replace(/^\[(.*)\]$/, '$1'), port };
}

function json(text: string | undefined, flag: string): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`${flag} must be JSON: ${(e as Error).message}`);
  }
}

export interface Deployed extends ComponentStatus {
  addresses: { proto: string; host: string; port: number }[];
}

export async function deploy(client: ControlClient, args: string[], values: DeployValues): Promise<Deployed> {
  const [name, target] = args;
  if (!name || !target) throw new UsageError(`usage: ${DEPLOY_USAGE}`);
  const capabilities = json(values.capabilities, '--capabilities');
  const limits = json(values.limits, '--limits');
  const spec: Record<string, unknown> = {
    name,
    listen: (values.listen ?? []).map(parseListen),
    ...(values.module ? { module: values.module } : {}),
    ...(capabilities ? { capabilities } : {}),
    ...(limits ? { limits } : {}),
    ...(values.signal?.length ? { signals: values.signal } : {}),
  };
  let headers: Record<string, string> = {};
  if (target.endsWith('.wasm')) {
    const bytes = readFile(target);
    headers = uploadHeaders(bytes, values);
    spec.wasm = Buffer.from(bytes).toString('base64');
    if (values.version) spec.version = values.version;
  } else {
    spec.version = target;
  }
  return client.request<Deployed>('POST', '/v1/components', { json: spec, headers });
}

export function formatDeployed(d: Deployed): string {
  const at = d.addresses.map((a) => `${a.proto} ${a.host}:${a.port}`).join(', ') || 'no listeners';
  return `deployed ${d.name}: ${d.module}@${d.version} ${d.state} on ${at}\n`;
}

export async function remove(client: ControlClient, args: string[], dropData: boolean): Promise<{ removed: string; data: string }> {
  const [name] = args;
  if (!name) throw new UsageError('usage: hotswap remove <name> [--drop-data]');
  if (args.length > 1) throw new CliError(`hotswap remove takes one component (got ${args.join(', ')})`);
  return client.request('DELETE', `/v1/components/${encodeURIComponent(name)}${dropData ? '?data=drop' : ''}`);
}
