// The module store: version metadata in SQLite, bytes as content-addressed blobs.
import { join } from 'node:path';
import { BlobStore, sha256Hex } from './blobs.js';
import type { Db } from './database.js';
import { BlobDamaged, compareVersions, type ModuleRepository, NotFound, type StoredModule, VersionConflict } from './repository.js';

/** What the repository records about each version. */
export interface ModuleVersion {
  module: string;
  version: string;
  sha256: string;
  size: number;
  abiVersion: number | null;
  layoutVersion: number | null;
  uploadedAt: string;
  uploadedBy: string;
  /** Base64 Ed25519 signature over the module bytes, when one was given. */
  signature: string | null;
}

/** A new version to store; ABI and layout versions come from the module's own exports. */
export interface NewVersion {
  module: string;
  version: string;
  bytes: Uint8Array;
  abiVersion: number | null;
  layoutVersion: number | null;
  uploadedBy: string;
  signature?: string | null;
}

interface Row {
  module: string;
  version: string;
  sha256: string;
  size: number;
  abi_version: number | null;
  layout_version: number | null;
  uploaded_at: string;
  uploaded_by: string;
  signature: string | null;
}

const fromRow = (r: Row): ModuleVersion => ({
  module: r.module,
  version: r.version,
  sha256: r.sha256,
  size: r.size,
  abiVersion: r.abi_version,
  layoutVersion: r.layout_version,
  uploadedAt: r.uploaded_at,
  uploadedBy: r.uploaded_by,
  signature: r.signature,
});

/**
 * The paper's software repository, embedded: metadata in SQLite, bytes content-addressed in the
 * data directory. Versions are immutable, and every read re-hashes the blob, so bytes that were
 * changed on disk are refused (BlobDamaged) instead of being compiled and run.
 *
 * Every method is synchronous underneath (better-sqlite3, sync file I/O), so one `put` can never
 * interleave with another inside the process: concurrent uploads of one version cannot both win.
 */
export class ModuleStore implements ModuleRepository {
  readonly #blobs: BlobStore;
  readonly #select;
  readonly #insert;
  readonly #list;
  readonly #fill;

  constructor(db: Db, dataDir: string) {
    this.#blobs = new BlobStore(join(dataDir, 'blobs'));
    this.#select = db.prepare<[string, string], Row>('SELECT * FROM module_versions WHERE module = ? AND version = ?');
    this.#list = db.prepare<[string], Row>('SELECT * FROM module_versions WHERE module = ?');
    this.#fill = db.prepare(
      `UPDATE module_versions SET abi_version = @abiVersion, layout_version = @layoutVersion
       WHERE module = @module AND version = @version AND abi_version IS NULL`,
    );
    this.#insert = db.prepare(
      `INSERT INTO module_versions (module, version, sha256, size, abi_version, layout_version, uploaded_at, uploaded_by, signature)
       VALUES (@module, @version, @sha256, @size, @abiVersion, @layoutVersion, @uploadedAt, @uploadedBy, @signature)`,
    );
  }

  /** Metadata of one version, or null. */
  find(module: string, version: string): ModuleVersion | null {
    const row = this.#select.get(module, version);
    return row ? fromRow(row) : null;
  }

  /** Metadata of one version; NotFound when unknown. */
  describe(module: string, version: string): ModuleVersion {
    const found = this.find(module, version);
    if (!found) throw new NotFound(`module ${module}@${version}`);
    return found;
  }

  /** Every stored version of a module, oldest (lowest semantic version) first. */
  list(module: string): ModuleVersion[] {
    return this.#list
      .all(module)
      .map(fromRow)
      .sort((a, b) => compareVersions(a.version, b.version));
  }

  /**
   * Stores a version. Pushing the same bytes again is harmless (created: false); other bytes
   * under an existing version throw VersionConflict.
   */
  put(next: NewVersion): { version: ModuleVersion; created: boolean } {
    const sha256 = sha256Hex(next.bytes);
    const existing = this.find(next.module, next.version);
    if (existing) {
      if (existing.sha256 !== sha256) throw new VersionConflict(next.module, next.version, existing.sha256, sha256);
      return { version: existing, created: false };
    }
    this.#blobs.put(next.bytes);
    const version: ModuleVersion = {
      module: next.module,
      version: next.version,
      sha256,
      size: next.bytes.byteLength,
      abiVersion: next.abiVersion,
      layoutVersion: next.layoutVersion,
      uploadedAt: new Date().toISOString(),
      uploadedBy: next.uploadedBy,
      signature: next.signature ?? null,
    };
    this.#insert.run(version);
    return { version, created: true };
  }

  /** Records ABI and layout versions the engine read from a version it loaded (bundled ones
   * are registered without them). Only fills gaps: uploaded metadata is never rewritten. */
  noteChecked(module: string, version: string, abiVersion: number, layoutVersion: number): void {
    this.#fill.run({ module, version, abiVersion, layoutVersion });
  }

  // ---- ModuleRepository: what the engine loads from ----

  async get(module: string, version: string): Promise<StoredModule> {
    const meta = this.describe(module, version);
    let read: { bytes: Uint8Array; actual: string };
    try {
      read = this.#blobs.read(meta.sha256);
    } catch (e) {
      throw new BlobDamaged(module, version, meta.sha256, `unreadable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (read.actual !== meta.sha256) throw new BlobDamaged(module, version, meta.sha256, read.actual);
    return { name: module, version, bytes: read.bytes, sha256: meta.sha256 };
  }
}
