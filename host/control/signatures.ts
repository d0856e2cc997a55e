// Ed25519 signatures of uploaded modules: loading the trusted key and verifying a detached signature.
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

/** The header an upload's detached Ed25519 signature travels in (base64 of the 64 bytes). */
export const SIGNATURE_HEADER = 'x-hotswap-signature';

/** The header an upload names its uploader in (`user@host`), for the history. Here, in a leaf
 * module, so that the CLI can import it without loading the server. */
export const UPLOADER_HEADER = 'x-hotswap-uploader';

export class SignatureRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureRejected';
  }
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Loads a public key given as PEM text, a path to a PEM file, or base64 of the 32 raw bytes.
 * Anything but Ed25519 is refused: the configuration should fail loudly, not trust the wrong key.
 */
export function loadPublicKey(spec: string): KeyObject {
  let text = spec.trim();
  if (!text.startsWith('-----BEGIN') && existsSync(text)) text = readFileSync(text, 'utf8').trim();
  let key: KeyObject;
  if (text.startsWith('-----BEGIN')) {
    key = createPublicKey(text);
  } else {
    const raw = Buffer.from(text, 'base64');
    if (raw.length !== 32) throw new Error(`trusted key: expected a PEM file or base64 of 32 raw Ed25519 bytes, got ${raw.length} bytes`);
    key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`trusted key: expected an Ed25519 key, got ${key.asymmetricKeyType}`);
  return key;
}

/** Decodes a detached signature: the 64 raw bytes, or their base64 (as in the header). */
export function decodeSignature(data: Uint8Array | string): Buffer {
  const buf = typeof data === 'string' ? Buffer.from(data.trim(), 'base64') : Buffer.from(data);
  if (buf.length === 64) return buf;
  const asText = Buffer.from(buf.toString('utf8').trim(), 'base64');
  if (asText.length === 64) return asText;
  throw new SignatureRejected(`signature must be 64 bytes of Ed25519 (raw or base64), got ${buf.length} bytes`);
}

/** Checks uploads against the one trusted Ed25519 key. */
export class SignatureCheck {
  readonly #key: KeyObject;

  constructor(key: KeyObject) {
    this.#key = key;
  }

  /** Throws SignatureRejected naming the module unless `signature` signs exactly `bytes`. */
  verify(what: string, bytes: Uint8Array, signature: string | undefined): void {
    if (signature === undefined || signature === '') {
      throw new SignatureRejected(`${what}: a signature is required (header ${SIGNATURE_HEADER}), a trusted key is configured`);
    }
    const sig = decodeSignature(signature);
    if (!verify(null, bytes, this.#key, sig)) {
      throw new SignatureRejected(`${what}: the signature does not match the module bytes and the trusted key`);
    }
  }
}
