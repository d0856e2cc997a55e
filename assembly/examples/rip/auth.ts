// RIPv2 keyed-MD5 authentication (RFC 2082) with key chains and key lifetimes, as FRR's
// `ip rip authentication mode md5` and BIRD's `authentication cryptographic` (keyed MD5) do it,
// and HMAC-SHA-256 (RFC 4822) as BIRD's `algorithm hmac sha256` does it.
//
// An authenticated datagram: the header, an authentication entry, the route entries, a trailer:
//   auth entry (20 bytes): 0xFFFF, type 3, packet length (= offset of the trailer), key id,
//     auth data length (16; BIRD sends 20, the whole trailer: both are accepted), sequence number,
//     8 zero bytes;
//   trailer (20 bytes): 0xFFFF, 0x0001, digest = MD5 of the datagram with the key (zero-padded
//     to 16 bytes) in the digest's place.
// HMAC-SHA-256: the same with a 36-byte trailer, auth data length 32 (36 accepted), and digest =
// HMAC-SHA-256 with the key over the datagram with 0x878FE1F3 repeated in the digest's place.
import { clock, log } from "../../sdk";
import { settings } from "../../sdk/host";
import { md5 } from "./md5";
import { hmacSha256, SHA256_BYTES } from "./sha256";
import { be16, be32, putBe16, putBe32, AFI_AUTH, HEADER_BYTES, ENTRY_BYTES } from "./wire";

export const AUTH_NONE: i32 = 0;
export const AUTH_MD5: i32 = 1;
export const AUTH_SHA256: i32 = 2;
/** The authentication type of both (RFC 2082 and RFC 4822 share it; the key id tells the algorithm). */
const AUTH_TYPE_CRYPTO: u16 = 3;
const MD5_BYTES: usize = 16;
/** RFC 4822's Apad, big-endian, repeated over the digest while it is computed. */
const APAD: u32 = 0x878fe1f3;

const DIGEST = memory.data(32);

/** One key of a chain. Times are wall-clock ms; the settings give them in Unix seconds. */
export class Key {
  constructor(
    public id: u32, public secret: ArrayBuffer,
    public sendFrom: f64, public sendUntil: f64, public acceptFrom: f64, public acceptUntil: f64,
  ) {}
  canSend(now: f64): bool { return now >= this.sendFrom && now < this.sendUntil; }
  canAccept(now: f64): bool { return now >= this.acceptFrom && now < this.acceptUntil; }
}

/** The authentication of one interface: its mode and key chain (transient, read from settings). */
export class Auth {
  constructor(public mode: i32, public chain: string, public keys: Key[]) {}

  /**
   * Reads `interfaces.<name>.auth` ("none" or "md5") and `interfaces.<name>.keyChain`, then the
   * chain: `keyChains.<chain>` lists the key ids; `keyChains.<chain>.<id>.secret` and the optional
   * `sendFrom`, `sendUntil`, `acceptFrom`, `acceptUntil` (Unix seconds) describe each key.
   */
  static read(ifname: string): Auth {
    const name = settings.get("interfaces." + ifname + ".auth", "none");
    if (name == "none") return new Auth(AUTH_NONE, "", []);
    const mode = name == "sha256" ? AUTH_SHA256 : AUTH_MD5;
    if (name != "md5" && name != "sha256") log.warn("rip: interfaces." + ifname + ".auth: \"" + name + "\" is not none, md5 or sha256; using md5");
    const chain = settings.get("interfaces." + ifname + ".keyChain", "");
    const keys: Key[] = [];
    const ids = settings.get("keyChains." + chain, "");
    if (chain.length == 0 || ids.length == 0) log.warn("rip: " + ifname + ": authentication without a key chain: every datagram is dropped");
    const parts = ids.length > 0 ? ids.split(",") : [];
    for (let i = 0; i < parts.length; i++) {
      const at = "keyChains." + chain + "." + parts[i].trim() + ".";
      const id = I32.parseInt(parts[i].trim());
      if (isNaN(<f64>id) || id < 0 || id > 255) { log.warn("rip: " + at + ": key id must be 0..255, ignored"); continue; }
      keys.push(new Key(<u32>id, String.UTF8.encode(settings.get(at + "secret", "")),
        secondsAt(at + "sendFrom", 0), secondsAt(at + "sendUntil", Infinity),
        secondsAt(at + "acceptFrom", 0), secondsAt(at + "acceptUntil", Infinity)));
    }
    return new Auth(mode, chain, keys);
  }

  get on(): bool { return this.mode != AUTH_NONE; }
  get name(): string { return this.mode == AUTH_SHA256 ? "sha256" : "md5"; }
  get digestBytes(): usize { return this.mode == AUTH_SHA256 ? SHA256_BYTES : MD5_BYTES; }
  /** The trailer: 0xFFFF, 0x0001 and the digest. */
  get trailerBytes(): usize { return 4 + this.digestBytes; }

