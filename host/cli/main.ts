// The `hotswap` command: parses the arguments and runs each subcommand against the control API
// (or, for `start`, runs the engine in this process).
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ComponentStatus } from '../component/component.js';
import type { SwapReport } from '../component/swap.js';
import { loadConfig } from '../config.js';
import { tokenFileOf } from '../control/auth.js';
import { ControlPlane } from '../control/plane.js';
import { UPLOADER_HEADER } from '../control/server.js';
import { decodeSignature, SIGNATURE_HEADER } from '../control/signatures.js';
import { Logger } from '../log.js';
import type { HistoryEntry } from '../repository/history.js';
import type { ModuleVersion } from '../repository/store.js';
import { CliError, ControlClient, readToken } from './client.js';

const HELP = `hotswap: run and upgrade hot-swappable WebAssembly components

Usage:
  hotswap start [--config FILE] [--listen HOST:PORT] [--control HOST:PORT] [--data-dir DIR]
                [--log-level debug|info|warn|error] [--log-format text|json]
      Runs the engine (default config: config/default.json, component kv on 127.0.0.1:7400).
      Modules and history are kept in the data directory (default .hotswap); the bundled
      example modules are registered there at first start.
  hotswap status [component]
      Version, state, queue depth, events handled and the last upgrade.
  hotswap show <component>
      The status text the module itself produces.
  hotswap push <component> <file.wasm> --version V [--sign KEY.pem | --signature FILE]
      Uploads a module version to the repository after the engine's checks, with progress.
      --sign signs it with an Ed25519 private key; --signature sends a detached signature.
  hotswap upgrade <component> <version | path/to/module.wasm> [--version V]
      Swaps in another module version while the component keeps running. Prints from, to,
      the pause in microseconds, the events that queued during the swap and every phase.
      A .wasm path is pushed and swapped in at once.
  hotswap rollback <component> [version]
      Goes back to the version the running one replaced (or to the named one).
  hotswap versions <component>
      The stored versions: sha256, size, ABI and layout versions, upload time and uploader.
  hotswap history <component> [--limit N]
      Every upgrade, rollback and failure, newest first, with its cause.

Options:
  --control HOST:PORT   control endpoint (env HOTSWAP_CONTROL; default 127.0.0.1:7070)
  --token TOKEN         bearer token (env HOTSWAP_TOKEN; default: read from the data
                        directory, which the engine on this machine tells the CLI about)
  --data-dir DIR        data directory (env HOTSWAP_DATA_DIR; default .hotswap)
  --config FILE         configuration file (start; also where the CLI finds the data directory)
  --log-level LEVEL     start: debug, info, warn or error (env HOTSWAP_LOG_LEVEL; default info)
  --log-format FORMAT   start: text, or json for one JSON object per line (env HOTSWAP_LOG_FORMAT)
  --json                machine-readable output on stdout
  -h, --help            this help

Errors go to stderr, and the exit status is 1 (2 for a usage error).
`;

