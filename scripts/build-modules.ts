/**
 * Compiles every AssemblyScript module entry `assembly/examples/<name>/<version>.ts` into
 * `build/modules/<name>/<version>.wasm` with the shared options in asconfig.json
 * (run by `npm run build:modules`; see docs/ABI.md for why those flags).
 */
import asc from 'assemblyscript/asc';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const examples = join(root, 'assembly', 'examples');
const VERSION_FILE = /^(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)\.ts$/;
const only = process.argv.slice(2);

const entries: { name: string; version: string; file: string }[] = [];
for (const name of readdirSync(examples).sort()) {
  if (!statSync(join(examples, name)).isDirectory()) continue;
  if (only.length > 0 && !only.includes(name)) continue;
  for (const file of readdirSync(join(examples, name)).sort()) {
    const m = VERSION_FILE.exec(file);
    if (m) entries.push({ name, version: m[1]!, file: join(examples, name, file) });
  }
}

let failed = 0;
const started = performance.now();
for (const e of entries) {
  const out = join(root, 'build', 'modules', e.name, `${e.version}.wasm`);
  mkdirSync(dirname(out), { recursive: true });
  let errors = '';
  const { error } = await asc.main(
    [relative(root, e.file), '--config', 'asconfig.json', '--target', 'release', '-o', relative(root, out)],
    { stderr: { write: (s: string | Uint8Array) => ((errors += String(s)), true) } as never },
  );
  if (error) {
    failed++;
    process.stderr.write(`asc: ${e.name}@${e.version} failed:\n${errors}\n`);
  } else {
    console.log(`asc: ${relative(root, out)} (${statSync(out).size} bytes)`);
  }
}
console.log(`asc: built ${entries.length - failed}/${entries.length} modules in ${Math.round(performance.now() - started)} ms`);
if (failed > 0) process.exit(1);
