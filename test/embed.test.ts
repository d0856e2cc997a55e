// The README's "Embedding the engine" example, run as a user would run it: the code block is
// copied out of README.md into a program in a fresh directory whose node_modules/wasm-hotswap
// links to this package, so `import … from 'wasm-hotswap'` goes through package.json's
// "exports" to the built build/host/index.js (run `npm run build` first). The program runs as a
// real child process and talks UDP to the engine it starts; its output is asserted on, and the
// same file is type-checked as a consumer's JavaScript against build/host/index.d.ts. So the
// example can't rot without this test failing.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** The first ```js block after the README heading "Embedding the engine". */
function readmeExample(): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const section = readme.split(/^## Embedding the engine$/m)[1];
  assert.ok(section, 'README.md has a section "## Embedding the engine"');
  const block = /^```js\n([\s\S]*?)^```$/m.exec(section.split(/^## /m)[0]!);
  assert.ok(block, 'that section has a ```js code block');
  return block[1]!;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `file` with `args` in `cwd`, killing it after `deadlineMs`. */
function run(file: string, args: string[], cwd: string, deadlineMs: number): Promise<Run> {
  // The example reads no HOTSWAP_* variables on purpose; ones set in this shell must not leak in.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOTSWAP_')));
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout: deadlineMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr: stderr + (err?.killed ? `\n(killed after ${deadlineMs} ms)` : '') });
    });
  });
}

let dir: string;

test.before(() => {
  assert.ok(existsSync(join(repo, 'build/host/index.js')), 'build/host/index.js exists (run `npm run build`)');
  assert.ok(existsSync(join(repo, 'build/host/index.d.ts')), 'build/host/index.d.ts exists (tsconfig "declaration")');
  dir = mkdtempSync(join(tmpdir(), 'hotswap-embed-'));
  mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
  symlinkSync(repo, join(dir, 'node_modules/wasm-hotswap'), 'dir');
  symlinkSync(dirname(require.resolve('@types/node/package.json')), join(dir, 'node_modules/@types/node'), 'dir');
  writeFileSync(join(dir, 'example.mjs'), readmeExample());
});

test.after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the README example runs against the package and upgrades kv over real UDP', async () => {
  const r = await run(process.execPath, ['example.mjs'], dir, 60_000);
  assert.is(r.code, 0, `example exited with ${r.code}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 5, `five lines of output, got:\n${r.stdout}\n${r.stderr}`);
  assert.is(lines[0], 'OK');
  assert.is(lines[1], 'VALUE hello');
  assert.match(lines[2]!, /^1\.0\.0 -> 2\.0\.0: ok, pause \d+ µs$/);
  assert.is(lines[3], 'VALUE hello', 'the value survived the swap');
  assert.is(lines[4], 'DELETED', '2.0.0 answers DEL, which 1.0.0 did not know');
});

test('the README example type-checks as a consumer of the package', async () => {
  const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin/tsc');
  const r = await run(
    process.execPath,
    [
      tsc,
      '--noEmit',
      '--allowJs',
      '--checkJs',
      '--strict',
      '--skipLibCheck',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      'example.mjs',
    ],
    dir,
    120_000,
  );
  assert.is(r.code, 0, `tsc found errors:\n${r.stdout}${r.stderr}`);
});

test.run();
