// A module author's whole loop, in a fresh directory outside the repository, with the engine as
// a `file:` dependency of this checkout: `hotswap new counter`, `npm install`, `npm run build`,
// `npm test`; then, on a running engine, `hotswap deploy` serves UDP, `hotswap upgrade` to a
// 1.1.0 build keeps the count, and `hotswap remove` frees the port.
//
// npm install runs with --ignore-scripts: the checkout is built already (npm test builds first),
// and the engine's `prepare` would rebuild build/host under the other test files running at the
// same time (docs/SDK.md, "The engine from a checkout", has the measurement).
import { execFile, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { lstatSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UdpClient } from './support/clients.js';
import { type RunningEngine, repoRoot, startEngine } from './support/engine-process.js';
import { skipBecause } from './support/skip.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(cwd: string, command: string, args: string[]): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr, ms: Math.round(performance.now() - started) });
    });
  });
}

const ok = (r: Run, what: string): Run => {
  assert.is(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}${r.stderr}`);
  console.log(`  ${what}: ${r.ms} ms`);
  return r;
};

/** A UDP port nobody holds right now (bound on 0, then let go). */
async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((done) => s.bind(0, '127.0.0.1', done));
  const port = s.address().port;
  await new Promise<void>((done) => s.close(() => done()));
  return port;
}

async function canBind(port: number): Promise<boolean> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

const npm = ((): string | null => {
  try {
    execFileSync('npm', ['--version'], { stdio: 'ignore' });
    return 'npm';
  } catch {
    return null;
  }
})();

const NAME = 'scaffold: new, install, build, test; deploy, upgrade keeps the count, remove frees the port';
if (!npm) skipBecause(test, NAME, 'npm is not on PATH');
else
  test(NAME, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotswap-author-'));
    const project = join(dir, 'counter');
    const sharedModules = realpathSync(join(repoRoot, 'node_modules'));
    const modulesBefore = statSync(sharedModules).mtimeMs;
    let engine: RunningEngine | undefined;
    try {
      ok(await run(dir, process.execPath, [join(repoRoot, 'bin', 'hotswap.js'), 'new', 'counter']), 'hotswap new counter');
      const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
      assert.is(pkg.devDependencies['wasm-hotswap'], `file:${repoRoot.replace(/\/$/, '')}`);
      ok(await run(project, npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts']), 'npm install');
      assert.ok(lstatSync(join(project, 'node_modules', 'wasm-hotswap')).isSymbolicLink(), 'the engine is linked, not copied');
      assert.is(statSync(sharedModules).mtimeMs, modulesBefore, 'the checkout node_modules is untouched');
      ok(await run(project, npm, ['run', 'build']), 'npm run build');
      ok(await run(project, npm, ['test']), 'npm test');

      // Started after the builds: asc and the engine's start need not share the cores.
      engine = await startEngine([{ name: 'kv', version: '1.0.0', udp: false, tcp: false }]);
      const control = engine.control;
      const hotswap = (...args: string[]): Promise<Run> =>
        run(project, join(project, 'node_modules', '.bin', 'hotswap'), [...args, '--control', control]);
      const port = await freeUdpPort();
      const deployed = ok(
        await hotswap('deploy', 'counter', 'build/counter.wasm', '--listen', `udp://127.0.0.1:${port}`),
        'hotswap deploy',
      );
      assert.match(deployed.stdout, `deployed counter: counter@1.0.0 running on udp 127.0.0.1:${port}`);
      const udp = new UdpClient(port);
      try {
        assert.is(await udp.request('hello'), '1');
        assert.is(await udp.request('hello'), '2');

        const source = join(project, 'assembly', 'index.ts');
        writeFileSync(source, readFileSync(source, 'utf8').replace('const VERSION = "1.0.0";', 'const VERSION = "1.1.0";'));
        ok(await run(project, npm, ['run', 'build', '--', '--out', 'build/counter-1.1.0.wasm']), 'npm run build (1.1.0)');
        const upgraded = ok(await hotswap('upgrade', 'counter', 'build/counter-1.1.0.wasm'), 'hotswap upgrade');
        assert.match(upgraded.stdout, 'counter: 1.0.0 -> 1.1.0 ok');
        assert.is(await udp.request('GET'), '2', 'the count survived the upgrade');
        assert.is(await udp.request('hello'), '3');
      } finally {
        udp.close();
      }
      ok(await hotswap('remove', 'counter'), 'hotswap remove');
      assert.ok(await canBind(port), `udp 127.0.0.1:${port} is free again`);
      const status = await hotswap('status', '--json');
      assert.equal(
        JSON.parse(status.stdout).map((c: { name: string }) => c.name),
        ['kv'],
      );
    } finally {
      await engine?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

test.run();
