/**
 * The module versions a component's journal names, kept by sha256 next to the journal
 * (`<component>/modules/<sha256>.wasm`): an upgrade record is only durable once the bytes it
 * names are, so recovery can always instantiate the version the journal says, even one that
 * was uploaded as bytes and never stored in the repository.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory } from './journal/writer.js';

export class ModuleBlobs {
  readonly #dir: string;
  readonly #fsync: boolean;
  /** Blobs written or being written in this process: each once. */
  readonly #kept = new Map<string, Promise<void>>();

  constructor(dir: string, fsync: boolean) {
    this.#dir = dir;
    this.#fsync = fsync;
    mkdirSync(dir, { recursive: true });
  }

  /** Makes sure the bytes of `sha256` are on disk; resolves once they are durable. */
  keep(sha256: string, bytes: Uint8Array): Promise<void> {
    let kept = this.#kept.get(sha256);
    if (!kept) {
      kept = existsSync(this.#path(sha256)) ? Promise.resolve() : this.#write(sha256, new Uint8Array(bytes));
      this.#kept.set(sha256, kept);
    }
    return kept;
  }

  /** The bytes of `sha256`; the error names the file when they are missing. */
  read(sha256: string): Uint8Array {
    const file = this.#path(sha256);
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(`the journal names module ${sha256}, but ${file} cannot be read: ${(e as Error).message}`);
    }
  }

  #path(sha256: string): string {
    return join(this.#dir, `${sha256}.wasm`);
  }

  /** Written to a temporary name and renamed: a crash never leaves a half blob under the real name. */
  async #write(sha256: string, bytes: Uint8Array): Promise<void> {
    const tmp = `${this.#path(sha256)}.tmp`;
    const file = await open(tmp, 'w');
    try {
      await file.write(bytes);
      if (this.#fsync) await file.datasync();
    } finally {
      await file.close();
    }
    await rename(tmp, this.#path(sha256));
    if (this.#fsync) syncDirectory(this.#dir);
  }
}
