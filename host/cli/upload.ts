// What the CLI sends with an upload: the module bytes read from a file, the uploader and signature
// headers, and a progress line on stderr.
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { decodeSignature, SIGNATURE_HEADER, UPLOADER_HEADER } from '../control/signatures.js';
import { CliError, UsageError } from './client.js';
import { kib } from './format.js';

/** Signature (made with --sign, or read from --signature) and uploader headers for an upload. */
export function uploadHeaders(bytes: Uint8Array, values: { sign?: string; signature?: string }): Record<string, string> {
  const headers: Record<string, string> = { [UPLOADER_HEADER]: `${safeUser()}@${hostname()}` };
  if (values.sign && values.signature) throw new UsageError('give either --sign KEY or --signature FILE, not both');
  if (values.sign) {
    let key: KeyObject;
    try {
      key = createPrivateKey(readFileSync(values.sign));
    } catch (e) {
      throw new CliError(`cannot use ${values.sign} as a private key: ${(e as Error).message}`);
    }
    if (key.asymmetricKeyType !== 'ed25519')
      throw new CliError(`${values.sign}: expected an Ed25519 private key, got ${key.asymmetricKeyType}`);
    headers[SIGNATURE_HEADER] = sign(null, bytes, key).toString('base64');
  } else if (values.signature) {
    headers[SIGNATURE_HEADER] = decodeSignature(readFile(values.signature)).toString('base64');
  }
  return headers;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** Upload progress on stderr: a live line on a terminal, a few milestones otherwise (logs). */
export function progress(label: string): (sent: number, total: number) => void {
  const tty = process.stderr.isTTY;
  let lastQuarter = -1;
  return (sent, total) => {
    const pct = total === 0 ? 100 : Math.floor((sent * 100) / total);
    const line = `${label}: ${pct}% (${kib(sent)} of ${kib(total)})`;
    if (tty) {
      process.stderr.write(`\r${line}${sent === total ? '\n' : ''}`);
    } else if (Math.floor(pct / 25) > lastQuarter) {
      lastQuarter = Math.floor(pct / 25);
      process.stderr.write(`${line}\n`);
    }
  };
}

export function readFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`);
  }
}
