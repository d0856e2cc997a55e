/** A stored module version: the paper's "software repository" entry. */
export interface StoredModule {
  name: string;
  version: string;
  bytes: Uint8Array;
  sha256: string;
}

/** Where the engine gets module versions from. Small on purpose: SQLite, files or a fleet store fit. */
export interface ModuleRepository {
  /** The module's bytes; throws NotFound when the version is unknown. */
  get(name: string, version: string): Promise<StoredModule>;
  /** Known versions of a module, oldest first. */
  versions(name: string): Promise<string[]>;
}

export class NotFound extends Error {
  constructor(what: string) {
    super(`${what} not found`);
    this.name = 'NotFound';
  }
}

/** Versions are immutable: the same name and version with other bytes is refused. */
export class VersionConflict extends Error {
  constructor(readonly module: string, readonly version: string, readonly storedSha256: string, readonly sha256: string) {
    super(
      `module ${module}@${version} already exists with other bytes (stored sha256 ${storedSha256}, ` +
        `uploaded ${sha256}); versions are immutable, publish a new version`,
    );
    this.name = 'VersionConflict';
  }
}

/** A stored blob whose bytes no longer hash to its address: it is never handed out, so never run. */
export class BlobDamaged extends Error {
  constructor(readonly module: string, readonly version: string, readonly expected: string, readonly actual: string) {
    super(`module ${module}@${version}: stored blob is damaged (sha256 is ${actual}, expected ${expected}); refusing to load it`);
    this.name = 'BlobDamaged';
  }
}

/** Semantic-version order for "1.2.10" > "1.2.9"; non-numeric parts compare as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/);
  const pb = b.split(/[.+-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = Number(x);
    const ny = Number(y);
    const c = Number.isInteger(nx) && Number.isInteger(ny) ? nx - ny : x.localeCompare(y);
    if (c !== 0) return c;
  }
  return 0;
}

/** Component and module names: lower case, no dots or slashes, so they can never name a path. */
export const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
/** Semantic versions (semver.org 2.0.0), at most 64 characters: no slashes, no "..". */
export const VERSION_PATTERN =
  /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name);
}
export function isValidVersion(version: string): boolean {
  return version.length <= 64 && VERSION_PATTERN.test(version);
}
