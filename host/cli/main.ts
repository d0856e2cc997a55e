// The `hotswap` command: parses the arguments and runs each subcommand against the control API
// (or, for `start`, runs the engine in this process).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ComponentStatus } from '../component/component.js';
import type { SwapReport } from '../component/swap.js';
import { tokenFileOf } from '../control/auth.js';
import type { HistoryEntry } from '../repository/history.js';
import type { ModuleVersion } from '../repository/store.js';
import { CliError, ControlClient, readToken, UsageError } from './client.js';
import { deploy, formatDeployed, remove } from './deploy.js';
import { formatHistory, formatReport, formatStatus, formatVersion, formatVersions } from './format.js';
import { HELP, options, type Values } from './options.js';
import { progress, readFile, uploadHeaders } from './upload.js';

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

  // The engine, the fleet client and the config schema are imported by the commands that need
  // them: loaded up front they cost every `hotswap status` about 1.5 s of CPU (measured), which a
  // loaded 2-core machine takes from the engine it is talking to.
  if (command === 'start') return (await import('./start.js')).start(values);
  if (command === 'new' || command === 'build') {
    const { build, scaffold } = await import('./author.js');
    process.stdout.write(command === 'new' ? scaffold(args[0], values) : await build(args[0], values));
    return 0;
  }
  if (command === 'rollout') return (await import('./rollout.js')).rollout(args, values);

  const given = values.token ?? (process.env.HOTSWAP_TOKEN || undefined);
  const client = new ControlClient(
    values.control ?? (process.env.HOTSWAP_CONTROL || undefined) ?? '127.0.0.1:7070',
    given ?? (await localToken(values)),
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

/** The token an engine on this machine generated into the data directory the CLI would use. */
async function localToken(values: Values): Promise<string | undefined> {
  let dataDir = values['data-dir'] ?? (process.env.HOTSWAP_DATA_DIR || undefined);
  if (!dataDir && values.config) {
    try {
      dataDir = (await import('../config.js')).loadConfig(values.config).dataDir;
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
