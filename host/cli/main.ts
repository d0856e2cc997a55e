import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ComponentStatus } from '../component/component.js';
import type { SwapReport } from '../component/swap.js';
import { loadConfig } from '../config.js';
import { startControlServer } from '../control/server.js';
import { Engine } from '../engine.js';
import { Logger } from '../log.js';
import { CliError, ControlClient } from './client.js';

const HELP = `hotswap: run and upgrade hot-swappable WebAssembly components

Usage:
  hotswap start [--config FILE] [--listen HOST:PORT] [--control HOST:PORT] [--data-dir DIR]
      Runs the engine (default config: config/default.json, component kv on 127.0.0.1:7400).
  hotswap upgrade <component> <version | path/to/module.wasm>
      Swaps in another module version while the component keeps running. Prints from, to,
      the pause in microseconds and the events that queued during the swap.
  hotswap status [component]
      Version, state, queue depth and events handled.
  hotswap show <component>
      The status text the module itself produces.

Options:
  --control HOST:PORT   control endpoint (env HOTSWAP_CONTROL; default 127.0.0.1:7070)
  --json                machine-readable output
  -h, --help            this help
`;

const options = {
  config: { type: 'string' },
  listen: { type: 'string' },
  control: { type: 'string' },
  'data-dir': { type: 'string' },
  'log-level': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  const [command, ...args] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP);
    return command || values.help ? 0 : 1;
  }
  const controlAddress = values.control ?? process.env.HOTSWAP_CONTROL ?? '127.0.0.1:7070';
  const client = new ControlClient(controlAddress);
  const print = (human: string, data: unknown): void => {
    process.stdout.write(values.json ? JSON.stringify(data, null, 2) + '\n' : human);
  };

  switch (command) {
    case 'start': {
      const config = loadConfig(values.config, {
        ...(values.listen ? { listen: values.listen } : {}),
        ...(values.control ? { control: values.control } : {}),
        ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
        ...(values['log-level'] ? { logLevel: values['log-level'] } : {}),
      });
      const log = new Logger('engine', config.logLevel);
      const engine = await Engine.start(config, { logger: log });
      const server = await startControlServer(engine, config.control.host, config.control.port);
      const addr = server.server.address();
      const ctl = typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : String(addr);
      log.info(`control endpoint on http://${ctl}`);
      log.info(`ready: ${engine.names().map((n) => `${n}@${engine.component(n).module?.version}`).join(', ')}`);
      await new Promise<void>((resolve) => {
        const stop = (sig: string): void => {
          log.info(`${sig}: stopping`);
          resolve();
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      await server.close();
      await engine.stop();
      return 0;
    }
    case 'upgrade': {
      const [name, target] = args;
      if (!name || !target) throw new CliError('usage: hotswap upgrade <component> <version | path/to/module.wasm>');
      const body = target.endsWith('.wasm') ? { wasm: readFile(target) } : { json: { version: target } };
      let report: SwapReport;
      try {
        report = await client.request<SwapReport>('POST', `/v1/components/${encodeURIComponent(name)}/upgrade`, body);
      } catch (e) {
        const data = (e as CliError).data as { report?: SwapReport } | undefined;
        if (data?.report && values.json) process.stdout.write(JSON.stringify(data.report, null, 2) + '\n');
        throw e;
      }
      print(formatReport(report), report);
      return 0;
    }
    case 'status': {
      const [name] = args;
      const data = name
        ? [await client.request<ComponentStatus>('GET', `/v1/components/${encodeURIComponent(name)}`)]
        : await client.request<ComponentStatus[]>('GET', '/v1/components');
      print(data.map(formatStatus).join('\n'), name ? data[0] : data);
      return 0;
    }
    case 'show': {
      const [name] = args;
      if (!name) throw new CliError('usage: hotswap show <component>');
      const text = await client.request<string>('GET', `/v1/components/${encodeURIComponent(name)}/show`);
      print(text.endsWith('\n') ? text : text + '\n', { component: name, text });
      return 0;
    }
    default:
      throw new CliError(`unknown command "${command}" (see hotswap --help)`);
  }
}

function readFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

function formatReport(r: SwapReport): string {
  const phases = Object.entries(r.phasesUs).map(([k, v]) => `${k} ${v}`).join(', ');
  return (
    `${r.component}: ${r.from ?? '(none)'} -> ${r.to} ${r.result}\n` +
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
    (s.lastUpgrade ? `  last upgrade: ${s.lastUpgrade.from} -> ${s.lastUpgrade.to} ${s.lastUpgrade.result} (${s.lastUpgrade.pauseUs} µs)\n` : '')
  );
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const err = e as Error;
    process.stderr.write(`hotswap: ${err instanceof CliError || err.name === 'ConfigError' ? err.message : err.stack ?? err.message}\n`);
    process.exit(err.name === 'TypeError' && /parseArgs|Unknown option/.test(err.message) ? 2 : 1);
  },
);
