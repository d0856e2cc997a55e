// loadConfig on real files: the defaults, the command-line and environment overrides, and one
// error of every kind, each naming its field and what it allows. Then the real CLI: `hotswap
// start` refusing a bad file, and its log in JSON when asked.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MEMORY_BASE } from '../host/abi/abi.js';
import { ConfigError, type ConfigOverrides, DEFAULT_PROBATION, loadConfig } from '../host/config.js';
import { Logger } from '../host/log.js';
import { DEFAULT_FUEL } from '../host/modules/fuel-budgets.js';
import { cli, repoRoot } from './support/engine-process.js';

const dir = mkdtempSync(join(tmpdir(), 'hotswap-config-'));
const ENV = [
  'HOTSWAP_LISTEN',
  'HOTSWAP_CONTROL',
  'HOTSWAP_TOKEN',
  'HOTSWAP_TRUSTED_KEY',
  'HOTSWAP_DATA_DIR',
  'HOTSWAP_LOG_LEVEL',
  'HOTSWAP_LOG_FORMAT',
];
const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
let n = 0;

/** Writes `content` (an object as JSON, or raw text) to a new file and returns its path. */
function file(content: unknown): string {
  const path = join(dir, `config-${n++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const kv = (extra: Record<string, unknown> = {}) => ({ components: [{ name: 'kv', version: '1.0.0', ...extra }] });

/** The problems loadConfig reports for `content`, without the file prefix. */
function problems(content: unknown, overrides: ConfigOverrides = {}): string[] {
  const path = file(content);
  try {
    loadConfig(path, overrides);
  } catch (e) {
    assert.instance(e, ConfigError);
    const error = e as ConfigError;
    if (!overrides.logLevel) {
      for (const line of error.message.split('\n')) assert.ok(line.startsWith(`${path}: `), `every line names the file: ${line}`);
    }
    return error.problems;
  }
  assert.unreachable(`${JSON.stringify(content)} was accepted`);
  return [];
}

/** Asserts one of the problems is exactly `expected`. */
function refused(content: unknown, expected: string): void {
  const found = problems(content);
  assert.ok(found.includes(expected), `expected "${expected}" among:\n  ${found.join('\n  ')}`);
}

test.before.each(() => {
  for (const k of ENV) delete process.env[k];
});
test.after(() => {
  for (const k of ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  rmSync(dir, { recursive: true, force: true });
});

test('defaults fill in everything the file leaves out', () => {
  const config = loadConfig(file(kv()));
  assert.is(config.dataDir, resolve('.hotswap'));
  assert.is(config.logLevel, 'info');
  assert.is(config.logFormat, 'text');
  assert.equal(config.control, { host: '127.0.0.1', port: 7070 });
  assert.equal(config.components, [
    {
      name: 'kv',
      module: 'kv',
      version: '1.0.0',
      listen: [],
      signals: [],
      limits: { memoryBytes: 512 * 1024 * 1024, moduleBytes: 4 * 1024 * 1024, fuel: DEFAULT_FUEL },
      probation: DEFAULT_PROBATION,
      snapshot: 'incremental',
      durability: 'fsync',
      wasi: false,
      capabilities: {},
    },
  ]);
});

test('given values are kept; fuel budgets override the defaults one by one; false runs unmetered', () => {
  const config = loadConfig(
    file({
      dataDir: join(dir, 'data'),
      logLevel: 'debug',
      logFormat: 'json',
      control: { host: '0.0.0.0', port: 0, token: 't', uploadLimitBytes: 1024, trustedKey: 'key.pem' },
      components: [
        {
          name: 'a',
          module: 'kv',
          version: '2.0.0-rc.1',
          listen: [
            { proto: 'udp', port: 7400 },
            { proto: 'tcp', host: '::1', port: 0 },
          ],
          signals: ['SIGHUP'],
          limits: { memoryBytes: MEMORY_BASE + 65536, moduleBytes: 1000, fuel: { message: 5 } },
          probation: { windowMs: 0, maxFaults: 0 },
          snapshot: 'never',
          wasi: true,
          capabilities: {
            net: { interfaces: ['eth0'] },
            routes: {},
            settings: { update: 30, jitter: 0.5, on: true, list: ['a', 1], name: 'x' },
          },
        },
        { name: 'b', version: '1.0.0', limits: { fuel: false } },
      ],
    }),
  );
  assert.is(config.logLevel, 'debug');
  assert.is(config.logFormat, 'json');
  assert.equal(config.control, { host: '0.0.0.0', port: 0, token: 't', uploadLimitBytes: 1024, trustedKey: 'key.pem' });
  const [a, b] = config.components;
  assert.is(a!.module, 'kv');
  assert.equal(a!.listen, [
    { proto: 'udp', host: '127.0.0.1', port: 7400 },
    { proto: 'tcp', host: '::1', port: 0 },
  ]);
  assert.equal(a!.limits, { memoryBytes: MEMORY_BASE + 65536, moduleBytes: 1000, fuel: { ...DEFAULT_FUEL, message: 5 } });
  assert.equal(a!.probation, { windowMs: 0, maxFaults: 0 });
  assert.equal(a!.capabilities, {
    net: { interfaces: ['eth0'], port: 520, group: '224.0.0.9', pacing: { burst: 16, gapMs: 5, queue: 4096 }, receiveBuffer: 1 << 20 },
    routes: { protocol: 'rip', metric: 20 },
    settings: { update: '30', jitter: '0.5', on: 'true', list: 'a,1', name: 'x' },
  });
  assert.is(b!.module, 'b');
  assert.is(b!.limits.fuel, null);
});

test('flags win over the environment, and both over the file', () => {
  const path = file({
    ...kv({
      listen: [
        { proto: 'udp', port: 1 },
        { proto: 'tcp', port: 2 },
      ],
    }),
    logLevel: 'warn',
  });
  process.env.HOTSWAP_LISTEN = '127.0.0.2:9000';
  process.env.HOTSWAP_CONTROL = '127.0.0.3:9001';
  process.env.HOTSWAP_DATA_DIR = join(dir, 'env-data');
  process.env.HOTSWAP_LOG_LEVEL = 'error';
  process.env.HOTSWAP_LOG_FORMAT = 'json';
  process.env.HOTSWAP_TOKEN = 'from-env';
  process.env.HOTSWAP_TRUSTED_KEY = 'env.pem';
  const env = loadConfig(path);
  assert.equal(
    env.components[0]!.listen.map((l) => `${l.proto} ${l.host}:${l.port}`),
    ['udp 127.0.0.2:9000', 'tcp 127.0.0.2:9000'],
  );
  assert.equal([env.control.host, env.control.port, env.control.token, env.control.trustedKey], ['127.0.0.3', 9001, 'from-env', 'env.pem']);
  assert.is(env.dataDir, join(dir, 'env-data'));
  assert.equal([env.logLevel, env.logFormat], ['error', 'json']);

  const flags = loadConfig(path, { listen: 'localhost:1', control: 'localhost:2', dataDir: 'rel', logLevel: 'debug', logFormat: 'text' });
  assert.equal(
    flags.components[0]!.listen.map((l) => `${l.host}:${l.port}`),
    ['localhost:1', 'localhost:1'],
  );
  assert.equal([flags.control.host, flags.control.port], ['localhost', 2]);
  assert.is(flags.dataDir, resolve('rel'));
  assert.equal([flags.logLevel, flags.logFormat], ['debug', 'text']);
});

test('a bad override names the flag and the variable, and what they allow', () => {
  assert.equal(problems(kv(), { logLevel: 'warning' }), ['must be one of debug, info, warn, error (got "warning")']);
  assert.throws(
    () => loadConfig(file(kv()), { logLevel: 'loud' }),
    /^--log-level \/ HOTSWAP_LOG_LEVEL: must be one of debug, info, warn, error \(got "loud"\)$/,
  );
  process.env.HOTSWAP_LOG_FORMAT = 'xml';
  assert.throws(() => loadConfig(file(kv())), /^--log-format \/ HOTSWAP_LOG_FORMAT: must be one of text, json \(got "xml"\)$/);
  delete process.env.HOTSWAP_LOG_FORMAT;
  assert.throws(() => loadConfig(file(kv()), { control: '7070' }), /^--control \/ HOTSWAP_CONTROL: expected HOST:PORT/);
  assert.throws(
    () => loadConfig(file(kv()), { listen: 'h:70000' }),
    /^--listen \/ HOTSWAP_LISTEN: expected HOST:PORT with a port from 0 to 65535/,
  );
});

test('"logLevel": "warning" is refused with the levels it could be', () => {
  assert.equal(problems({ ...kv(), logLevel: 'warning' }), ['logLevel must be one of debug, info, warn, error (got "warning")']);
  refused(
    { ...kv({ logLevel: 'debug' }) },
    'components[0].logLevel is not a known field (known: name, module, version, listen, signals, limits, probation, snapshot, durability, wasi, capabilities)',
  );
});

test('unreadable files and the wrong shapes', () => {
  assert.throws(() => loadConfig(join(dir, 'missing.json')), /missing\.json: cannot read JSON: ENOENT/);
  assert.throws(() => loadConfig(file('{"components": [')), /cannot read JSON: .*JSON/);
  assert.equal(problems([]), ['the value must be an object (got [])']);
  assert.equal(problems({}), ['components is required']);
  assert.equal(problems({ components: {} }), ['components must be an array (got {})']);
  refused({ ...kv(), logFormat: 'xml' }, 'logFormat must be one of text, json (got "xml")');
  refused({ ...kv(), dataDir: 5 }, 'dataDir must be a string (got 5)');
  refused(
    { ...kv(), loglevel: 'info' },
    'loglevel is not a known field (known: dataDir, logLevel, logFormat, control, dispatch, deploy, components, fleet)',
  );
});

test('control: host, port, token, upload limit and trusted key', () => {
  refused({ ...kv(), control: [] }, 'control must be an object (got [])');
  refused({ ...kv(), control: { port: 70000 } }, 'control.port must be an integer from 0 to 65535 (got 70000)');
  refused({ ...kv(), control: { port: '7070' } }, 'control.port must be an integer (got "7070")');
  refused({ ...kv(), control: { host: '' } }, 'control.host must not be empty (got "")');
  refused({ ...kv(), control: { token: 5 } }, 'control.token must be a string (got 5)');
  refused({ ...kv(), control: { uploadLimitBytes: 0 } }, 'control.uploadLimitBytes must be >= 1 (got 0)');
  refused(
    { ...kv(), control: { trustedkey: 'x' } },
    'control.trustedkey is not a known field (known: host, port, token, uploadLimitBytes, trustedKey)',
  );
});

test('components: names, versions, listeners, signals, snapshot and wasi', () => {
  refused({ components: [{ version: '1.0.0' }] }, 'components[0].name is required');
  refused({ components: [{ name: 'kv' }] }, 'components[0].version is required');
  refused(kv({ name: 'KV' }), 'components[0].name must match /^[a-z][a-z0-9_-]{0,62}$/ (got "KV")');
  refused(kv({ module: '../kv' }), 'components[0].module must match /^[a-z][a-z0-9_-]{0,62}$/ (got "../kv")');
  refused(
    kv({ version: 'v1' }),
    'components[0].version must be a semantic version such as 1.2.3 or 1.2.3-rc.1 (at most 64 characters) (got "v1")',
  );
  refused(
    {
      components: [
        { name: 'kv', version: '1.0.0' },
        { name: 'kv', version: '2.0.0' },
      ],
    },
    'components[1].name "kv" is already used by components[0]',
  );
  refused(kv({ listen: [{ proto: 'sctp', port: 1 }] }), 'components[0].listen[0].proto must be one of udp, tcp (got "sctp")');
  refused(kv({ listen: [{ proto: 'udp' }] }), 'components[0].listen[0].port is required');
  refused(kv({ listen: [{ proto: 'udp', port: -1 }] }), 'components[0].listen[0].port must be an integer from 0 to 65535 (got -1)');
  refused(kv({ listen: {} }), 'components[0].listen must be an array (got {})');
  refused(kv({ signals: ['SIGKILL'] }), 'components[0].signals[0] must be one of SIGHUP, SIGUSR1, SIGUSR2 (got "SIGKILL")');
  refused(kv({ snapshot: 'sometimes' }), 'components[0].snapshot must be one of incremental, always, migrations, never (got "sometimes")');
  refused(kv({ wasi: 'yes' }), 'components[0].wasi must be true or false (got "yes")');
});

test('limits, fuel and probation', () => {
  refused(
    kv({ limits: { memoryBytes: MEMORY_BASE } }),
    `components[0].limits.memoryBytes must be a number of bytes greater than the modules' memoryBase (${MEMORY_BASE}) (got ${MEMORY_BASE})`,
  );
  refused(kv({ limits: { moduleBytes: 0 } }), 'components[0].limits.moduleBytes must be >= 1 (got 0)');
  refused(
    kv({ limits: { fuel: true } }),
    'components[0].limits.fuel must be false (unmetered) or an object of budgets per callback kind (got true)',
  );
  refused(
    kv({ limits: { fuel: 5 } }),
    'components[0].limits.fuel must be false (unmetered) or an object of budgets per callback kind (got 5)',
  );
  refused(
    kv({ limits: { fuel: { messages: 5 } } }),
    'components[0].limits.fuel.messages is not a known field (known: message, timer, signal, init, restart, migrate, lifecycle)',
  );
  refused(kv({ limits: { fuel: { message: 0 } } }), 'components[0].limits.fuel.message must be an integer from 1 to 2147483647 (got 0)');
  refused(kv({ probation: { windowMs: -1 } }), 'components[0].probation.windowMs must be >= 0 (got -1)');
  refused(kv({ probation: { maxFaults: 1.5 } }), 'components[0].probation.maxFaults must be an integer (got 1.5)');
});

