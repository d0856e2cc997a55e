// The repository's contract: what a stored module is, how versions are named and ordered, and
// the errors the repository raises.
import semver from 'semver';

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
}

export class NotFound extends Error {
  constructor(what: string) {
    super(`${what} not found`);
    this.name = 'NotFound';
  }
}

/** Versions are immutable: the same name and version with other bytes is refused. */
export class VersionConflict extends Error {
  constructor(
    readonly module: string,
    readonly version: string,
    readonly storedSha256: string,
    readonly sha256: string,
  ) {
    super(
      `module ${module}@${version} already exists with other bytes (stored sha256 ${storedSha256}, ` +
        `uploaded ${sha256}); versions are immutable, publish a new version`,
    );
    this.name = 'VersionConflict';
  }
}

/** A stored blob whose bytes no longer hash to its address: it is never handed out, so never run. */
export class BlobDamaged extends Error {
  constructor(
    readonly module: string,
    readonly version: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`module ${module}@${version}: stored blob is damaged (sha256 is ${actual}, expected ${expected}); refusing to load it`);
    this.name = 'BlobDamaged';
  }
}

/**
 * Semantic-version precedence (semver.org 2.0.0, item 11): 1.0.0-rc.1 < 1.0.0 < 1.0.1 < 1.2.10,
 * numeric prerelease identifiers numerically, alphanumeric ones as text. Versions equal in
 * precedence but with different build metadata are ordered by it, so a sort is deterministic.
 * Anything that is not a semantic version sorts after every version, by its text.
 */
export function compareVersions(a: string, b: string): number {
  const va = isValidVersion(a);
  const vb = isValidVersion(b);
  if (va && vb) return semver.compareBuild(a, b);
  if (va !== vb) return va ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Component and module names: lower case, no dots or slashes, so they can never name a path. */
export const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
/**
 * Semantic versions (semver.org 2.0.0), at most 64 characters: no slashes, no "..", no leading
 * "v", no leading zeros in numeric identifiers (semver.org's own pattern). The three numbers have
 * at most 9 digits each, so they stay exact as JavaScript numbers.
 */
export const VERSION_PATTERN =
  /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(-(0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/** The version rule in words, for error messages. */
export const VERSION_RULE = 'a semantic version such as 1.2.3 or 1.2.3-rc.1 (at most 64 characters)';
export const VERSION_MAX_LENGTH = 64;

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name);
}
export function isValidVersion(version: string): boolean {
  return version.length <= VERSION_MAX_LENGTH && VERSION_PATTERN.test(version);
}
