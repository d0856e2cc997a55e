// The `hotswap` command: parses the arguments and runs each subcommand against the control API
// (or, for `start`, runs the engine in this process).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ComponentStatus } from '../component/component.js';
import type { SwapReport } from '../component/swap.js';
import { loadConfig } from '../config.js';
import { tokenFileOf } from '../control/auth.js';
import { ControlPlane } from '../control/plane.js';
import { Logger } from '../log.js';
import type { HistoryEntry } from '../repository/history.js';
import type { ModuleVersion } from '../repository/store.js';
import { CliError, ControlClient, readToken, UsageError } from './client.js';
import { deploy, formatDeployed, remove } from './deploy.js';
import { joinFleet } from './fleet-node.js';
import { formatHistory, formatReport, formatStatus, formatVersion, formatVersions } from './format.js';
import { rollout } from './rollout.js';
import { progress, readFile, uploadHeaders } from './upload.js';

const HELP = `hotswap: run and upgrade hot-swappable WebAssembly components

Usage:
  hotswap start [--config FILE] [--listen HOST:PORT] [--control HOST:PORT] [--data-dir DIR]
                [--log-level debug|info|warn|error] [--log-format text|json] [--fleet URL[,…] --node NAME]
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
  hotswap deploy <name> <version | file.wasm> --listen udp://HOST:PORT [--listen tcp://HOST:PORT]
                 [--module M] [--capabilities JSON] [--limits JSON] [--signal NAME] [--version V]
      Creates and starts a component on the running engine; kept across restarts.
  hotswap remove <name> [--drop-data]
      Stops a component (its module's final TERM) and frees its ports; --drop-data forgets its history.
  hotswap new <name> [--dir DIR] [--engine SPEC]
      Scaffolds a module project: package.json, asconfig.json, assembly/index.ts (a counter), a test.
  hotswap build [entry.ts] [--out FILE] [--version V]
      Compiles a module project with the engine's asc flags, then runs the engine's checks on it.
  hotswap rollout <component> <version | file.wasm> [--version V] [--canary N] [--steps 10,50,100]
                  [--hold 30s] [--max-faults N] [--timeout 120s] [--sign KEY.pem]
      Rolls a version out to every engine of the fleet (docs/FLEET.md): the canary nodes, then
      each step's share, each gated on probation and the hold; any failure reverts them all.
      Exit status: 0 done, 3 halted and reverted, 4 aborted, 5 refused (another rollout).
  hotswap rollout status <component> | hotswap rollout abort <component>

Options:
  --control HOST:PORT   control endpoint (env HOTSWAP_CONTROL; default 127.0.0.1:7070)
  --token TOKEN         bearer token (env HOTSWAP_TOKEN; default: read from the data
                        directory, which the engine on this machine tells the CLI about)
  --data-dir DIR        data directory (env HOTSWAP_DATA_DIR; default .hotswap)
  --config FILE         configuration file (start; also where the CLI finds the data directory)
  --fleet URL[,…]       NATS servers of the fleet (start, rollout; env HOTSWAP_FLEET)
  --node NAME           start: this engine's name in the fleet (env HOTSWAP_NODE)
  --log-level LEVEL     start: debug, info, warn or error (env HOTSWAP_LOG_LEVEL; default info)
  --log-format FORMAT   start: text, or json for one JSON object per line (env HOTSWAP_LOG_FORMAT)
  --json                machine-readable output on stdout
  -h, --help            this help

Errors go to stderr, and the exit status is 1 (2 for a usage error).
`;

const options = {
  config: { type: 'string' },
  listen: { type: 'string', multiple: true },
  control: { type: 'string' },
  'data-dir': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  token: { type: 'string' },
  version: { type: 'string' },
  sign: { type: 'string' },
  signature: { type: 'string' },
  limit: { type: 'string' },
  module: { type: 'string' },
  capabilities: { type: 'string' },
  limits: { type: 'string' },
  signal: { type: 'string', multiple: true },
  'drop-data': { type: 'boolean', default: false },
  dir: { type: 'string' },
  engine: { type: 'string' },
  out: { type: 'string' },
  fleet: { type: 'string' },
  node: { type: 'string' },
  canary: { type: 'string' },
  steps: { type: 'string' },
  hold: { type: 'string' },
  'max-faults': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

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
  if (command === 'new' || command === 'build') {
    // Module projects: no engine needed. Imported here: the checks it loads would slow every other command's start.
    const { build, scaffold } = await import('./author.js');
    process.stdout.write(command === 'new' ? scaffold(args[0], values) : await build(args[0], values));
    return 0;
  }
  if (command === 'rollout') return rollout(args, values);

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
    case 'deploy': {
      const deployed = await deploy(client, args, values);
      print(formatDeployed(deployed), deployed);
      return 0;
    }
    case 'remove': {
      const removed = await remove(client, args, values['drop-data'] ?? false);
      print(`removed ${removed.removed} (data ${removed.data})\n`, removed);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}" (see hotswap --help)`);
  }
}

type Values = {
  [K in keyof typeof options]?: (typeof options)[K] extends { multiple: true }
    ? string[]
    : (typeof options)[K]['type'] extends 'string'
      ? string
      : boolean;
};

async function start(values: Values): Promise<number> {
  const config = loadConfig(values.config, {
    ...(values.listen?.length ? { listen: values.listen.at(-1)! } : {}),
    ...(values.control ? { control: values.control } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    ...(values['log-level'] ? { logLevel: values['log-level'] } : {}),
    ...(values['log-format'] ? { logFormat: values['log-format'] } : {}),
    ...(values.fleet ? { fleet: values.fleet } : {}),
    ...(values.node ? { node: values.node } : {}),
  });
  if (values.token) config.control.token = values.token;
  const log = new Logger('engine', config.logLevel, undefined, config.logFormat);
  // The control server logs "control endpoint on http://…" itself, once per bound address.
  const plane = await ControlPlane.start(config, { logger: log });
  const engine = plane.engine;
  const fleet = joinFleet(config, engine, log);
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
  await fleet?.stop();
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