test('capabilities: every field named', () => {
  const cap = (capabilities: unknown) => kv({ capabilities });
  refused(cap({ disk: {} }), 'components[0].capabilities.disk is not a known field (known: net, routes, settings)');
  refused(cap({ net: { interfaces: [] } }), 'components[0].capabilities.net.interfaces must not be empty (got [])');
  refused(
    cap({ net: { interfaces: ['a/b'] } }),
    'components[0].capabilities.net.interfaces[0] must be an interface name (1 to 15 of A-Z a-z 0-9 _ . : @ -) (got "a/b")',
  );
  refused(cap({ net: { port: 0 } }), 'components[0].capabilities.net.port must be an integer from 1 to 65535 (got 0)');
  refused(
    cap({ net: { group: '10.0.0.1' } }),
    'components[0].capabilities.net.group must be an IPv4 multicast address (224.0.0.0 to 239.255.255.255) (got "10.0.0.1")',
  );
  refused(
    cap({ net: { group: '224.0.0.256' } }),
    'components[0].capabilities.net.group must be an IPv4 multicast address (224.0.0.0 to 239.255.255.255) (got "224.0.0.256")',
  );
  refused(
    cap({ routes: { protocol: 'r i p' } }),
    'components[0].capabilities.routes.protocol must be a protocol name or number (as in /etc/iproute2/rt_protos) (got "r i p")',
  );
  refused(cap({ routes: { metric: -1 } }), 'components[0].capabilities.routes.metric must be an integer from 0 to 4294967295 (got -1)');
  refused(
    cap({ settings: { a: { b: { c: { d: { e: 1 } } } } } }),
    'components[0].capabilities.settings.a.b.c.d must be a string, number, boolean or a list of strings and numbers (got {"e":1})',
  );
  refused(
    cap({ settings: { 'odd key': [true] } }),
    'components[0].capabilities.settings["odd key"][0] must be a string or a number (got true)',
  );
});

