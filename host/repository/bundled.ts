import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundledModulesDir } from '../paths.js';
import { compareVersions, NotFound, type ModuleRepository, type StoredModule } from './repository.js';

/** The example modules that `npm run build:modules` compiled into build/modules/<name>/<version>.wasm. */
export class BundledModules implements ModuleRepository {
  readonly #dir: string;

  constructor(dir: string = bundledModulesDir) {
    this.#dir = dir;
  }

  async get(name: string, version: string): Promise<StoredModule> {
    const file = join(this.#dir, name, `${version}.wasm`);
    if (!/^[a-z0-9_-]+$/.test(name) || !/^[0-9A-Za-z.+-]+$/.test(version) || !existsSync(file)) {
      throw new NotFound(`module ${name}@${version}`);
    }
    const bytes = readFileSync(file);
    return { name, version, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  async versions(name: string): Promise<string[]> {
    const dir = join(this.#dir, name);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.wasm'))
      .map((f) => f.slice(0, -5))
      .sort(compareVersions);
  }

  /** Every bundled module name. */
  names(): string[] {
    return existsSync(this.#dir) ? readdirSync(this.#dir).sort() : [];
  }
}
