// Module bytes on disk, addressed by their sha256 and verified on every read.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Module bytes stored by their sha256 under <dataDir>/blobs/sha256/<2 hex>/<64 hex>. The address
 * is the checksum, so the same bytes are stored once and a blob is verified on every read.
 */
export class BlobStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  pathOf(sha256: string): string {
    // The address comes from our own database; checking it anyway keeps a bad row from naming a path.
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: "${sha256}"`);
    return join(this.#root, 'sha256', sha256.slice(0, 2), sha256);
  }

  /** Stores the bytes (once) and returns their address. Written to a temporary file and renamed,
   * so a crash or a concurrent writer never leaves half a blob under a valid address. */
  put(bytes: Uint8Array): string {
    const sha256 = sha256Hex(bytes);
    const path = this.pathOf(sha256);
    if (existsSync(path) && sha256Hex(readFileSync(path)) === sha256) return sha256;
    mkdirSync(join(this.#root, 'sha256', sha256.slice(0, 2)), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      writeFileSync(tmp, bytes, { mode: 0o400 });
      renameSync(tmp, path);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    return sha256;
  }

  /** The stored bytes and the sha256 they hash to now (the caller compares it with the address). */
  read(sha256: string): { bytes: Uint8Array; actual: string } {
    const bytes = readFileSync(this.pathOf(sha256));
    return { bytes, actual: sha256Hex(bytes) };
  }
}