test('every mistake in a file is reported at once, one line each', () => {
  const found = problems({ logLevel: 'loud', control: { port: -1 }, components: [{ name: 'kv', version: '1', wasi: 1 }] });
  assert.equal(found, [
    'logLevel must be one of debug, info, warn, error (got "loud")',
    'control.port must be an integer from 0 to 65535 (got -1)',
    'components[0].version must be a semantic version such as 1.2.3 or 1.2.3-rc.1 (at most 64 characters) (got "1")',
    'components[0].wasi must be true or false (got 1)',
  ]);
});

test('the logger: one line per entry in either format, children by component name, the level filters', () => {
  const text: string[] = [];
  const engine = new Logger('engine', 'info', { write: (line) => void text.push(line) });
  engine.debug('not at info');
  engine.info('ready: kv@1.0.0');
  engine.child('kv').log('warn', 'channel 0: udp 127.0.0.1:7400');
  assert.is(text.length, 2, text.join('\n'));
  assert.match(text[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info {2}\[engine\] ready: kv@1\.0\.0$/);
  assert.match(text[1]!, /Z warn {2}\[kv\] channel 0: udp 127\.0\.0\.1:7400$/, 'a child is scoped by its own name');

  const json: string[] = [];
  const root = new Logger('engine', 'debug', { write: (line) => void json.push(line) }, 'json');
  root.child('kv').debug('a "quoted" message');
  assert.is(json.length, 1);
  const entry = JSON.parse(json[0]!) as Record<string, unknown>;
  assert.equal([entry.level, entry.scope, entry.msg], ['debug', 'kv', 'a "quoted" message']);
  assert.ok(!Number.isNaN(Date.parse(String(entry.time))));
});

interface Started {
  /** Resolves with the output once it matches (rejects if the process exits first). */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Resolves when the process exits. */
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill(signal: NodeJS.Signals): void;
}

/** Runs `node bin/hotswap.js start …` as a real process, collecting what it prints. */
function start(args: string[]): Started {
  const child = spawn(process.execPath, [cli, 'start', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOTSWAP_CONTROL: '', HOTSWAP_LISTEN: '' },
  });
  let stdout = '';
  let stderr = '';
  const changed = new Set<() => void>();
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
    for (const f of changed) f();
  });
  child.stderr.on('data', (b: Buffer) => void (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((done) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      for (const f of changed) f();
      done({ code, stdout, stderr });
    }),
  );
  const waitFor = (pattern: RegExp): Promise<RegExpMatchArray> =>
    new Promise((done, fail) => {
      const check = (): void => {
        const m = stdout.match(pattern);
        if (m) done(m);
        else if (child.exitCode !== null || child.signalCode !== null)
          fail(new Error(`exited before printing ${pattern}:\n${stdout}${stderr}`));
        else return;
        changed.delete(check);
      };
      changed.add(check);
      check();
    });
  return { waitFor, exited, kill: (signal) => child.kill(signal) };
}

