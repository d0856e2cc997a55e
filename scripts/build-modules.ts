/**
 * Compiles every AssemblyScript module entry `assembly/examples/<name>/<version>.ts` into
 * `build/modules/<name>/<version>.wasm` with the shared options in asconfig.json
 * (run by `npm run build:modules`; see docs/ABI.md for why those flags).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MEMORY_BASE } from '../host/abi/abi.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const examples = join(root, 'assembly', 'examples');
const VERSION_FILE = /^(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)\.ts$/;
const only = process.argv.slice(2);

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
  const out = e.out ?? join(root, 'build', 'modules', e.name, `${e.version}.wasm`);
  mkdirSync(dirname(out), { recursive: true });
  // An example may bring its own asconfig.json (extending the root one), e.g. for the WASI shim.
  const ownConfig = join(dirname(e.file), 'asconfig.json');
  const config = relative(root, existsSync(ownConfig) ? ownConfig : join(root, 'asconfig.json'));
  // --memoryBase comes from the ABI's single definition (host/abi/abi.ts), never from a copy in a config.
  const args = [
    ascBin, relative(root, e.file), '--config', config, '--target', 'release',
    '--memoryBase', String(MEMORY_BASE), '-o', relative(root, out),
  ];
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
for (const f of failures) process.stderr.write(f + '\n');
console.log(`asc: built ${entries.length - failures.length}/${entries.length} modules in ${Math.round(performance.now() - started)} ms`);
if (failures.length > 0) process.exit(1);
