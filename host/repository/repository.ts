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
