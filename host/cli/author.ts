// `hotswap new` and `hotswap build`: a module project outside this repository, scaffolded from
// templates/module/ and built with the engine's own asc flags and checks (docs/SDK.md).
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ASC_ABI_FLAGS } from '../abi/abi.js';
import { ModuleFactory } from '../component/module-factory.js';
import { type CheckedComponent, COMPONENT_SCHEMA } from '../config/schema.js';
import { componentFromChecked } from '../config.js';
import { policyOf } from '../engine/policy.js';
import { ModuleRejected } from '../modules/errors.js';
import { NAME_PATTERN } from '../repository/repository.js';
import { SchemaCheck } from '../schema.js';
import { CliError, UsageError } from './client.js';

/** The package's root: build/host/cli/author.js → three levels up (host/cli/author.ts under tsx: two). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/**
 * `hotswap new <name> [--dir DIR] [--engine SPEC]`: a module project in DIR (default ./<name>)
 * with the engine as a dev dependency: `file:` this checkout when it is one, else this version.
 */
export function scaffold(name: string | undefined, options: { dir?: string; engine?: string }): string {
  if (!name) throw new UsageError('usage: hotswap new <name> [--dir DIR] [--engine SPEC]');
  if (!NAME_PATTERN.test(name)) throw new UsageError(`module name "${name}" must match ${NAME_PATTERN} (it names the component too)`);
  const root = packageRoot();
  const target = resolve(options.dir ?? name);
  if (existsSync(target) && readdirSync(target).length > 0) throw new CliError(`${target} exists and is not empty`);
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const installed = root.split(sep).includes('node_modules');
  const engine = options.engine ?? (installed ? `^${version}` : `file:${root}`);
  const template = join(root, 'templates', 'module');
  mkdirSync(target, { recursive: true });
  cpSync(template, target, { recursive: true });
  renameSync(join(target, 'gitignore'), join(target, '.gitignore')); // npm drops a packed .gitignore
  for (const file of filesBelow(target)) {
    const text = readFileSync(file, 'utf8');
    const out = text.replaceAll('__NAME__', name).replaceAll('__ENGINE_SPEC__', engine);
    if (out !== text) writeFileSync(file, out);
  }
  return (
    `created ${relative(process.cwd(), target) || '.'}: module ${name}, engine ${engine}\n` +
    `next: cd ${relative(process.cwd(), target) || '.'} && npm install && npm run build && npm test\n`
  );
}

function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    return statSync(path).isDirectory() ? filesBelow(path) : [path];
  });
}

/**
 * `hotswap build [ENTRY] [--out FILE] [--version V]`: asc with the project's asconfig.json and
 * the ABI's flags (host/abi/abi.ts), then the engine's checks on the output, worded as an
 * upload's refusal would be. Default entry assembly/index.ts, default output build/<name>.wasm
 * (name: the project's package.json).
 */
export async function build(entry: string | undefined, options: { out?: string; version?: string }): Promise<string> {
  const project = process.cwd();
  const name = projectName(project);
  const source = entry ?? join('assembly', 'index.ts');
  if (!existsSync(source)) throw new CliError(`${source} does not exist (run hotswap build in a module project, or name the entry file)`);
  const out = options.out ?? join('build', `${name}.wasm`);
  mkdirSync(dirname(resolve(out)), { recursive: true });
  const asc = join(dirname(createRequire(import.meta.url).resolve('assemblyscript/package.json')), 'bin', 'asc.js');
  const config = existsSync('asconfig.json') ? ['--config', 'asconfig.json'] : [];
  const args = [asc, source, ...config, '--target', 'release', ...ASC_ABI_FLAGS, '-o', out];
  await new Promise<void>((done, fail) =>
    execFile(process.execPath, args, { cwd: project }, (err, stdout, stderr) =>
      err ? fail(new CliError(`asc failed on ${source}:\n${stdout}${stderr}`.trimEnd())) : done(),
    ),
  );
  const bytes = readFileSync(out);
  const factory = new ModuleFactory();
  try {
    const claimed = { name, ...(options.version ? { version: options.version } : {}) };
    const module = await factory.prepare(bytes, claimed, defaultPolicy(name));
    return (
      `built ${out}: ${name} ${module.version}, ABI ${module.abiVersion}, layout ${module.layoutVersion}, ${bytes.byteLength} bytes\n` +
      `  passed the engine's checks for a component with the default limits\n`
    );
  } catch (e) {
    if (e instanceof ModuleRejected) throw new CliError(`${out} would be refused by the engine: ${e.message}`);
    throw e;
  } finally {
    await factory.close();
  }
}

/** The name in the project's package.json, else its directory's name. */
function projectName(dir: string): string {
  const file = join(dir, 'package.json');
  const name = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name : undefined;
  return name ?? basename(dir);
}

/** What an upload to a component with the default limits is checked against (engine/policy.ts). */
function defaultPolicy(name: string) {
  const checked = new SchemaCheck<CheckedComponent>(COMPONENT_SCHEMA).check({
    name: NAME_PATTERN.test(name) ? name : 'module',
    version: '0.0.0',
  });
  if (!checked.ok) throw new Error(`default component: ${checked.problems.join('; ')}`);
  return policyOf(
    componentFromChecked(checked.value, 'default component', (m) => {
      throw new Error(m);
    }),
  );
}