const options = {
  config: { type: 'string' },
  listen: { type: 'string' },
  control: { type: 'string' },
  'data-dir': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  token: { type: 'string' },
  version: { type: 'string' },
  sign: { type: 'string' },
  signature: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

class UsageError extends CliError {}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof options; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message} (see hotswap --help)`);
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP);
    return command || values.help ? 0 : 2;
  }
  const print = (human: string, data: unknown): void => {
    process.stdout.write(values.json ? `${JSON.stringify(data, null, 2)}\n` : human);
  };
  const usage = (text: string): never => {
    throw new UsageError(`usage: ${text}`);
  };

  if (command === 'start') return start(values);

  const given = values.token ?? (process.env.HOTSWAP_TOKEN || undefined);
  const client = new ControlClient(
    values.control ?? (process.env.HOTSWAP_CONTROL || undefined) ?? '127.0.0.1:7070',
    given ?? localToken(values),
    given !== undefined,
  );
  const path = (name: string, rest = ''): string => `/v1/components/${encodeURIComponent(name)}${rest}`;

  switch (command) {
    case 'status': {
      const [name] = args;
      const data = name
        ? [await client.request<ComponentStatus>('GET', path(name))]
        : await client.request<ComponentStatus[]>('GET', '/v1/components');
      print(data.map(formatStatus).join('\n'), name ? data[0] : data);
      return 0;
    }
    case 'show': {
      const [name] = args;
      if (!name) usage('hotswap show <component>');
      const text = await client.request<string>('GET', path(name!, '/show'));
      print(text.endsWith('\n') ? text : `${text}\n`, { component: name, text });
      return 0;
    }
    case 'push': {
      const [name, file] = args;
      const version = values.version;
      if (!name || !file || !version) usage('hotswap push <component> <file.wasm> --version V [--sign KEY.pem | --signature FILE]');
      const bytes = readFile(file!);
      const meta = await client.request<ModuleVersion>('PUT', path(name!, `/versions/${encodeURIComponent(version!)}`), {
        wasm: bytes,
        headers: uploadHeaders(bytes, values),
        onProgress: progress(`pushing ${name}@${version}`),
      });
      print(`pushed ${name} ${formatVersion(meta)}\n`, meta);
      return 0;
    }
    case 'upgrade': {
      const [name, target] = args;
      if (!name || !target) usage('hotswap upgrade <component> <version | path/to/module.wasm>');
      let body: Parameters<typeof client.request>[2];
      if (target!.endsWith('.wasm')) {
        const bytes = readFile(target!);
        body = { wasm: bytes, headers: uploadHeaders(bytes, values), onProgress: progress(`uploading ${target}`) };
      } else {
        body = { json: { version: target } };
      }
      const query = target!.endsWith('.wasm') && values.version ? `?version=${encodeURIComponent(values.version)}` : '';
      return printSwap(() => client.request<SwapReport>('POST', path(name!, `/upgrade${query}`), body), values.json, print);
    }
    case 'rollback': {
      const [name, version] = args;
      if (!name) usage('hotswap rollback <component> [version]');
      return printSwap(
        () => client.request<SwapReport>('POST', path(name!, '/rollback'), { json: version ? { version } : {} }),
        values.json,
        print,
      );
    }
    case 'versions': {
      const [name] = args;
      if (!name) usage('hotswap versions <component>');
      const list = await client.request<(ModuleVersion & { running: boolean })[]>('GET', path(name!, '/versions'));
      print(formatVersions(list), list);
      return 0;
    }
    case 'history': {
      const [name] = args;
      if (!name) usage('hotswap history <component> [--limit N]');
      const limit = values.limit ? `?limit=${encodeURIComponent(values.limit)}` : '';
      const list = await client.request<HistoryEntry[]>('GET', path(name!, `/history${limit}`));
      print(formatHistory(list), list);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}" (see hotswap --help)`);
  }
}

type Values = { [K in keyof typeof options]?: (typeof options)[K]['type'] extends 'string' ? string : boolean };

