/**
 * Compiles every AssemblyScript module entry `assembly/examples/<name>/<version>.ts` into
 * `build/modules/<name>/<version>.wasm` with the shared options in asconfig.json
 * (run by `npm run build:modules`; see docs/ABI.md for why those flags).
 *
 * A full build takes about a minute on 2 cores, and `npm ci` (prepare) builds once before
 * `npm test` builds again; so the build is skipped when a hash of every input (the AssemblyScript
 * sources, the configs, the compiler's version, this script and the ABI's asc flags) matches the one stored
 * with the last complete build and every output is there. `--force` rebuilds regardless.
 */

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ASC_ABI_FLAGS } from '../host/abi/abi.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const examples = join(root, 'assembly', 'examples');
const VERSION_FILE = /^(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)\.ts$/;
const force = process.argv.includes('--force');
const only = process.argv.slice(2).filter((a) => a !== '--force');

const entries: { name: string; version: string; file: string; out?: string }[] = [];
for (const name of readdirSync(examples).sort()) {
  if (!statSync(join(examples, name)).isDirectory()) continue;
  if (only.length > 0 && !only.includes(name)) continue;
  for (const file of readdirSync(join(examples, name)).sort()) {
    const m = VERSION_FILE.exec(file);
    if (m) entries.push({ name, version: m[1]!, file: join(examples, name, file) });
  }
}

// The hostile-module corpus of test/safety*.test.ts: test/hostile/src/<case>.ts → build/hostile/<case>.wasm.
const hostile = join(root, 'test', 'hostile', 'src');
if (only.length === 0 && existsSync(hostile)) {
  for (const file of readdirSync(hostile).sort()) {
    if (!file.endsWith('.ts')) continue;
    const name = file.slice(0, -3);
    entries.push({ name, version: 'hostile', file: join(hostile, file), out: join(root, 'build', 'hostile', `${name}.wasm`) });
  }
}

// One asc process per module, as many at once as there are cores: binaryen's -O3 dominates the
// build time, and it is single-threaded.
const ascBin = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
const compile = (e: (typeof entries)[number]): Promise<string | null> => {
  const out = outputOf(e);
  mkdirSync(dirname(out), { recursive: true });
  // An example may bring its own asconfig.json (extending the root one), e.g. for the WASI shim.
  const ownConfig = join(dirname(e.file), 'asconfig.json');
  const config = relative(root, existsSync(ownConfig) ? ownConfig : join(root, 'asconfig.json'));
  // The ABI's flags (imported memory, --memoryBase) come from its single definition in
  // host/abi/abi.ts, the same ones `hotswap build` passes for modules outside this repository.
  const args = [ascBin, relative(root, e.file), '--config', config, '--target', 'release', ...ASC_ABI_FLAGS, '-o', relative(root, out)];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: root }, (err, stdout, stderr) => {
      if (err) resolve(`asc: ${e.name}@${e.version} failed:\n${stdout}${stderr}`);
      else {
        console.log(`asc: ${relative(root, out)} (${statSync(out).size} bytes)`);
        resolve(null);
      }
    });
  });
};

/** Every file below `dir`, sorted, as paths relative to the root. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => relative(root, f))
    .sort();
}

function inputsHash(): string {
  const hash = createHash('sha256');
  const inputs = [
    ...filesBelow(join(root, 'assembly')),
    ...filesBelow(hostile),
    'asconfig.json',
    'node_modules/assemblyscript/package.json',
    relative(root, fileURLToPath(import.meta.url)),
  ];
  hash.update(`ABI flags: ${ASC_ABI_FLAGS.join(' ')}\n`);
  for (const f of inputs) hash.update(`${f}\n`).update(readFileSync(join(root, f)));
  return hash.digest('hex');
}

const outputOf = (e: (typeof entries)[number]): string => e.out ?? join(root, 'build', 'modules', e.name, `${e.version}.wasm`);
const stamp = join(root, 'build', 'modules.sha256');
const inputs = only.length === 0 ? inputsHash() : null;
if (
  !force &&
  inputs !== null &&
  existsSync(stamp) &&
  readFileSync(stamp, 'utf8') === inputs &&
  entries.every((e) => existsSync(outputOf(e)))
) {
  console.log(`asc: ${entries.length} modules up to date (inputs unchanged since the last build; --force rebuilds)`);
  process.exit(0);
}

// Outputs are about to change: until this build completes, no stamp vouches for them.
rmSync(stamp, { force: true });
const started = performance.now();
const failures: string[] = [];
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(availableParallelism(), entries.length) }, async () => {
    while (next < entries.length) {
      const failure = await compile(entries[next++]!);
      if (failure) failures.push(failure);
    }
  }),
);
for (const f of failures) process.stderr.write(`${f}\n`);
console.log(`asc: built ${entries.length - failures.length}/${entries.length} modules in ${Math.round(performance.now() - started)} ms`);
if (failures.length > 0) process.exit(1);
if (inputs !== null) writeFileSync(stamp, inputs);
