// What a process loads at start. `hotswap status`, `upgrade` and the rest talk HTTP to an engine,
// so they must not load the engine, the server, the database driver, the NATS client or the
// config schema: loaded up front these cost each CLI call about 1.5 s of CPU (0.2 s without),
// which a loaded 2-core machine takes from the very engine the command is talking to. And the
// engine's main thread must not load binaryen (14 MB of JavaScript, ~0.5 s of CPU to compile):
// only the prepare worker uses it. Observed with real processes and a module-loader hook that
// lists every file loaded (hooks registered this way see the main thread only).
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from './support/control-plane.js';
import { repoRoot } from './support/engine-process.js';

/** Runs `node <nodeArgs>` with a hook that appends each loaded module's URL to a file; returns them. */
async function loadedBy(nodeArgs: string[]): Promise<{ urls: string[]; stderr: string }> {
  const dir = tempDir();
  const list = join(dir, 'loaded.txt');
  writeFileSync(list, '');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';\n` +
      `export async function load(url, context, next) { appendFileSync(${JSON.stringify(list)}, url + '\\n'); return next(url, context); }\n`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const stderr = await new Promise<string>((resolve) => {
    execFile(
      process.execPath,
      ['--import', pathToFileURL(register).href, ...nodeArgs],
      // Port 9 on loopback: nothing listens, so the command fails fast after loading what it needs.
      { cwd: dir, env: { ...process.env, HOTSWAP_CONTROL: '127.0.0.1:9', HOTSWAP_TOKEN: 'x' }, timeout: 30_000 },
      (_error, _stdout, err) => resolve(err),
    );
  });
  return { urls: readFileSync(list, 'utf8').split('\n').filter(Boolean), stderr };
}

const HEAVY = [
  '/node_modules/fastify/',
  '/node_modules/better-sqlite3/',
  '/node_modules/@nats-io/',
  '/node_modules/ajv/',
  '/host/engine.js',
  '/host/control/server.js',
];
const hotswap = (...args: string[]): string[] => [join(repoRoot, 'bin/hotswap.js'), ...args];

for (const args of [['status', 'kv'], ['upgrade', 'kv', join(repoRoot, 'build/modules/kv/2.0.0.wasm')], ['history', 'kv'], ['--help']]) {
  test(`hotswap ${args[0]} loads no engine part`, async () => {
    const { urls, stderr } = await loadedBy(hotswap(...args));
    assert.ok(
      urls.some((u) => u.endsWith('/build/host/cli/main.js')),
      `the hook saw the CLI load (stderr: ${stderr})`,
    );
    const heavy = urls.filter((u) => HEAVY.some((h) => u.includes(h)));
    assert.equal(heavy, [], `hotswap ${args.join(' ')} loaded: ${heavy.slice(0, 5).join(', ')}`);
  });
}

test('hotswap start still loads the engine (the hook sees what it should)', async () => {
  // `--config` of a file that does not exist: start loads the engine's modules, then fails.
  const { urls } = await loadedBy(hotswap('start', '--config', 'missing.json'));
  assert.ok(
    urls.some((u) => u.includes('/host/config.js')),
    `start loaded the config reader: ${urls.length} modules`,
  );
});

test("the engine's main thread loads no binaryen", async () => {
  const engine = pathToFileURL(join(repoRoot, 'build/host/engine.js')).href;
  const { urls, stderr } = await loadedBy(['--input-type=module', '-e', `await import(${JSON.stringify(engine)});`]);
  assert.ok(
    urls.some((u) => u.endsWith('/build/host/engine.js')),
    `the hook saw the engine load (stderr: ${stderr})`,
  );
  assert.equal(
    urls.filter((u) => u.includes('/node_modules/binaryen/')),
    [],
  );
});

test.run();
