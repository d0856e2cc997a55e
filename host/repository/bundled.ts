// The example modules built into build/modules, read as a repository and registered into the store.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { bundledModulesDir } from '../paths.js';
import {
  compareVersions,
  isValidName,
  isValidVersion,
  type ModuleRepository,
  NotFound,
  type StoredModule,
  VersionConflict,
} from './repository.js';
import type { ModuleStore } from './store.js';

/** The example modules that `npm run build:modules` compiled into build/modules/<name>/<version>.wasm. */
export class BundledModules implements ModuleRepository {
  readonly #dir: string;

  constructor(dir: string = bundledModulesDir) {
    this.#dir = dir;
  }

  async get(name: string, version: string): Promise<StoredModule> {
    const file = join(this.#dir, name, `${version}.wasm`);
    if (!isValidName(name) || !isValidVersion(version) || !existsSync(file)) {
      throw new NotFound(`module ${name}@${version}`);
    }
    const bytes = readFileSync(file);
    return { name, version, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  /** The bundled versions of a module, lowest first. */
  versions(name: string): string[] {
    const dir = join(this.#dir, name);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.wasm'))
      .map((f) => f.slice(0, -5))
      .filter(isValidVersion)
      .sort(compareVersions);
  }

  /** Every bundled module name. */
  names(): string[] {
    return existsSync(this.#dir) ? readdirSync(this.#dir).filter(isValidName).sort() : [];
  }

  /**
   * Registers every bundled version the store does not hold yet (all of them at first start).
   * Only hashed and copied, not warmed up (that takes 0.1–0.8 s a module): their ABI and layout
   * versions are filled in the first time the engine loads them (ModuleStore.noteChecked).
   * A bundled version whose bytes differ from the stored one (the examples were rebuilt) is left
   * alone: versions are immutable, and the stored bytes are what has been running.
   */
  async registerInto(store: ModuleStore, log: Logger): Promise<string[]> {
    const registered: string[] = [];
    for (const name of this.names()) {
      for (const version of this.versions(name)) {
        const { bytes } = await this.get(name, version);
        try {
          const { created } = store.put({ module: name, version, bytes, abiVersion: null, layoutVersion: null, uploadedBy: 'bundled' });
          if (created) registered.push(`${name}@${version}`);
        } catch (e) {
          if (!(e instanceof VersionConflict)) throw e;
          log.warn(`bundled ${e.message}; keeping the stored bytes`);
        }
      }
    }
    return registered;
  }
}