test('hotswap start refuses "logLevel": "warning", naming the file, the field and the levels', async () => {
  const path = file({ ...kv(), dataDir: join(dir, 'cli-data'), logLevel: 'warning' });
  const r = await start(['--config', path]).exited;
  assert.is(r.code, 1);
  assert.is(r.stderr, `hotswap: ${path}: logLevel must be one of debug, info, warn, error (got "warning")\n`);
  assert.is(r.stdout, '', 'nothing started');
});

test('hotswap start --log-format json: one JSON object per line, the request log included', async () => {
  const path = file({ ...kv(), dataDir: join(dir, 'json-data'), control: { port: 0 } });
  const engine = start(['--config', path, '--log-format', 'json', '--log-level', 'debug']);
  const [, address] = await engine.waitFor(/"msg":"control endpoint on (http:\/\/127\.0\.0\.1:\d+)"/);
  await engine.waitFor(/"msg":"ready: /);
  assert.is((await fetch(`${address}/v1/components/kv`)).status, 200);
  await engine.waitFor(/"msg":"GET \/v1\/components\/kv 200 [\d.]+ ms"/);
  engine.kill('SIGTERM');
  const r = await engine.exited;
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        // Components log through children of the engine's logger (EngineOptions.logger), in its format.
        return assert.unreachable(`not a JSON line: ${line}`) as never;
      }
    });
  const find = (pattern: RegExp) => lines.find((l) => pattern.test(String(l.msg)));
  const loaded = find(/^loaded kv@1\.0\.0 in \d+ µs \(prepared in \d+ ms(, checked bytes kept from before)?\)$/);
  assert.equal([loaded?.level, loaded?.scope], ['info', 'kv'], JSON.stringify(loaded));
  assert.ok(typeof loaded?.time === 'string' && !Number.isNaN(Date.parse(loaded.time)), 'an ISO time');
  const request = find(/^GET \/v1\/components\/kv 200/);
  assert.equal(
    [request?.level, request?.scope, request?.method, request?.url, request?.status],
    ['debug', 'control', 'GET', '/v1/components/kv', 200],
  );
  assert.type(request?.ms, 'number');
  assert.ok(find(/^SIGTERM: stopping$/), 'the last line before the exit is written');
});

test.run();
