/**
 * The engine's on-disk store of checked modules: the worker's output (instrumented bytes and what
 * binaryen read) kept in the data directory, so that an engine started again on the same data
 * directory, after a stop or a SIGKILL, skips the worker. Preparing kv there costs ~1.3 s on a
 * fresh worker (binaryen's 14 MB of JavaScript compiled, then the checks and rewrites) out of the
 * ~3.5 s an engine took to be ready (docs/DURABILITY.md, "Restart time").
 *
 * An entry is valid only for the exact input, name and policy (the same key as the in-memory
 * PreparedModuleCache) and for this preparer's code: the key includes a digest of the files that
 * check and rewrite modules and of binaryen's version, so an engine upgraded in place re-prepares
 * instead of running bytes instrumented by older code. Each file carries a sha256 of its body; a
 * file that is torn, damaged or for another key is deleted and the module prepared afresh. It is
 * a cache: writes are atomic (temporary file, rename) but not fsynced, since losing an entry costs
 * only time. The data directory is the engine's own, like its journal and checkpoints: whoever
 * can write there can already change the state the engine recovers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import type { CheckedModule } from './checked-bytes.js';

const MAGIC = Buffer.from('hotswap-checked-1\n');
const DIGEST_BYTES = 32;

interface Entry {
  key: string;
  runnable: Uint8Array;
  info: CheckedModule['info'];
}

export class CheckedModuleStore {
  readonly #dir: string | null;
  /** Where `read` looks, in order: our own directory first, then the seeds. */
  readonly #dirs: readonly string[];
  readonly #code: string;

  /**
   * `dir` is created on the first write (null: nothing is written). `seeds` are read-only
   * directories of the same format looked in after it: `npm run build` seeds build/prepared/
   * with the bundled modules under the default policies, so that even an engine's first start
   * skips the worker for them.
   */
  constructor(dir: string | null, seeds: readonly string[] = []) {
    this.#dir = dir;
    this.#dirs = dir === null ? seeds : [dir, ...seeds];
    this.#code = preparerDigest();
  }

  /** The checked module stored under `key`, or null (absent, damaged, or from other code). */
  read(key: string): CheckedModule | null {
    const name = this.fileOf(key);
    for (const dir of this.#dirs) {
      const path = join(dir, name);
      let file: Buffer;
      try {
        file = readFileSync(path);
      } catch {
        continue;
      }
      const entry = this.#decode(file);
      if (entry && entry.key === this.#fullKey(key)) return { runnable: entry.runnable, info: entry.info, stored: true };
      if (dir === this.#dir) rmSync(path, { force: true }); // only our own: a seed is not ours to delete
    }
    return null;
  }

  /** Keeps `checked` under `key`. A failure to write is not an error of the preparation: it is dropped. */
  write(key: string, checked: CheckedModule): boolean {
    if (this.#dir === null) return false;
    const path = join(this.#dir, this.fileOf(key));
    const body = serialize({ key: this.#fullKey(key), runnable: checked.runnable, info: checked.info } satisfies Entry);
    const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
      writeFileSync(tmp, Buffer.concat([MAGIC, createHash('sha256').update(body).digest(), body]), { mode: 0o600 });
      renameSync(tmp, path);
      return true;
    } catch {
      rmSync(tmp, { force: true });
      return false;
    }
  }

  #decode(file: Buffer): Entry | null {
    const body = file.subarray(MAGIC.length + DIGEST_BYTES);
    const digest = file.subarray(MAGIC.length, MAGIC.length + DIGEST_BYTES);
    if (!file.subarray(0, MAGIC.length).equals(MAGIC)) return null;
    if (!createHash('sha256').update(body).digest().equals(digest)) return null;
    try {
      return deserialize(body) as Entry;
    } catch {
      return null; // written by a Node whose serializer this one does not read
    }
  }

  #fullKey(key: string): string {
    return `${this.#code}:${key}`;
  }

  /** The file name the entry for `key` has in any of the directories. */
  fileOf(key: string): string {
    return `${createHash('sha256').update(this.#fullKey(key)).digest('hex')}.bin`;
  }
}

/**
 * A digest of what decides a module's checked bytes: every file beside this one (the checks,
 * fuel metering, dirty-page tracking, the activation rewrite), the ABI table, and binaryen's
 * version, and V8's (whose serializer wrote the file). Over-inclusive on purpose: an unrelated
 * change costs one re-preparation.
 */
function preparerDigest(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const abi = join(here, '..', 'abi');
  const hash = createHash('sha256');
  for (const dir of [here, abi]) {
    for (const name of readdirSync(dir).sort()) {
      if (!/\.(js|ts)$/.test(name)) continue;
      hash.update(name).update(readFileSync(join(dir, name)));
    }
  }
  const binaryen = createRequire(import.meta.url).resolve('binaryen/package.json');
  hash.update(readFileSync(binaryen)).update(process.versions.v8);
  return hash.digest('hex').slice(0, 32);
}