async function start(values: Values): Promise<number> {
  const config = loadConfig(values.config, {
    ...(values.listen ? { listen: values.listen } : {}),
    ...(values.control ? { control: values.control } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    ...(values['log-level'] ? { logLevel: values['log-level'] } : {}),
    ...(values['log-format'] ? { logFormat: values['log-format'] } : {}),
  });
  if (values.token) config.control.token = values.token;
  const log = new Logger('engine', config.logLevel, undefined, config.logFormat);
  // The control server logs "control endpoint on http://…" itself, once per bound address.
  const plane = await ControlPlane.start(config, { logger: log });
  const engine = plane.engine;
  log.info(
    `ready: ${engine
      .names()
      .map((n) => `${n}@${engine.component(n).module?.version}`)
      .join(', ')}`,
  );
  await new Promise<void>((done) => {
    const stop = (sig: string): void => {
      log.info(`${sig}: stopping`);
      done();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await plane.stop();
  return 0;
}

/** The token an engine on this machine generated into the data directory the CLI would use. */
function localToken(values: Values): string | undefined {
  let dataDir = values['data-dir'] ?? (process.env.HOTSWAP_DATA_DIR || undefined);
  if (!dataDir && values.config) {
    try {
      dataDir = loadConfig(values.config).dataDir;
    } catch {
      // A broken config is start's business; the engine can still tell us where its token is.
    }
  }
  return readToken(tokenFileOf(resolve(dataDir ?? '.hotswap')));
}

/** Signature (made with --sign, or read from --signature) and uploader headers for an upload. */
function uploadHeaders(bytes: Uint8Array, values: Values): Record<string, string> {
  const headers: Record<string, string> = { [UPLOADER_HEADER]: `${safeUser()}@${hostname()}` };
  if (values.sign && values.signature) throw new UsageError('give either --sign KEY or --signature FILE, not both');
  if (values.sign) {
    let key: KeyObject;
    try {
      key = createPrivateKey(readFileSync(values.sign));
    } catch (e) {
      throw new CliError(`cannot use ${values.sign} as a private key: ${(e as Error).message}`);
    }
    if (key.asymmetricKeyType !== 'ed25519')
      throw new CliError(`${values.sign}: expected an Ed25519 private key, got ${key.asymmetricKeyType}`);
    headers[SIGNATURE_HEADER] = sign(null, bytes, key).toString('base64');
  } else if (values.signature) {
    headers[SIGNATURE_HEADER] = decodeSignature(readFile(values.signature)).toString('base64');
  }
  return headers;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** Upload progress on stderr: a live line on a terminal, a few milestones otherwise (logs). */
function progress(label: string): (sent: number, total: number) => void {
  const tty = process.stderr.isTTY;
  let lastQuarter = -1;
  return (sent, total) => {
    const pct = total === 0 ? 100 : Math.floor((sent * 100) / total);
    const line = `${label}: ${pct}% (${kib(sent)} of ${kib(total)})`;
    if (tty) {
      process.stderr.write(`\r${line}${sent === total ? '\n' : ''}`);
    } else if (Math.floor(pct / 25) > lastQuarter) {
      lastQuarter = Math.floor(pct / 25);
      process.stderr.write(`${line}\n`);
    }
  };
}

async function printSwap(
  run: () => Promise<SwapReport>,
  json: boolean | undefined,
  print: (h: string, d: unknown) => void,
): Promise<number> {
  let report: SwapReport;
  try {
    report = await run();
  } catch (e) {
    const data = (e as CliError).data as { report?: SwapReport } | undefined;
    if (data?.report) {
      if (json) process.stdout.write(`${JSON.stringify(data.report, null, 2)}\n`);
      else process.stderr.write(formatReport(data.report));
    }
    throw e;
  }
  print(formatReport(report), report);
  return 0;
}

function readFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

const kib = (n: number): string => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`);

function formatReport(r: SwapReport): string {
  const phases = Object.entries(r.phasesUs)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `${r.component}: ${r.reason === 'rollback' ? 'rollback ' : ''}${r.from ?? '(none)'} -> ${r.to} ${r.result}\n` +
    (r.cause ? `  cause: ${r.cause}\n` : '') +
    `  pause: ${r.pauseUs} µs\n` +
    `  events queued during the swap: ${r.queued}\n` +
    `  phases (µs): ${phases}\n` +
    (r.layout.from !== r.layout.to ? `  data layout: ${r.layout.from} -> ${r.layout.to}\n` : '')
  );
}

function formatStatus(s: ComponentStatus): string {
  const h = s.handled;
  return (
    `${s.name}: ${s.module}@${s.version} ${s.state}\n` +
    `  queue depth: ${s.queueDepth}\n` +
    `  events handled: ${h.message} messages, ${h.timer} timers, ${h.signal} signals, ${h.upgrade} upgrades\n` +
    `  faults: ${s.faults}, timers set: ${s.timers}, persistent bytes: ${s.persistentBytes}\n` +
    (s.lastUpgrade
      ? `  last upgrade: ${s.lastUpgrade.from} -> ${s.lastUpgrade.to} ${s.lastUpgrade.result} (${s.lastUpgrade.pauseUs} µs)\n`
      : '')
  );
}

function formatVersion(v: ModuleVersion): string {
  return (
    `${v.version} sha256 ${v.sha256.slice(0, 12)}… ${kib(v.size)}, ABI ${v.abiVersion ?? '?'}, layout ${v.layoutVersion ?? '?'}, ` +
    `${v.signature ? 'signed' : 'unsigned'}`
  );
}

/** Aligned columns, like `wrangler versions list` or `docker images`. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    `${cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()}\n`;
  return line(header) + rows.map(line).join('');
}

function formatVersions(list: (ModuleVersion & { running: boolean })[]): string {
  if (list.length === 0) return '(no versions stored)\n';
  return table(
    ['', 'VERSION', 'SHA256', 'SIZE', 'ABI', 'LAYOUT', 'UPLOADED', 'BY', 'SIGNED'],
    list.map((v) => [
      v.running ? '*' : '',
      v.version,
      v.sha256.slice(0, 12),
      kib(v.size),
      String(v.abiVersion ?? '?'),
      String(v.layoutVersion ?? '?'),
      v.uploadedAt,
      v.uploadedBy,
      v.signature ? 'yes' : 'no',
    ]),
  );
}

function formatHistory(list: HistoryEntry[]): string {
  if (list.length === 0) return '(no history yet)\n';
  return table(
    ['AT', 'KIND', 'FROM', 'TO', 'RESULT', 'PAUSE_US', 'QUEUED', 'CAUSE'],
    list.map((h) => [
      h.at,
      h.kind,
      h.from ?? '-',
      h.to ?? '-',
      h.result,
      h.pauseUs === null ? '-' : String(h.pauseUs),
      h.queued === null ? '-' : String(h.queued),
      h.cause ?? '',
    ]),
  );
}

// Exit once stdout and stderr are flushed: a pipe is written asynchronously, and a large --json
// answer would otherwise be cut short by process.exit.
const exit = (code: number): void => {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
};

main(process.argv.slice(2)).then(exit, (e: unknown) => {
  const err = e as Error;
  const known = err instanceof CliError || err.name === 'ConfigError';
  process.stderr.write(`hotswap: ${known ? err.message : (err.stack ?? err.message)}\n`);
  exit(err instanceof UsageError ? 2 : 1);
});