  /** The key to send with now: of those whose send lifetime holds, the one that started last. */
  sendKey(now: f64): Key | null {
    let best: Key | null = null;
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i];
      if (k.canSend(now) && (best === null || k.sendFrom >= best!.sendFrom)) best = k;
    }
    return best;
  }

  acceptKey(id: u32, now: f64): Key | null {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i].id == id && this.keys[i].canAccept(now)) return this.keys[i];
    return null;
  }

  /**
   * Fills in the authentication entry (at p + HEADER_BYTES) and the trailer (at p + dataLen) of a
   * datagram whose entries end at dataLen; returns the full length, or 0 when no key may send now.
   */
  sign(p: usize, dataLen: usize, seq: u32): usize {
    const key = this.sendKey(clock.now());
    if (key === null) return 0;
    const a = p + HEADER_BYTES;
    putBe16(a, AFI_AUTH);
    putBe16(a + 2, AUTH_TYPE_CRYPTO);
    putBe16(a + 4, <u16>dataLen);
    store<u8>(a + 6, <u8>key!.id);
    store<u8>(a + 7, <u8>this.digestBytes);
    putBe32(a + 8, seq);
    store<u64>(a + 12, 0);
    const t = p + dataLen;
    putBe16(t, AFI_AUTH);
    putBe16(t + 2, 1);
    this.digest(p, dataLen + this.trailerBytes, t + 4, key!);
    return dataLen + this.trailerBytes;
  }

  /**
   * Checks an authenticated datagram (p, len). Returns the length of its data part (header, auth
   * entry and route entries) when the digest is right, or a reason string's code: -1 and sets
   * `why`. The inbox is scratch: the trailer is overwritten with the key while checking.
   */
  verify(p: usize, len: usize): i32 {
    this.why = "";
    const trailer = this.trailerBytes;
    if (len < HEADER_BYTES + ENTRY_BYTES + trailer || be16(p + HEADER_BYTES) != AFI_AUTH) { this.why = "missing authentication"; return -1; }
    const a = p + HEADER_BYTES;
    if (be16(a + 2) != AUTH_TYPE_CRYPTO) { this.why = "authentication type " + be16(a + 2).toString() + " (" + this.name + " configured)"; return -1; }
    const dataLen = <usize>be16(a + 4);
    const authLen = <usize>load<u8>(a + 7);
    if (dataLen < HEADER_BYTES + ENTRY_BYTES || dataLen + trailer != len || (dataLen - HEADER_BYTES) % ENTRY_BYTES != 0) {
      this.why = "packet length " + dataLen.toString() + " does not match"; return -1;
    }
    if (authLen != this.digestBytes && authLen != trailer) { this.why = "auth data length " + authLen.toString(); return -1; }
    const t = p + dataLen;
    if (be16(t) != AFI_AUTH || be16(t + 2) != 1) { this.why = "no authentication trailer"; return -1; }
    const id = <u32>load<u8>(a + 6);
    const key = this.acceptKey(id, clock.now());
    if (key === null) { this.why = "no key " + id.toString() + " valid for receiving"; return -1; }
    const n = this.digestBytes;
    memory.copy(DIGEST, t + 4, n);
    this.digest(p, len, t + 4, key!);
    if (memory.compare(DIGEST, t + 4, n) != 0) { this.why = "wrong digest (key " + id.toString() + ")"; return -1; }
    this.lastSeq = be32(a + 8);
    this.lastKeyId = id;
    return <i32>dataLen;
  }

  /** Computes the digest of (p, len), whose digest field is at `at`, into that field. */
  digest(p: usize, len: usize, at: usize, key: Key): void {
    if (this.mode == AUTH_SHA256) {
      for (let i: usize = 0; i < SHA256_BYTES; i += 4) putBe32(at + i, APAD);
      hmacSha256(changetype<usize>(key.secret), <usize>key.secret.byteLength, p, len, at);
    } else {
      putKey(at, key);
      md5(p, len, at);
    }
  }

  why: string = "";
  /** The sequence number and key id of the datagram verify() accepted last (sequence.ts checks them). */
  lastSeq: u32 = 0;
  lastKeyId: u32 = 0;
}

/** The key, zero-padded (or cut) to 16 bytes, at `at` (keyed MD5). */
function putKey(at: usize, key: Key): void {
  memory.fill(at, 0, MD5_BYTES);
  const n = <usize>key.secret.byteLength;
  memory.copy(at, changetype<usize>(key.secret), n < MD5_BYTES ? n : MD5_BYTES);
}

function secondsAt(key: string, fallback: f64): f64 {
  const s = settings.number(key, NaN);
  return isNaN(s) ? fallback : s * 1000;
}
