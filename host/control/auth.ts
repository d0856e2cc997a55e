// The control API's bearer token: from the configuration or the environment, else generated once
// into the data directory (mode 0600), and the constant-time check of each request's token.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where a generated token lives: readable by the engine's user only (mode 0600). */
export const TOKEN_FILE = 'control.token';

export function tokenFileOf(dataDir: string): string {
  return join(dataDir, TOKEN_FILE);
}

/**
 * The bearer token that every mutating request must carry. Taken from the configuration or
 * HOTSWAP_TOKEN; otherwise generated once into the data directory, where a CLI on the same
 * machine (same user) reads it.
 */
export class BearerAuth {
  readonly #digest: Buffer;
  /** The file the token is in, when it was generated or read from the data directory. */
  readonly tokenFile: string | null;

  private constructor(token: string, tokenFile: string | null) {
    // Compared as digests: equal lengths for timingSafeEqual, whatever the client sends.
    this.#digest = digest(token);
    this.tokenFile = tokenFile;
  }

  static resolve(configured: string | undefined, dataDir: string): BearerAuth {
    if (configured !== undefined && configured !== '') return new BearerAuth(configured, null);
    const file = tokenFileOf(dataDir);
    if (existsSync(file)) {
      // Tighten a file someone loosened: the token is as good as a password.
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
      const token = readFileSync(file, 'utf8').trim();
      if (token !== '') return new BearerAuth(token, file);
    }
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const token = randomBytes(32).toString('base64url');
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    chmodSync(file, 0o600); // the umask could have removed bits, never added: make it exact
    return new BearerAuth(token, file);
  }

  /** True when the Authorization header carries the token. */
  accepts(authorization: string | undefined): boolean {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    return m !== null && timingSafeEqual(digest(m[1]!), this.#digest);
  }
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
