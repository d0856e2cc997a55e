// Where the package's own files are: its root, the bundled modules, the default configuration.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, found by walking up from this file (works from host/ and from build/host/). */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the package root (package.json)');
    dir = up;
  }
  return dir;
})();

/** Where `npm run build:modules` puts the bundled example modules: build/modules/<name>/<version>.wasm */
export const bundledModulesDir = join(packageRoot, 'build', 'modules');
export const defaultConfigPath = join(packageRoot, 'config', 'default.json');

/** Where `npm run build:prepared` seeds checked modules: the bundled ones under the default policies. */
export const seededPreparedDir = join(packageRoot, 'build', 'prepared');
